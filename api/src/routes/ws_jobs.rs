//! `GET /ws/jobs/{id}/`: the job now, then the job when it finishes, then a normal close.
//! Unknown or foreign jobs close with 4404.

use std::sync::Arc;

use dispatch_core::jobs::{JobView, RECHECK_EVERY};
use dispatch_shared::auth::Claims;
use futures::StreamExt;
use poem::web::websocket::{Message, WebSocket, WebSocketStream};
use poem::web::Data;
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::types::ToJSON;
use poem_openapi::OpenApi;
use uuid::Uuid;

use crate::extract::auth::AuthUser;
use crate::routes::ws::{
    close, end_after_read_error, expiry, send, socket_caller, still_authorized, Session, Upgrade,
};
use crate::routes::ApiTags;
use crate::schemas::Job;
use crate::state::AppState;

pub const CLOSE_NOT_FOUND: u16 = 4404;
pub const CLOSE_UNAUTHORIZED: u16 = 4401;
const CREDENTIALS_RECHECK: std::time::Duration = std::time::Duration::from_secs(1);
/// Far enough to never come for a socket without a token (registration jobs).
const FOREVER: std::time::Duration = std::time::Duration::from_secs(365 * 24 * 3600);

pub struct JobStreamApi;

#[OpenApi(tag = "ApiTags::Jobs")]
impl JobStreamApi {
    /// Follow a job over a WebSocket
    ///
    /// Sends the job (the same JSON as `GET /api/v1/jobs/{id}/`) at once; if it has not
    /// finished, sends it again on each change and when it finishes, then closes normally
    /// (1000). An unknown id, or a job the caller may not see, closes with 4404. The token may
    /// come in the `authorization` header (with or without `Bearer `), the `token` query
    /// parameter, or the `access_token` cookie; registration jobs need none. A signed-in
    /// follower's socket closes with 4401 when the token expires or the account is
    /// deactivated or deleted.
    #[oai(path = "/ws/jobs/:id/", method = "get")]
    async fn follow(
        &self,
        state: Data<&Arc<AppState>>,
        request: &Request,
        /// The job id.
        id: Path<String>,
        ws: WebSocket,
    ) -> Upgrade {
        let caller = socket_caller(state.0, request).await;
        let state = state.0.clone();
        let runtime = state.sessions_runtime.clone();
        let job_id = Uuid::parse_str(&id.0).ok();
        let session: Session =
            Box::new(move |socket| Box::pin(follow(state, job_id, caller, socket)));
        Upgrade::new(ws, runtime, session)
    }
}

fn job_message(job: &JobView) -> Message {
    Message::Text(Job::from(job.clone()).to_json_string())
}

async fn follow(
    state: Arc<AppState>,
    id: Option<Uuid>,
    caller: Option<(AuthUser, Claims)>,
    mut socket: WebSocketStream,
) {
    let Some(id) = id else {
        close(&mut socket, CLOSE_NOT_FOUND, "job not found").await;
        return;
    };
    // Subscribed before the read, so no change after it is missed.
    let watch = state.jobs.watch(id);
    let follower = caller.as_ref().map(|(user, _)| &user.0);
    let Ok(job) = state.jobs.find(id, follower).await else {
        close(&mut socket, CLOSE_NOT_FOUND, "job not found").await;
        return;
    };
    let mut watch = watch.starting_from(job);
    // A signed-in follower's socket ends with its credentials, as a task stream does.
    let claims = caller.map(|(_, claims)| claims);
    let expires = tokio::time::sleep_until(
        claims.as_ref().map_or_else(|| tokio::time::Instant::now() + FOREVER, expiry),
    );
    tokio::pin!(expires);
    let mut recheck = tokio::time::interval(CREDENTIALS_RECHECK);
    loop {
        // The pending read of the job survives the other branches: cancelling it could drop
        // a change it had already taken from the event bus.
        let next = watch.next_change();
        tokio::pin!(next);
        let change = loop {
            tokio::select! {
                change = &mut next => break change,
                _ = &mut expires => {
                    close(&mut socket, CLOSE_UNAUTHORIZED, "token expired").await;
                    return;
                }
                _ = recheck.tick(), if claims.is_some() => {
                    if let Some(claims) = &claims {
                        if !still_authorized(&state, claims).await {
                            close(&mut socket, CLOSE_UNAUTHORIZED, "account inactive or token revoked").await;
                            return;
                        }
                    }
                }
                incoming = socket.next() => match incoming {
                    Some(Ok(Message::Close(_))) | None => return,
                    Some(Err(e)) => return end_after_read_error(&mut socket, &e).await,
                    Some(Ok(_)) => {}
                },
            }
        };
        match change {
            Ok(Some(job)) => {
                if !send(&mut socket, job_message(&job)).await {
                    return;
                }
                if job.status.is_finished() {
                    close(&mut socket, 1000, "job finished").await;
                    return;
                }
            }
            // Acknowledged (deleted) by someone else meanwhile.
            Ok(None) => {
                close(&mut socket, CLOSE_NOT_FOUND, "job not found").await;
                return;
            }
            // MySQL unavailable: keep the socket, try again on the next change or tick.
            Err(_) => tokio::time::sleep(RECHECK_EVERY).await,
        }
    }
}
