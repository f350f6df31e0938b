//! What the WebSocket endpoints share: small per-connection buffers, the documented
//! upgrade response, closing with a code, and sends that cannot hang on a stalled peer.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::SinkExt;
use poem::web::websocket::{
    CloseCode, Message, WebSocket, WebSocketConfig, WebSocketStream, WebSocketUpgraded,
};
use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use poem_openapi::ApiResponse;
use tokio::runtime::Handle;
use tokio::task::JoinSet;

use dispatch_shared::auth::Claims;
use poem::Request;

use crate::extract::auth::{authenticate_claims, raw_token, AuthUser};
use crate::problem::{Problem, CONTENT_TYPE};
use crate::state::AppState;

/// A send that the peer has not taken in this long ends the connection.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(20);

pub type Session = Box<dyn FnOnce(WebSocketStream) -> BoxFuture<'static, ()> + Send + Sync>;

/// Clients send us nothing but control frames, so the read side needs little: 1 KiB, grown
/// only while a larger frame arrives. tungstenite's default 128 KiB read buffer per
/// connection would dominate an idle socket's cost (4 KiB measured 2–3 KiB more per socket).
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(1024)
        // Frames gather until a flush or 8 KiB, so that messages sent together leave in one
        // write; a lone message is flushed as it is sent.
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(Some(64 * 1024))
        .max_frame_size(Some(64 * 1024))
}

/// The upgrade answer of our WebSocket endpoints, documented with the 426 a request that
/// is not a WebSocket handshake gets.
pub struct Upgrade(WebSocketUpgraded<Session>);

impl Upgrade {
    /// The session runs on `runtime` (see `ApiThreads`) and ends with the task poem gives
    /// the upgraded connection: a runtime that shuts down takes its sessions with it.
    pub fn new(ws: WebSocket, runtime: Handle, session: Session) -> Self {
        let on_runtime: Session = Box::new(move |socket| {
            Box::pin(async move {
                // A `JoinSet` aborts what it holds when dropped; a bare `JoinHandle` would
                // leave the session running.
                let mut running = JoinSet::new();
                running.spawn_on(session(socket), &runtime);
                if let Some(Err(e)) = running.join_next().await {
                    if e.is_panic() {
                        tracing::error!("a WebSocket session panicked");
                    }
                }
            })
        });
        Self(ws.config(config()).on_upgrade(on_runtime))
    }
}

impl IntoResponse for Upgrade {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

impl ApiResponse for Upgrade {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![
                MetaResponse {
                    description: "Switching to the WebSocket protocol.",
                    status: Some(101),
                    status_range: None,
                    content: vec![],
                    headers: vec![],
                },
                MetaResponse {
                    description: "Not a WebSocket handshake (a plain HTTP request).",
                    status: Some(426),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: CONTENT_TYPE,
                        schema: Problem::schema_ref(),
                    }],
                    headers: vec![],
                },
            ],
        }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}

/// Sends `message`, giving up after `SEND_TIMEOUT`; false when the connection is done for.
pub async fn send(socket: &mut WebSocketStream, message: Message) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await, Ok(Ok(())))
}

/// Sends `messages` with one flush at the end, giving up after `SEND_TIMEOUT` for them all;
/// false when the connection is done for.
pub async fn send_all(
    socket: &mut WebSocketStream,
    messages: impl IntoIterator<Item = Message>,
) -> bool {
    let sent = async {
        for message in messages {
            socket.feed(message).await?;
        }
        socket.flush().await
    };
    matches!(tokio::time::timeout(SEND_TIMEOUT, sent).await, Ok(Ok(())))
}

/// A close frame with `code` and `reason`, then the end of the connection.
pub async fn close(socket: &mut WebSocketStream, code: u16, reason: &str) {
    let frame = Message::Close(Some((CloseCode::from(code), reason.to_owned())));
    if send(socket, frame).await {
        let _ = tokio::time::timeout(SEND_TIMEOUT, socket.close()).await;
    }
}

/// Close code for a message larger than the endpoint takes (RFC 6455 §7.4.1).
const CLOSE_TOO_BIG: u16 = 1009;

/// Ends a connection whose read failed. A frame or message over the limits in `config` is
/// answered with 1009 and a reason rather than a dropped socket (1006). poem hands
/// tungstenite's capacity error over as an `io::Error` holding only its text, so the text
/// is what tells it apart.
pub async fn end_after_read_error(socket: &mut WebSocketStream, error: &std::io::Error) {
    if error.to_string().contains("Space limit exceeded") {
        close(socket, CLOSE_TOO_BIG, "message too big: at most 64 KiB").await;
        // The rest of the message is still arriving and will never be read: closing the
        // connection now would reset it, and a reset discards the close frame at the peer
        // before it is read. A peer that reads while it sends gets the frame meanwhile.
        tokio::time::sleep(CLOSE_LINGER).await;
    }
}

/// How long an oversized message's connection stays open after its close frame.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// A socket's caller and its token's claims, when the upgrade request carries a valid token.
pub async fn socket_caller(state: &AppState, request: &Request) -> Option<(AuthUser, Claims)> {
    let token = raw_token(request, true)?;
    authenticate_claims(state, &token.value).await.ok()
}

/// Whether the token still speaks for an active user (see `Sessions::still_valid`).
pub async fn still_authorized(state: &AppState, claims: &Claims) -> bool {
    state.sessions.still_valid(claims).await
}

pub fn expiry(claims: &Claims) -> tokio::time::Instant {
    let left = claims.exp - chrono::Utc::now().timestamp();
    tokio::time::Instant::now() + Duration::from_secs(left.max(0) as u64)
}
