//! Assembles the HTTP application: the OpenAPI routes, WebSockets, Swagger UI, metrics, and
//! the middleware that turns every error into problem details.

use std::sync::Arc;

use poem::http::{StatusCode, Uri};
use poem::middleware::{CatchPanic, CookieJarManager};
use poem::{get, Endpoint, EndpointExt, IntoEndpoint, IntoResponse, Request, Response, Route};
use poem_openapi::OpenApiService;

use crate::error::ApiError;
use crate::metrics;
use crate::problem::Problem;
use crate::routes::{all_apis, Apis};
use crate::state::AppState;

pub fn openapi() -> OpenApiService<Apis, ()> {
    let apis = all_apis();
    OpenApiService::new(apis, "Dispatch API", env!("CARGO_PKG_VERSION")).description(
        "Accounts, tasks, assignments, a catalogue and mail, with slow work done by \
             background jobs that clients follow by polling `/api/v1/jobs/{id}/` or over the \
             WebSocket `/ws/jobs/{id}/`. Errors are RFC 9457 problem details. \
             Authenticate with `Authorization: Bearer <access>` (see /api/v1/auth/login/).",
    )
}

/// The spec as served and committed in `openapi/openapi.json`.
pub fn spec_json() -> String {
    crate::spec::portable(&openapi().spec())
}

pub fn build(state: Arc<AppState>) -> impl Endpoint {
    let idempotency_state = state.clone();
    let service = openapi();
    let swagger = service.swagger_ui();
    // The API owns these prefixes; `/` and the rest belong to the web console.
    let api = Arc::new(service.into_endpoint());
    let routes = Route::new()
        .nest_no_strip("/api", api.clone())
        .nest_no_strip("/ws", api.clone())
        .nest_no_strip("/healthz", api.clone())
        .nest_no_strip("/readyz", api);
    crate::console::mount(routes)
        .nest("/api-docs", swagger)
        .at("/api-docs/openapi.json", get(crate::spec::served))
        .at("/metrics", get(metrics::guarded))
        .nest("/media", crate::media::endpoint(&state.settings.media_root))
        .data(state)
        .with(CatchPanic::new().with_handler(|_| {
            ApiError::internal(anyhow::anyhow!("handler panicked")).problem().into_response()
        }))
        .before(strip_trailing_slash)
        .catch_all_error(problem_response)
        .around(move |next, request| {
            crate::idempotency::idempotent(idempotency_state.clone(), next, request)
        })
        // Outside the idempotency middleware, which reads the session cookie for its owner.
        .with(CookieJarManager::new())
        // Each `around` nests the whole type inside it again: a box here keeps the type of
        // the outer layers small enough for the compiler's depth limit.
        .boxed()
        .around(crate::allow::add_allow)
        .around(no_store)
        .around(close_if_body_unread)
        .around(metrics::track)
        .around(crate::request_id::with_request_id)
        .into_endpoint()
}

/// `/api/v1/jobs/x/` (the documented form) and `/api/v1/jobs/x` are the same resource;
/// routes are registered without the slash because poem-openapi normalises paths so.
async fn strip_trailing_slash(mut request: Request) -> poem::Result<Request> {
    let path = request.uri().path();
    if (path.starts_with("/api/v1/") || path.starts_with("/ws/"))
        && path.len() > 1
        && path.ends_with('/')
    {
        let trimmed = path.trim_end_matches('/');
        let rewritten = match request.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        if let Ok(uri) = rewritten.parse::<Uri>() {
            *request.uri_mut() = uri;
        }
    }
    Ok(request)
}

/// No response is to be sniffed into another type (a JSON or problem body rendered as
/// HTML); API answers are per-user and may carry tokens, so no cache may keep them either.
async fn no_store<E: Endpoint>(next: E, request: Request) -> poem::Result<Response> {
    let api = request.uri().path().starts_with("/api/v1/");
    let mut response = next.call(request).await?.into_response();
    let headers = response.headers_mut();
    headers.insert(
        poem::http::header::X_CONTENT_TYPE_OPTIONS,
        poem::http::HeaderValue::from_static("nosniff"),
    );
    if api {
        headers.insert(
            poem::http::header::CACHE_CONTROL,
            poem::http::HeaderValue::from_static("no-store"),
        );
    }
    Ok(response)
}

/// A request answered without its body being read (a 403 before a write's body, a 401, a
/// 413) leaves the rest of the body on the connection, and the server closes it after the
/// answer: `Connection: close` says so, so that no client sends its next request on it.
async fn close_if_body_unread<E: Endpoint>(
    next: E,
    mut request: Request,
) -> poem::Result<Response> {
    let has_body = request
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|len| len.trim() != "0")
        || request.headers().contains_key(poem::http::header::TRANSFER_ENCODING);
    if !has_body {
        return next.call(request).await.map(IntoResponse::into_response);
    }
    let read = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let body = ReadToTheEnd { inner: request.take_body().into_bytes_stream(), read: read.clone() };
    request.set_body(poem::Body::from_bytes_stream(body));
    let mut response = next.call(request).await?.into_response();
    if !read.load(std::sync::atomic::Ordering::Acquire) {
        response
            .headers_mut()
            .insert(poem::http::header::CONNECTION, poem::http::HeaderValue::from_static("close"));
    }
    Ok(response)
}

