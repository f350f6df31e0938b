//! Prometheus metrics: request counts and latencies here, job counts from the services.

use std::sync::OnceLock;
use std::time::Instant;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
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

fn route_label(path: &str) -> String {
    // Ids would explode the label space; collapse them.
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

/// Counts, times and logs each request. The log line has the path but never the query
/// string, which may carry a token (`/ws/jobs/{id}/?token=…`).
pub async fn track<E: Endpoint>(next: E, request: Request) -> poem::Result<Response> {
    let started = Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let route = route_label(&path);
    let response = next.call(request).await.map(IntoResponse::into_response);
    let status = match &response {
        Ok(r) => r.status().as_u16(),
        Err(e) => e.status().as_u16(),
    };
    let elapsed = started.elapsed();
    tracing::info!(%method, %path, status, ?elapsed, "request");
    let labels = [
        ("method", method),
        ("route", route),
        ("status", status.to_string()),
    ];
    metrics::counter!("dispatch_http_requests_total", &labels).increment(1);
    metrics::histogram!("dispatch_http_request_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
    response
}
