//! `/api/v1/assignments/`: tasks assigned to users per date, within a daily limit.

use std::sync::Arc;

use dispatch_core::assignments::{self, AssignmentFilter, AssignmentSort};
use poem::web::Data;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::extract::ordering::{ordering_or_default, OrderingParam};
use crate::extract::pagination::{Page, PageParam, Paging};
use crate::extract::{AuthUser, JsonBody};
use crate::routes::ApiTags;
use crate::schemas::{Assignment, Date, NewAssignment};
use crate::state::AppState;

pub struct AssignmentsApi;

#[derive(ApiResponse)]
pub enum AssignmentCreated {
    /// The new assignment.
    #[oai(status = 201)]
    Created(Json<Assignment>),
}

#[derive(ApiResponse)]
pub enum AssignmentDeleted {
    /// Deleted; the slot it held on its date is free.
    #[oai(status = 204)]
    NoContent,
}

#[OpenApi(tag = "ApiTags::Assignments")]
impl AssignmentsApi {
    /// Assign a task to a user for a date
    ///
    /// The caller must own the task (admins: any task); someone else's task is a 404. An
    /// unknown or deactivated assignee is a 400 naming `user_id`. Each assignee takes at most
    /// their `daily_task_limit` assignments per date: one more is a 409 whose type ends in
    /// `daily-limit-reached`; the same task to the same user on the same date is a 409
    /// `already-assigned`.
    #[oai(path = "/api/v1/assignments/", method = "post")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AuthUser,
        body: JsonBody<NewAssignment>,
    ) -> ApiResult<AssignmentCreated> {
        let body = body.0;
        let new = assignments::NewAssignment {
            task_id: body.task_id,
            user_id: body.user_id,
            date: body.date.0,
        };
        let assignment = state.assignments.create(&auth, new).await?;
        Ok(AssignmentCreated::Created(Json(assignment.into())))
    }

    /// Assignments the caller is part of
    ///
    /// Those assigned to the caller and those of the caller's tasks (admins: all),
    /// paginated, latest date first unless `ordering` says otherwise (`date`, `created_at`).
    #[oai(path = "/api/v1/assignments/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        request: &Request,
        auth: AuthUser,
        /// 1-based page number.
        page: Query<Option<PageParam>>,
        /// Items per page (default 20; larger values are clamped to 100).
        page_size: Query<Option<PageParam>>,
        /// Only this assignee's.
        user_id: Query<Option<Uuid>>,
        /// Only this task's.
        task_id: Query<Option<Uuid>>,
        /// Only this date (YYYY-MM-DD).
        date: Query<Option<Date>>,
        /// Sort keys, e.g. `date,-created_at`.
        ordering: Query<Option<OrderingParam<AssignmentSort>>>,
    ) -> ApiResult<Json<Page<Assignment>>> {
        let paging = Paging::parse(page.0, page_size.0)?;
        let filter =
            AssignmentFilter { user_id: user_id.0, task_id: task_id.0, date: date.0.map(|d| d.0) };
        let ordering = ordering_or_default(ordering.0);
        let listed = state.assignments.list(&auth, &filter, &ordering, paging.window()).await?;
        Ok(Json(Page::of(request, paging, listed)?))
    }

    /// Delete an assignment
    ///
    /// For the task's owner, the assignee or an admin; a hard delete that frees the slot.
    #[oai(path = "/api/v1/assignments/:id/", method = "delete")]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AuthUser,
        /// The assignment's id.
        id: Path<Uuid>,
    ) -> ApiResult<AssignmentDeleted> {
        state.assignments.delete(&auth, id.0).await?;
        Ok(AssignmentDeleted::NoContent)
    }
}
