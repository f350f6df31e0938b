//! The caller's tasks: create, read, change, delete, and tell the owner's live streams.

use dispatch_shared::domain::{Ordering, TaskDescription, TaskStatus, TaskTitle, ValidationErrors};
use dispatch_shared::events::Event;
use dispatch_shared::models::{now_naive, TaskRow};
use dispatch_shared::repo::listing::Window;
use dispatch_shared::repo::tasks::{self, TaskChanges, TaskFilter, TaskSort};
use uuid::Uuid;

use crate::error::ApiError;
use crate::schemas::Task;
use crate::services::task_reads::TaskKey;
use crate::state::AppState;

/// Validated task fields; `None` means "not given".
#[derive(Debug, Default)]
pub struct TaskInput {
    pub title: Option<TaskTitle>,
    pub description: Option<TaskDescription>,
    pub status: Option<TaskStatus>,
}

impl TaskInput {
    /// `full` (POST, PUT) requires the title and defaults the rest, as a new task would.
    pub fn parse(
        title: Option<&str>,
        description: Option<&str>,
        status: Option<TaskStatus>,
        full: bool,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if full && title.is_none() {
            errors.add("title", "This field is required.");
        }
        let description = description.or(full.then_some(""));
        let input = Self {
            title: title.and_then(|t| errors.check("title", TaskTitle::parse(t))),
            description: description
                .and_then(|d| errors.check("description", TaskDescription::parse(d))),
            status: status.or(full.then(TaskStatus::default)),
        };
        errors.into_result().map(|_| input)
    }
}

pub enum Action {
    Create,
    Update,
}

/// Best effort, like every event: a stream that misses one sees the state on its next read.
async fn announce(state: &AppState, owner: Uuid, body: serde_json::Value) {
    state
        .publisher
        .publish(&Event::Task {
            user_id: owner,
            body,
        })
        .await;
}

async fn announce_task(state: &AppState, owner: Uuid, task: &TaskRow, action: Action) {
    let action = match action {
        Action::Create => "task_create",
        Action::Update => "task_update",
    };
    announce(state, owner, Task::from(task.view()).stream_message(action)).await;
}

pub async fn create(state: &AppState, owner: Uuid, input: TaskInput) -> Result<TaskRow, ApiError> {
    let now = now_naive();
    let task = TaskRow {
        id: Uuid::new_v4().to_string(),
        owner_id: owner.to_string(),
        title: input
            .title
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        description: input
            .description
            .map(|d| d.as_str().to_owned())
            .unwrap_or_default(),
        status_task: input.status.unwrap_or_default().as_str().to_owned(),
        date_created: now,
        last_updated: now,
    };
    {
        let mut conn = state.db.get().await?;
        tasks::insert(&mut conn, &task).await?;
    }
    announce_task(state, owner, &task, Action::Create).await;
    Ok(task)
}

pub async fn find(state: &AppState, owner: Uuid, id: Uuid) -> Result<TaskRow, ApiError> {
    state
        .task_reads
        .find(TaskKey { owner, id })
        .await?
        .ok_or(ApiError::NotFound)
}

pub async fn list(
    state: &AppState,
    owner: Uuid,
    filter: &TaskFilter,
    ordering: &Ordering<TaskSort>,
    window: Window,
) -> Result<(Vec<TaskRow>, i64), ApiError> {
    let mut conn = state.db.get().await?;
    Ok(tasks::list(&mut conn, owner, filter, ordering, window).await?)
}

pub async fn update(
    state: &AppState,
    owner: Uuid,
    id: Uuid,
    input: TaskInput,
) -> Result<TaskRow, ApiError> {
    let changes = TaskChanges {
        title: input.title.map(|t| t.as_str().to_owned()),
        description: input.description.map(|d| d.as_str().to_owned()),
        status_task: input.status.map(|s| s.as_str().to_owned()),
        last_updated: now_naive(),
    };
    let task = {
        let mut conn = state.db.get().await?;
        if !tasks::update(&mut conn, owner, id, &changes).await? {
            return Err(ApiError::NotFound);
        }
        tasks::find(&mut conn, owner, id)
            .await?
            .ok_or(ApiError::NotFound)?
    };
    announce_task(state, owner, &task, Action::Update).await;
    Ok(task)
}

pub async fn delete(state: &AppState, owner: Uuid, id: Uuid) -> Result<(), ApiError> {
    {
        let mut conn = state.db.get().await?;
        if !tasks::delete(&mut conn, owner, id).await? {
            return Err(ApiError::NotFound);
        }
    }
    announce(
        state,
        owner,
        serde_json::json!({"id": id, "action": "task_delete"}),
    )
    .await;
    Ok(())
}
