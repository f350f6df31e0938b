//! The calls every client of a Dispatch instance makes, whether the instance runs in the
//! test's process (`TestApp`) or as a binary (`remote::Api`): a method, a path, a bearer
//! token and a JSON body, answered with the status and the JSON answer (`Null` when there is
//! none).

use reqwest::Method;
use serde_json::Value;

use crate::call_at;

#[allow(async_fn_in_trait)]
pub trait Calls {
    fn client(&self) -> &reqwest::Client;

    /// The instance's URL of `path`.
    fn url(&self, path: &str) -> String;

    /// `method path` with an optional bearer token and JSON body.
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        call_at(self.client(), &self.url(path), method, token, body).await
    }

    /// `method path` as `token`'s holder with a JSON body.
    async fn send(&self, method: Method, path: &str, token: &str, body: &Value) -> (u16, Value) {
        self.call(method, path, Some(token), Some(body)).await
    }

    /// `method path` as `token`'s holder, without a body.
    async fn act(&self, method: Method, path: &str, token: &str) -> (u16, Value) {
        self.call(method, path, Some(token), None).await
    }

    /// `GET path` as `token`'s holder.
    async fn read(&self, path: &str, token: &str) -> (u16, Value) {
        self.act(Method::GET, path, token).await
    }
}
