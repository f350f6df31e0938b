use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::routes::ApiTags;
use crate::state::AppState;

pub struct HealthApi;

#[derive(Debug, Object)]
#[oai(example)]
pub struct Health {
    /// "ok", or "unavailable" when a dependency is down.
    pub status: String,
    pub mysql: String,
    pub redis: String,
}

#[derive(ApiResponse)]
pub enum Readiness {
    /// MySQL and Redis answer.
    #[oai(status = 200)]
    Ready(Json<Health>),
    /// A dependency is down.
    #[oai(status = 503)]
    NotReady(Json<Health>, #[oai(header = "Retry-After")] u64),
}

fn word(ok: bool) -> String {
    if ok { "ok" } else { "unavailable" }.to_owned()
}

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness: the process answers
    ///
    /// Always 200 while the process runs; it checks no dependency.
    #[oai(path = "/healthz", method = "get")]
    async fn healthz(&self) -> Json<serde_json::Value> {
        Json(serde_json::json!({"status": "ok"}))
    }

    /// Readiness: MySQL and Redis reachable
    ///
    /// 200 when both answer within 2 s, otherwise 503 with `Retry-After`; it recovers
    /// without a restart when they return.
    #[oai(path = "/readyz", method = "get")]
    async fn readyz(&self, state: Data<&Arc<AppState>>) -> Readiness {
        let up = state.readiness.check().await;
        for (dependency, reachable) in [("mysql", up.mysql), ("redis", up.redis)] {
            metrics::gauge!("dispatch_api_dependency_up", "dependency" => dependency)
                .set(if reachable { 1.0 } else { 0.0 });
        }
        let health =
            Health { status: word(up.all_up()), mysql: word(up.mysql), redis: word(up.redis) };
        if up.all_up() {
            Readiness::Ready(Json(health))
        } else {
            Readiness::NotReady(Json(health), crate::error::RETRY_AFTER_SECS)
        }
    }
}

impl poem_openapi::types::Example for Health {
    fn example() -> Self {
        Self { status: "ok".into(), mysql: "ok".into(), redis: "ok".into() }
    }
}
