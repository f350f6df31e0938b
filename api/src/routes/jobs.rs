use std::sync::Arc;

use poem::web::Data;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::pagination::{Page, PageParam, Paging};
use crate::extract::{AuthUser, OptionalAuth};
use crate::routes::ApiTags;
use crate::schemas::Job;
use crate::state::AppState;

pub struct JobsApi;

#[derive(ApiResponse)]
pub enum Deleted {
    /// Acknowledged; the row is gone.
    #[oai(status = 204)]
    NoContent,
}

fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    // An id that cannot exist is simply not found.
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound)
}

#[OpenApi(tag = "ApiTags::Jobs")]
impl JobsApi {
    /// One job
    ///
    /// A job started by a user is visible to that user and admins; a registration job to
    /// anyone holding its id.
    #[oai(path = "/api/v1/jobs/:id/", method = "get")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        id: Path<String>,
        auth: OptionalAuth,
    ) -> ApiResult<Json<Job>> {
        let caller = auth.0.as_deref();
        let job = state.jobs.find(parse_id(&id)?, caller).await?;
        Ok(Json(job.into()))
    }

    /// Acknowledge a job
    ///
    /// Removes the row; finished rows are otherwise purged after the retention period.
    #[oai(path = "/api/v1/jobs/:id/", method = "delete")]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        id: Path<String>,
        auth: OptionalAuth,
    ) -> ApiResult<Deleted> {
        let caller = auth.0.as_deref();
        state.jobs.acknowledge(parse_id(&id)?, caller).await?;
        Ok(Deleted::NoContent)
    }

    /// The caller's jobs
    ///
    /// Newest first, paginated.
    #[oai(path = "/api/v1/jobs/", method = "get")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        request: &Request,
        auth: AuthUser,
        /// 1-based page number.
        page: Query<Option<PageParam>>,
        /// Items per page (default 20; larger values are clamped to 100).
        page_size: Query<Option<PageParam>>,
    ) -> ApiResult<Json<Page<Job>>> {
        let paging = Paging::parse(page.0, page_size.0)?;
        let listed = state.jobs.list(&auth, paging.window()).await?;
        Ok(Json(Page::of(request, paging, listed)?))
    }
}
