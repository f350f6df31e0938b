//! A WebSocket client that reads until the server closes, with a deadline.

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

pub struct Transcript {
    pub messages: Vec<Value>,
    pub close_code: Option<u16>,
}

/// The WebSocket URL of `path` on the instance at `base` (`http://…` becomes `ws://…`).
pub fn url(base: &str, path: &str) -> String {
    format!("{}{path}", base.replacen("http", "ws", 1))
}

/// Connects (with optional extra headers) and collects every JSON message until the close.
pub async fn follow(url: &str, headers: &[(&str, &str)], timeout: Duration) -> Transcript {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = url.into_client_request().expect("ws request");
    for (k, v) in headers {
        request.headers_mut().insert(
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let (mut socket, _) =
        tokio_tungstenite::connect_async(request).await.expect("websocket connects");
    let mut transcript = Transcript { messages: Vec::new(), close_code: None };
    let read_all = async {
        while let Some(message) = socket.next().await {
            match message {
                Ok(Message::Text(text)) => {
                    transcript.messages.push(serde_json::from_str(&text).expect("json message"))
                }
                Ok(Message::Close(frame)) => {
                    transcript.close_code = frame.map(|f| u16::from(f.code));
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    };
    tokio::time::timeout(timeout, read_all).await.expect("the server closes the socket in time");
    transcript
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next frame, failing the test after 30 s.
pub async fn next_message(socket: &mut Socket) -> Message {
    tokio::time::timeout(Duration::from_secs(30), socket.next())
        .await
        .expect("a message in time")
        .expect("the socket is open")
        .expect("a frame")
}

/// Opens a WebSocket with extra request headers (e.g. `authorization`, `cookie`).
pub async fn connect(url: &str, headers: &[(&str, &str)]) -> Socket {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = url.into_client_request().expect("ws request");
    for (k, v) in headers {
        request.headers_mut().insert(
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes())
                .expect("header name"),
            v.parse().expect("header value"),
        );
    }
    let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("websocket connects");
    socket
}

/// The next JSON text message (skipping pings), failing the test after `timeout`.
pub async fn next_json(socket: &mut Socket, timeout: Duration) -> Value {
    let read = async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str(&text).expect("json message")
                }
                Some(Ok(Message::Close(frame))) => panic!("socket closed: {frame:?}"),
                Some(Ok(_)) => continue,
                other => panic!("socket ended: {other:?}"),
            }
        }
    };
    tokio::time::timeout(timeout, read).await.expect("a message in time")
}

/// Reads (discarding messages) until the server closes; the close code.
pub async fn close_code(socket: &mut Socket, timeout: Duration) -> Option<u16> {
    let read = async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    };
    tokio::time::timeout(timeout, read).await.expect("the server closes the socket in time")
}
