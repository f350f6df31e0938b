//! Prometheus metrics: request counts and latencies here, job counts from the services.

use std::sync::{LazyLock, OnceLock};
use std::time::Instant;

use metrics::SharedString;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use poem::http::{Method, StatusCode};
use poem::{handler, Endpoint, IntoResponse, Request, Response};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder once (tests build several apps in one process).
pub fn install() {
    HANDLE.get_or_init(|| PrometheusBuilder::new().install_recorder().ok());
}

#[handler]
pub fn render() -> String {
    HANDLE
        .get()
        .and_then(|h| h.as_ref())
        .map(|h| h.render())
        .unwrap_or_default()
}

/// The route a request matched, with ids collapsed so they do not explode the label space.
/// A path that matched nothing is one label, whatever it was: otherwise every probe of a
/// made-up path would add series to the metrics for as long as the process lives.
fn route_label(path: &str, status: StatusCode) -> String {
    if status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED {
        return "unmatched".to_owned();
    }
    path.split('/')
        .map(|seg| {
            if uuid::Uuid::parse_str(seg).is_ok() {
                ":id"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
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
    LABELS
        .get(usize::from(status.as_u16()))
        .map_or("other", String::as_str)
}

/// Counts, times and logs each request. The log line has the path but never the query
/// string, which may carry a token (`/ws/jobs/{id}/?token=…`).
pub async fn track<E: Endpoint>(next: E, request: Request) -> poem::Result<Response> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.call(request).await.map(IntoResponse::into_response);
    let status = match &response {
        Ok(r) => r.status(),
        Err(e) => e.status(),
    };
    let elapsed = started.elapsed();
    tracing::info!(%method, %path, status = status.as_u16(), ?elapsed, "request");
    let labels = [
        ("method", SharedString::from(method_label(&method))),
        ("route", SharedString::from(route_label(&path, status))),
        ("status", SharedString::from(status_label(status))),
    ];
    metrics::counter!("dispatch_http_requests_total", &labels).increment(1);
    metrics::histogram!("dispatch_http_request_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
    response
}
