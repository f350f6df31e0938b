//! `X-Request-Id`: taken from the request when it is a sensible token, else generated; every
//! log line of the request carries it (a `request` span) and the response echoes it.

use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";

fn acceptable(value: &str) -> bool {
    (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

pub async fn with_request_id<E: Endpoint>(next: E, request: Request) -> poem::Result<Response> {
    let id = request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!("request", request_id = %id);
    let mut response =
        dispatch_core::correlation::scope(id.clone(), next.call(request).instrument(span))
            .await?
            .into_response();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::acceptable;

    #[test]
    fn only_sensible_ids_are_taken_over() {
        assert!(acceptable("3f2c-req_1.a:b"));
        for bad in ["", "with space", "new\nline", &"x".repeat(129)] {
            assert!(!acceptable(bad), "{bad:?}");
        }
    }
}
