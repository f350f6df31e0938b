//! `GET /ws/jobs/{id}/`: the job now, then the job when it finishes, then a normal close.
//! Unknown or foreign jobs close with 4404.

use std::sync::Arc;

use dispatch_shared::models::JobRow;
use futures::StreamExt;
use poem::web::websocket::{Message, WebSocket, WebSocketStream};
use poem::web::Data;
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::types::ToJSON;
use poem_openapi::OpenApi;
use uuid::Uuid;

use crate::extract::auth::{authenticate_token, raw_token, AuthUser};
use crate::routes::ws::{close, send, Session, Upgrade};
use crate::routes::ApiTags;
use crate::schemas::Job;
use crate::services::jobs::{self, JobWatch, RECHECK_EVERY};
use crate::state::AppState;

pub const CLOSE_NOT_FOUND: u16 = 4404;

pub struct JobStreamApi;

#[OpenApi(tag = "ApiTags::Jobs")]
impl JobStreamApi {
    /// Follow a job over a WebSocket
    ///
    /// Sends the job (the same JSON as `GET /api/v1/jobs/{id}/`) at once; if it has not
    /// finished, sends it again on each change and when it finishes, then closes normally
    /// (1000). An unknown id, or a job the caller may not see, closes with 4404. The token may
    /// come in the `authorization` header (with or without `Bearer `), the `token` query
    /// parameter, or the `access_token` cookie; registration jobs need none.
    #[oai(path = "/ws/jobs/:id/", method = "get")]
    async fn follow(
        &self,
        state: Data<&Arc<AppState>>,
        request: &Request,
        /// The job id.
        id: Path<String>,
        ws: WebSocket,
    ) -> Upgrade {
        let caller = match raw_token(request, true) {
            Some(token) => authenticate_token(state.0, &token).await.ok(),
            None => None,
        };
        let state = state.0.clone();
        let job_id = Uuid::parse_str(&id.0).ok();
        let session: Session =
            Box::new(move |socket| Box::pin(follow(state, job_id, caller, socket)));
        Upgrade::new(ws, session)
    }
}

fn job_message(job: &JobRow) -> Message {
    Message::Text(Job::from(job.view()).to_json_string())
}

async fn follow(
    state: Arc<AppState>,
    id: Option<Uuid>,
    caller: Option<AuthUser>,
    mut socket: WebSocketStream,
) {
    let visible = match id {
        Some(id) => jobs::find_visible(&state, id, caller.as_ref())
            .await
            .is_ok(),
        None => false,
    };
    let Some(id) = id.filter(|_| visible) else {
        close(&mut socket, CLOSE_NOT_FOUND, "job not found").await;
        return;
    };
    let mut watch = JobWatch::new(&state, id);
    loop {
        let change = tokio::select! {
            change = watch.next_change() => change,
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => continue,
            },
        };
        match change {
            Ok(Some(job)) => {
                if !send(&mut socket, job_message(&job)).await {
                    return;
                }
                if job.is_finished() {
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
