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
use crate::services::jobs;
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
        let job = jobs::find_visible(state.0, parse_id(&id)?, auth.0.as_ref()).await?;
        Ok(Json(job.view().into()))
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
        let id = parse_id(&id)?;
        jobs::find_visible(state.0, id, auth.0.as_ref()).await?;
        let mut conn = state.0.db.get().await?;
        dispatch_shared::repo::jobs::delete(&mut conn, id).await?;
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
        let mut conn = state.0.db.get().await?;
        let (rows, count) = dispatch_shared::repo::jobs::list_for_owner(
            &mut conn,
            auth.id,
            paging.offset(),
            paging.limit(),
        )
        .await?;
        let results = rows.iter().map(|r| r.view().into()).collect();
        Ok(Json(Page::build(request, paging, count as u64, results)?))
    }
}
