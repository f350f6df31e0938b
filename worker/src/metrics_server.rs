use std::net::SocketAddr;

use anyhow::Context;

/// Prometheus text format on `/metrics` at `DISPATCH_WORKER_METRICS_BIND`.
pub fn install(bind: Option<SocketAddr>) -> anyhow::Result<()> {
    let Some(addr) = bind else { return Ok(()) };
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .install()
        .with_context(|| format!("DISPATCH_WORKER_METRICS_BIND: cannot serve metrics on {addr}"))?;
    tracing::info!(%addr, "worker metrics on http://{addr}/metrics");
    Ok(())
}
