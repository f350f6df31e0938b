//! `/api/v1/admin/queues/`, `/api/v1/admin/jobs/`, `/api/v1/admin/workers/`: what the
//! queues and workers are doing, and failed jobs put back in the queue. Admins only: the
//! caller is checked before anything else is read.

use std::sync::Arc;

use dispatch_core::operations::{JobFilter, JobSort};
use poem::web::Data;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::extract::ordering::{ordering_or_default, OrderingParam};
use crate::extract::pagination::{Page, PageParam, Paging};
use crate::extract::AdminUser;
use crate::routes::ApiTags;
use crate::schemas::{Job, JobAccepted, JobKindValue, JobStatusValue, Queues, Throughput, Workers};
use crate::state::AppState;

pub struct AdminOperationsApi;

#[derive(ApiResponse)]
pub enum Retried {
    /// Queued again under the same id; follow it as any job.
    #[oai(status = 202)]
    Accepted(Json<JobAccepted>, #[oai(header = "Location")] String),
}

#[OpenApi(tag = "ApiTags::Admin")]
impl AdminOperationsApi {
    /// Every job kind's queue (admins only)
    ///
    /// Counted from the job rows: queued, running, failed and succeeded in the last 24 h,
    /// the age of the oldest queued job, and the live workers that take the kind.
    #[oai(path = "/api/v1/admin/queues/", method = "get")]
    async fn queues(
        &self,
        state: Data<&Arc<AppState>>,
        admin: AdminUser,
    ) -> ApiResult<Json<Queues>> {
        let queues = state.operations.queues(&admin.0).await?;
        Ok(Json(Queues { queues: queues.into_iter().map(Into::into).collect() }))
    }

    /// Every job (admins only)
    ///
    /// Paginated, newest first unless `ordering` says otherwise (`created_at`,
    /// `updated_at`, `finished_at`, each optionally prefixed by `-`).
    #[oai(path = "/api/v1/admin/jobs/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn jobs(
        &self,
        state: Data<&Arc<AppState>>,
        request: &Request,
        // First: a non-admin is refused before the query is read.
        admin: AdminUser,
        /// 1-based page number.
        page: Query<Option<PageParam>>,
        /// Items per page (default 20; larger values are clamped to 100).
        page_size: Query<Option<PageParam>>,
        /// Only jobs in this state.
        status: Query<Option<JobStatusValue>>,
        /// Only jobs of this kind.
        kind: Query<Option<JobKindValue>>,
        /// Only jobs started by this user.
        owner_id: Query<Option<Uuid>>,
        /// Sort keys, e.g. `-finished_at`.
        ordering: Query<Option<OrderingParam<JobSort>>>,
    ) -> ApiResult<Json<Page<Job>>> {
        let paging = Paging::parse(page.0, page_size.0)?;
        let filter = JobFilter {
            status: status.0.map(Into::into),
            kind: kind.0.map(Into::into),
            owner: owner_id.0,
        };
        let ordering = ordering_or_default(ordering.0);
        let listed = state.operations.jobs(&admin.0, &filter, &ordering, paging.window()).await?;
        Ok(Json(Page::of(request, paging, listed)?))
    }

    /// Retry a failed job (admins only)
    ///
    /// The job goes back in its queue under the same id: `queued` again, its error cleared,
    /// its attempts kept. Its followers (polling, the job socket, `Prefer: wait`) see it run
    /// again. A job in any other state is a 409 `job-not-failed`.
    #[oai(path = "/api/v1/admin/jobs/:id/retry/", method = "post")]
    async fn retry(
        &self,
        state: Data<&Arc<AppState>>,
        admin: AdminUser,
        /// The job's id.
        id: Path<Uuid>,
    ) -> ApiResult<Retried> {
        let job = state.operations.retry(&admin.0, id.0).await?;
        let (body, location) = JobAccepted::answer(job.id);
        Ok(Retried::Accepted(body, location))
    }

    /// Jobs finished per minute (admins only)
    ///
    /// Per kind, over the last hour, from the job rows (succeeded and failed alike); minutes
    /// without any are left out.
    #[oai(path = "/api/v1/admin/throughput/", method = "get")]
    async fn throughput(
        &self,
        state: Data<&Arc<AppState>>,
        admin: AdminUser,
    ) -> ApiResult<Json<Throughput>> {
        let minutes = state.operations.throughput(&admin.0).await?;
        Ok(Json(Throughput { minutes: minutes.into_iter().map(Into::into).collect() }))
    }

    /// The live workers (admins only)
    ///
    /// Each instance's kinds, concurrency per kind, start time, last heartbeat and jobs in
    /// hand. A worker stopped with SIGTERM leaves the list at once; one that died without
    /// a word, within 30 seconds.
    #[oai(path = "/api/v1/admin/workers/", method = "get")]
    async fn workers(
        &self,
        state: Data<&Arc<AppState>>,
        admin: AdminUser,
    ) -> ApiResult<Json<Workers>> {
        let workers = state.operations.workers(&admin.0).await?;
        Ok(Json(Workers { workers: workers.into_iter().map(Into::into).collect() }))
    }
}
