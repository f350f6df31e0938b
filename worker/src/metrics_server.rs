//! The worker's own small HTTP endpoint at `DISPATCH_WORKER_METRICS_BIND`: Prometheus
//! metrics on `/metrics`, and two probes for a supervisor or Kubernetes: `/healthz` (the
//! process answers) and `/readyz` (its consumers take jobs; 503 with `Retry-After` while they
//! are being rebuilt).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use poem::http::StatusCode;
use poem::listener::{Listener, TcpListener};
use poem::web::Data;
use poem::{get, handler, EndpointExt, Response, Route, Server};

use crate::health::ConsumerHealth;

/// How often histogram buckets are folded, as the exporter's own listener would.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Installs the metrics recorder and serves the endpoint; nothing when `bind` is `None`.
pub async fn serve(bind: Option<SocketAddr>, health: Arc<ConsumerHealth>) -> anyhow::Result<()> {
    let Some(addr) = bind else { return Ok(()) };
    let metrics = PrometheusBuilder::new().install_recorder().context("the metrics recorder")?;
    let acceptor = TcpListener::bind(addr)
        .into_acceptor()
        .await
        .with_context(|| format!("DISPATCH_WORKER_METRICS_BIND: cannot listen on {addr}"))?;
    let upkeep = metrics.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(UPKEEP_EVERY);
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    let app = Route::new()
        .at("/metrics", get(render))
        .at("/healthz", get(alive))
        .at("/readyz", get(ready))
        .data(metrics)
        .data(health);
    tokio::spawn(async move {
        if let Err(e) = Server::new_with_acceptor(acceptor).run(app).await {
            tracing::error!(error = %e, "the worker's metrics endpoint stopped");
        }
    });
    tracing::info!(%addr, "worker metrics on http://{addr}/metrics, probes on /healthz and /readyz");
    Ok(())
}

#[handler]
fn render(metrics: Data<&PrometheusHandle>) -> Response {
    Response::builder().content_type("text/plain; version=0.0.4").body(metrics.render())
}

#[handler]
fn alive() -> &'static str {
    "ok"
}

#[handler]
fn ready(health: Data<&Arc<ConsumerHealth>>) -> Response {
    if health.is_up() {
        Response::builder().body("consumers running")
    } else {
        Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .header("Retry-After", "1")
            .body("consumers down: rebuilding them")
    }
}