/// A request body that records when it has been read to its end.
struct ReadToTheEnd<S> {
    inner: S,
    read: Arc<std::sync::atomic::AtomicBool>,
}

impl<S: futures::Stream + Unpin> futures::Stream for ReadToTheEnd<S> {
    type Item = S::Item;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let next = std::pin::Pin::new(&mut self.inner).poll_next(cx);
        if let std::task::Poll::Ready(None) = next {
            self.read.store(true, std::sync::atomic::Ordering::Release);
        }
        next
    }
}

/// Errors raised outside our handlers (routing, parameter parsing, the framework) get the
/// same problem body as ours. The route the request matched goes along, for the metrics.
async fn problem_response(err: poem::Error) -> Response {
    let matched = err.data::<poem::PathPattern>().cloned();
    let mut response = problem_for(err);
    if let Some(matched) = matched {
        response.set_data(matched);
    }
    response
}

fn problem_for(err: poem::Error) -> Response {
    if err.is::<ApiError>() {
        return err.into_response();
    }
    if err.is::<poem::error::WebSocketError>() {
        return upgrade_required();
    }
    let status = err.status();
    if !status.is_client_error() && !status.is_server_error() {
        // Not a failure: poem's file endpoints answer a matching conditional GET with an
        // `Err(304)`. It goes out as the bare status it is, not as a problem.
        return Response::builder().status(status).finish();
    }
    let problem = if err.is::<poem_openapi::error::ParsePathError>() {
        // poem-openapi names path parameters by position (`param0`); every path parameter
        // of this API is a resource's `id`, as the spec calls it.
        malformed_id()
    } else if let Some(param) = err.downcast_ref::<poem_openapi::error::ParseParamError>() {
        let reason = humane_reason(&param.reason);
        let mut errors = std::collections::BTreeMap::new();
        errors.insert(param.name.to_owned(), vec![reason.clone()]);
        Problem::new(StatusCode::BAD_REQUEST, "validation-error", "Invalid input.")
            .with_detail(format!("Invalid value for `{}`: {reason}", param.name))
            .with_errors(errors)
    } else {
        match status {
            StatusCode::NOT_FOUND => ApiError::NotFound.problem(),
            StatusCode::METHOD_NOT_ALLOWED => {
                Problem::new(status, "method-not-allowed", "Method not allowed.")
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ApiError::UnsupportedMediaType(err.to_string()).problem()
            }
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(err.to_string()).problem(),
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized(err.to_string()).problem(),
            s if s.is_client_error() => {
                Problem::new(s, "bad-request", "Bad request.").with_detail(err.to_string())
            }
            _ => {
                tracing::error!(error = %err, "unhandled error");
                ApiError::internal(anyhow::anyhow!("unhandled")).problem()
            }
        }
    };
    problem.into_response()
}

fn malformed_id() -> Problem {
    let rule = "Not a valid id: ids are UUIDs, such as 3fa85f64-5717-4562-b3fc-2c963f66afa6.";
    let mut errors = std::collections::BTreeMap::new();
    errors.insert("id".to_owned(), vec![rule.to_owned()]);
    Problem::new(StatusCode::BAD_REQUEST, "validation-error", "Invalid input.")
        .with_detail(format!("Invalid value for `id`: {rule}"))
        .with_errors(errors)
}

/// A plain HTTP request to a WebSocket endpoint (RFC 9110 §15.5.22).
fn upgrade_required() -> Response {
    let mut response = Problem::new(
        StatusCode::UPGRADE_REQUIRED,
        "upgrade-required",
        "WebSocket handshake required.",
    )
    .with_detail("This endpoint speaks WebSocket only; connect with a WebSocket client.")
    .into_response();
    response
        .headers_mut()
        .insert(poem::http::header::UPGRADE, poem::http::HeaderValue::from_static("websocket"));
    response
}

/// poem-openapi's parameter errors name its internal type names and validators; clients get
/// the part that says what is wrong with their value.
fn humane_reason(reason: &str) -> String {
    let mut text = reason;
    if let Some(end) = text.find(" (occurred while parsing") {
        text = &text[..end];
    }
    if text.starts_with("failed to parse \"") {
        if let Some(start) = text.find("\": ") {
            text = &text[start + 3..];
        }
    }
    let bound = |rest: &str| rest.split([',', ')']).next().unwrap_or("").trim().to_owned();
    if let Some(rest) = text.strip_prefix("verification failed. minimum(") {
        return format!("Ensure this value is greater than or equal to {}.", bound(rest));
    }
    if let Some(rest) = text.strip_prefix("verification failed. maximum(") {
        return format!("Ensure this value is less than or equal to {}.", bound(rest));
    }
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use super::humane_reason;

    #[test]
    fn parameter_errors_read_as_sentences() {
        assert_eq!(
            humane_reason("verification failed. minimum(1, exclusive: false)"),
            "Ensure this value is greater than or equal to 1."
        );
        assert_eq!(
            humane_reason(
                "failed to parse \"string(^-?(a|b)$)\": Unknown ordering field \"c\". \
                 (occurred while parsing \"optional_string\")"
            ),
            "Unknown ordering field \"c\"."
        );
    }
}
