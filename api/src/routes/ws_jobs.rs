//! `GET /ws/jobs/{id}/`: the job now, then the job when it finishes, then a normal close.
//! Unknown or foreign jobs close with 4404.

use std::sync::Arc;

use dispatch_shared::events::Event;
use dispatch_shared::models::JobRow;
use futures::{SinkExt, StreamExt};
use poem::web::websocket::{CloseCode, Message, WebSocket, WebSocketStream};
use poem::web::{Data, Path};
use poem::{handler, IntoResponse, Request};
use poem_openapi::types::ToJSON;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use crate::extract::auth::{authenticate_token, raw_token, AuthUser};
use crate::schemas::Job;
use crate::services::jobs::{self, RECHECK_EVERY};
use crate::state::AppState;

pub const CLOSE_NOT_FOUND: u16 = 4404;

#[handler]
pub async fn job_socket(
    request: &Request,
    Path(id): Path<String>,
    ws: WebSocket,
    Data(state): Data<&Arc<AppState>>,
) -> impl IntoResponse {
    let caller = match raw_token(request, true) {
        Some(token) => authenticate_token(state, &token).await.ok(),
        None => None,
    };
    let state = state.clone();
    ws.on_upgrade(move |socket| async move {
        follow(state, Uuid::parse_str(&id).ok(), caller, socket).await;
    })
}

fn job_message(job: &JobRow) -> Message {
    Message::Text(Job::from(job.view()).to_json_string())
}

async fn close(socket: &mut WebSocketStream, code: u16, reason: &str) {
    let _ = socket
        .send(Message::Close(Some((
            CloseCode::from(code),
            reason.to_owned(),
        ))))
        .await;
    let _ = socket.close().await;
}

async fn follow(
    state: Arc<AppState>,
    id: Option<Uuid>,
    caller: Option<AuthUser>,
    mut socket: WebSocketStream,
) {
    // Subscribe before the first read so no event between the read and the wait is missed.
    let mut events = state.events.subscribe();
    let job = match id {
        Some(id) => jobs::find_visible(&state, id, caller.as_ref()).await.ok(),
        None => None,
    };
    let (Some(id), Some(mut job)) = (id, job) else {
        close(&mut socket, CLOSE_NOT_FOUND, "job not found").await;
        return;
    };
    if socket.send(job_message(&job)).await.is_err() {
        return;
    }
    let mut recheck = tokio::time::interval(RECHECK_EVERY);
    recheck.tick().await;
    while !job.is_finished() {
        let latest = tokio::select! {
            received = events.recv() => match received {
                Ok(Event::Job(view)) if view.id == id => jobs::load(&state, id).await.ok().flatten(),
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => jobs::load(&state, id).await.ok().flatten(),
                Err(RecvError::Closed) => return,
            },
            _ = recheck.tick() => jobs::load(&state, id).await.ok().flatten(),
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => continue,
            },
        };
        let Some(latest) = latest else {
            // Acknowledged (deleted) by someone else meanwhile.
            close(&mut socket, CLOSE_NOT_FOUND, "job not found").await;
            return;
        };
        let changed = latest.status != job.status || latest.attempts != job.attempts;
        job = latest;
        if changed && socket.send(job_message(&job)).await.is_err() {
            return;
        }
    }
    close(&mut socket, 1000, "job finished").await;
}
