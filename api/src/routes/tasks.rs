//! `/api/v1/tasks/`: the caller's own tasks. Another user's task is a 404.

use std::sync::Arc;

use dispatch_core::tasks::{TaskFilter, TaskInput, TaskSort};
use dispatch_shared::domain::ValidationErrors;
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
use crate::schemas::{Message, NewTask, Task, TaskPatch, TaskStatusValue};
use crate::state::AppState;

pub struct TasksApi;

/// POST and PUT both carry every field.
fn full_input(body: &NewTask) -> Result<TaskInput, ValidationErrors> {
    TaskInput::parse(
        Some(&body.title),
        body.description.as_deref(),
        body.status_task.map(Into::into),
        true,
    )
}

#[derive(ApiResponse)]
pub enum TaskCreated {
    /// The new task.
    #[oai(status = 201)]
    Created(Json<Task>),
}

#[OpenApi(tag = "ApiTags::Tasks")]
impl TasksApi {
    /// Create a task
    ///
    /// `title` is required; `description` defaults to empty and `status_task` to `TO DO`.
    /// The caller's task streams receive it with `"action": "task_create"`.
    #[oai(path = "/api/v1/tasks/", method = "post")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AuthUser,
        body: JsonBody<NewTask>,
    ) -> ApiResult<TaskCreated> {
        let input = full_input(&body.0)?;
        let task = state.tasks.create(auth.id, input).await?;
        Ok(TaskCreated::Created(Json(task.into())))
    }

    /// The caller's tasks
    ///
    /// Paginated; newest first unless `ordering` says otherwise (`date_created`,
    /// `last_updated`, `title`, each optionally prefixed by `-`, comma-separated).
    #[oai(path = "/api/v1/tasks/", method = "get")]
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
        /// Only tasks with this status.
        status_task: Query<Option<TaskStatusValue>>,
        /// Case-insensitive substring of the title or the description.
        search: Query<Option<String>>,
        /// Sort keys, e.g. `-last_updated,title`.
        ordering: Query<Option<OrderingParam<TaskSort>>>,
    ) -> ApiResult<Json<Page<Task>>> {
        let paging = Paging::parse(page.0, page_size.0)?;
        let filter = TaskFilter {
            status: status_task.0.map(Into::into),
            search: search.0.filter(|s| !s.is_empty()),
        };
        let ordering = ordering_or_default(ordering.0);
        let listed = state.tasks.list(auth.id, filter, ordering, paging.window()).await?;
        Ok(Json(Page::of(request, paging, listed)?))
    }

    /// One task
    ///
    /// One of the caller's tasks; another user's task is a 404.
    #[oai(path = "/api/v1/tasks/:id/", method = "get")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AuthUser,
        /// The task's id.
        id: Path<Uuid>,
    ) -> ApiResult<Json<Task>> {
        let task = state.tasks.find(auth.id, id.0).await?;
        Ok(Json(task.into()))
    }

    /// Replace a task
    ///
    /// Every field: `title` is required, an omitted `description` becomes empty and an
    /// omitted `status_task` becomes `TO DO`.
    #[oai(path = "/api/v1/tasks/:id/", method = "put")]
    async fn put(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AuthUser,
        /// The task's id.
        id: Path<Uuid>,
        body: JsonBody<NewTask>,
    ) -> ApiResult<Json<Task>> {
        let input = full_input(&body.0)?;
        let task = state.tasks.update(auth.id, id.0, input).await?;
        Ok(Json(task.into()))
    }

    /// Change some fields of a task
    ///
    /// Omitted fields keep their value. The caller's task streams receive the result with
    /// `"action": "task_update"`.
    #[oai(path = "/api/v1/tasks/:id/", method = "patch")]
    async fn patch(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AuthUser,
        /// The task's id.
        id: Path<Uuid>,
        body: JsonBody<TaskPatch>,
    ) -> ApiResult<Json<Task>> {
        let body = body.0;
        let input = TaskInput::parse(
            body.title.as_deref(),
            body.description.as_deref(),
            body.status_task.map(Into::into),
            false,
        )?;
        let task = state.tasks.update(auth.id, id.0, input).await?;
        Ok(Json(task.into()))
    }

    /// Delete a task
    ///
    /// Its assignments go with it. The caller's task streams receive
    /// `{"id", "action": "task_delete"}`.
    #[oai(path = "/api/v1/tasks/:id/", method = "delete")]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AuthUser,
        /// The task's id.
        id: Path<Uuid>,
    ) -> ApiResult<Json<Message>> {
        state.tasks.delete(auth.id, id.0).await?;
        Ok(Json(Message { message: "Task deleted successfully".into() }))
    }
}
