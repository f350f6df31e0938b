//! Prometheus metrics: request counts and latencies here, job counts from the services.

use std::sync::{LazyLock, OnceLock};
use std::time::Instant;

use dispatch_shared::config::Environment;
use metrics::SharedString;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use poem::http::{Method, StatusCode};
use poem::{handler, Endpoint, IntoResponse, PathPattern, Request, Response};

use crate::error::ApiError;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder once (tests build several apps in one process).
pub fn install() {
    HANDLE.get_or_init(|| PrometheusBuilder::new().install_recorder().ok());
}

/// `/metrics` on the API's port. With `DISPATCH_METRICS_TOKEN` set it asks for that bearer
/// token; in production mode without one it is not served (the figures name routes,
/// statuses and queue depths, which are nobody's business outside the operators).
#[handler]
pub fn guarded(
    request: &Request,
    state: poem::web::Data<&std::sync::Arc<crate::state::AppState>>,
) -> poem::Result<String> {
    use subtle::ConstantTimeEq;
    let settings = &state.settings;
    match &settings.metrics_token {
        Some(token) => {
            let given = request
                .headers()
                .get(poem::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            if !bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
                return Err(ApiError::Unauthorized(
                    "/metrics needs `Authorization: Bearer <DISPATCH_METRICS_TOKEN>`.".into(),
                )
                .into());
            }
        }
        None if settings.environment == Environment::Production => {
            return Err(ApiError::NotFound.into());
        }
        None => {}
    }
    Ok(render())
}

pub fn render() -> String {
    HANDLE.get().and_then(|h| h.as_ref()).map(|h| h.render()).unwrap_or_default()
}

/// The route the request matched, as the router's pattern (`/api/v1/tasks/:param0`), so ids do
/// not explode the label space. A request that matched no route is one label, whatever its
/// path: otherwise every probe of a made-up path would add series for the life of the
/// process.
fn route_label(response: &poem::Result<Response>) -> SharedString {
    let matched = match response {
        Ok(r) => r.data::<PathPattern>(),
        Err(e) => e.data::<PathPattern>(),
    };
    matched.map_or(SharedString::const_str("unmatched"), |p| SharedString::from_shared(p.0.clone()))
}

/// Label values that need no allocation per request.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_label(status: StatusCode) -> &'static str {
    static LABELS: LazyLock<Vec<String>> =
        LazyLock::new(|| (0..1000u16).map(|code| code.to_string()).collect());
    LABELS.get(usize::from(status.as_u16())).map_or("other", String::as_str)
}

/// Counts, times and logs each request. The log line has the path but never the query
/// string, which may carry a token (`/ws/jobs/{id}/?token=…`).
pub async fn track<E: Endpoint>(next: E, request: Request) -> poem::Result<Response> {
    let started = Instant::now();
    let method = request.method().clone();
    // Copied only when the line is written: the request goes to `next`.
    let path = tracing::enabled!(tracing::Level::INFO).then(|| request.uri().path().to_owned());
    let response = next.call(request).await.map(IntoResponse::into_response);
    let status = match &response {
        Ok(r) => r.status(),
        Err(e) => e.status(),
    };
    let elapsed = started.elapsed();
    if let Some(path) = path {
        tracing::info!(%method, %path, status = status.as_u16(), ?elapsed, "request");
    }
    let labels = [
        ("method", SharedString::const_str(method_label(&method))),
        ("route", route_label(&response)),
        ("status", SharedString::const_str(status_label(status))),
    ];
    metrics::counter!("dispatch_http_requests_total", &labels).increment(1);
    metrics::histogram!("dispatch_http_request_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
    response
}
