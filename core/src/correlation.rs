//! The id of the request (or job) being served, for records that outlive it: a job row
//! keeps the id of the request that enqueued it, so one id finds both in the logs.

use std::future::Future;

tokio::task_local! {
    static CURRENT: String;
}

pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Runs `work` with `id` as the current correlation id.
pub async fn scope<F: Future>(id: String, work: F) -> F::Output {
    CURRENT.scope(id, work).await
}
