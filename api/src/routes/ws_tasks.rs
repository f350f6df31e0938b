//! `GET /ws/tasks/`: every change to the caller's tasks, from any instance, as the task
//! stream of the original system sent them. The socket closes with 4401 without valid
//! credentials, when the token expires, or within seconds of the account being deactivated
//! or deleted.

use std::sync::Arc;
use std::time::Duration;

use dispatch_shared::auth::Claims;
use futures::StreamExt;
use poem::web::websocket::{Message, WebSocket, WebSocketStream};
use poem::web::Data;
use poem::Request;
use poem_openapi::OpenApi;

use crate::routes::ws::{
    close, end_after_read_error, expiry, send, send_all, socket_caller, still_authorized, Session,
    Upgrade,
};
use crate::routes::ApiTags;
use crate::state::AppState;
use dispatch_core::tasks::stream::{Ended, StreamItem};

pub const CLOSE_UNAUTHORIZED: u16 = 4401;
/// The client did not keep up with its events (RFC 6455 "policy violation").
pub const CLOSE_TOO_SLOW: u16 = 1008;
/// This instance missed events; reconnect and re-read (RFC 6455 "try again later").
pub const CLOSE_RECONNECT: u16 = 1013;

/// Idle sockets get a ping this often, so proxies keep them and dead peers are noticed.
const PING_EVERY: Duration = Duration::from_secs(20);
/// The account is re-checked this often (and at once when it changes through the API).
const RECHECK_EVERY: Duration = Duration::from_secs(1);
/// Events a socket's queue holds when its turn comes leave in one write, up to this many:
/// a socket that fell behind catches up with one system call instead of one per event.
const SENT_TOGETHER: usize = 32;

pub struct TaskStreamApi;

#[OpenApi(tag = "ApiTags::Tasks")]
impl TaskStreamApi {
    /// Live changes to the caller's tasks (WebSocket)
    ///
    /// After the upgrade the server sends one JSON message per change to the caller's tasks,
    /// made through any API instance: the task plus `"action": "task_create"` or
    /// `"task_update"`, and `{"id", "action": "task_delete"}`. No other user's changes are
    /// ever sent. The token may come in the `authorization` header (with or without
    /// `Bearer `), the `token` query parameter, or the `access_token` cookie. Close codes:
    /// 4401 no valid token, the token expired, or the account was deactivated or deleted;
    /// 1008 the client read too slowly and its queue overflowed; 1013 the instance missed
    /// events (reconnect and re-read the list). The server pings every 20 s.
    #[oai(path = "/ws/tasks/", method = "get")]
    async fn stream(
        &self,
        state: Data<&Arc<AppState>>,
        request: &Request,
        ws: WebSocket,
    ) -> Upgrade {
        let caller = socket_caller(state.0, request).await;
        let state = state.0.clone();
        let runtime = state.sessions_runtime.clone();
        let session: Session = Box::new(move |socket| Box::pin(stream(state, caller, socket)));
        Upgrade::new(ws, runtime, session)
    }
}

async fn stream(
    state: Arc<AppState>,
    caller: Option<(crate::extract::AuthUser, Claims)>,
    mut socket: WebSocketStream,
) {
    let Some((user, claims)) = caller else {
        close(&mut socket, CLOSE_UNAUTHORIZED, "authentication required").await;
        return;
    };
    let mut subscription = state.task_streams.subscribe(user.id);
    let expires = tokio::time::sleep_until(expiry(&claims));
    tokio::pin!(expires);
    let mut recheck = tokio::time::interval(RECHECK_EVERY);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    // Empty until the first event: an idle socket holds no room for a burst.
    let mut queued = Vec::new();
    loop {
        tokio::select! {
            taken = subscription.queue.recv_many(&mut queued, SENT_TOGETHER) => {
                if taken == 0 {
                    let (code, reason) = match subscription.ended() {
                        Ended::TooSlow => (CLOSE_TOO_SLOW, "too slow: events overflowed"),
                        _ => (CLOSE_RECONNECT, "events missed: reconnect"),
                    };
                    close(&mut socket, code, reason).await;
                    return;
                }
                if !send_queued(&mut socket, &state, &claims, &mut queued).await {
                    return;
                }
            },
            _ = &mut expires => {
                close(&mut socket, CLOSE_UNAUTHORIZED, "token expired").await;
                return;
            }
            _ = recheck.tick() => {
                if !account_still_valid(&mut socket, &state, &claims).await {
                    return;
                }
            }
            _ = ping.tick() => {
                if !send(&mut socket, Message::Ping(Vec::new())).await {
                    return;
                }
            }
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Close(_))) | None => return,
                Some(Err(e)) => return end_after_read_error(&mut socket, &e).await,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// Sends what the queue gave, in order, in as few writes as it can; a change of the account
/// among them sends what came before it, then checks the account. False when the socket is
/// done for (closed here when the account no longer holds).
async fn send_queued(
    socket: &mut WebSocketStream,
    state: &AppState,
    claims: &Claims,
    queued: &mut Vec<StreamItem>,
) -> bool {
    let mut messages = Vec::with_capacity(queued.len());
    for item in queued.drain(..) {
        match item {
            StreamItem::Message(text) => messages.push(Message::Text(text.to_string())),
            StreamItem::Recheck => {
                if !send_all(socket, messages.drain(..)).await
                    || !account_still_valid(socket, state, claims).await
                {
                    return false;
                }
            }
        }
    }
    send_all(socket, messages).await
}

/// Whether the socket's account still holds; if not, the socket is closed with 4401.
async fn account_still_valid(
    socket: &mut WebSocketStream,
    state: &AppState,
    claims: &Claims,
) -> bool {
    if still_authorized(state, claims).await {
        return true;
    }
    close(socket, CLOSE_UNAUTHORIZED, "account inactive or token revoked").await;
    false
}
