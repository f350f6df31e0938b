//! The caller's tasks: create, read, change, delete, and tell the owner's live streams.
//! Another user's task does not exist for the caller.

pub mod kept_pages;
pub mod reads;
pub mod stream;
pub mod writes;

use dispatch_shared::db::id::Id;
use dispatch_shared::db::DbPool;
use dispatch_shared::domain::{TaskDescription, TaskStatus, TaskTitle, ValidationErrors};
use dispatch_shared::events::{Event, EventPublisher, TaskChange};
pub use dispatch_shared::models::TaskView;
use dispatch_shared::models::{now_naive, TaskRow};
use dispatch_shared::repo::tasks::{self, TaskChanges};
pub use dispatch_shared::repo::tasks::{TaskFilter, TaskSort};
use uuid::Uuid;

use crate::listing::{Listed, Ordering, Window};
use crate::Failure;
use kept_pages::KeptTaskPages;
use reads::{TaskKey, TaskPageKey, TaskReads};
use writes::TaskInserts;

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("no such task")]
    NotFound,
    #[error(transparent)]
    Failure(#[from] Failure),
}
crate::failures_convert_into!(TaskError);

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

#[derive(Clone)]
pub struct Tasks {
    db: DbPool,
    reads: TaskReads,
    pages: KeptTaskPages,
    inserts: TaskInserts,
    publisher: EventPublisher,
}

impl Tasks {
    pub fn new(
        db: DbPool,
        reads: TaskReads,
        pages: KeptTaskPages,
        inserts: TaskInserts,
        publisher: EventPublisher,
    ) -> Self {
        Self { db, reads, pages, inserts, publisher }
    }

    /// Best effort, like every event: a stream that misses one sees the state on its next
    /// read.
    async fn announce(&self, owner: Uuid, change: TaskChange) {
        self.publisher.publish(&Event::Task { user_id: owner, change }).await;
    }

    pub async fn create(&self, owner: Uuid, input: TaskInput) -> Result<TaskView, TaskError> {
        let now = now_naive();
        let task = TaskRow {
            id: Id::random(),
            owner_id: Id(owner),
            title: input.title.map(|t| t.as_str().to_owned()).unwrap_or_default(),
            description: input.description.map(|d| d.as_str().to_owned()).unwrap_or_default(),
            status_task: input.status.unwrap_or_default().as_str().to_owned(),
            date_created: now,
            last_updated: now,
        };
        let view = task.view();
        self.inserts.insert(task).await?;
        self.announce(owner, TaskChange::Created(view.clone())).await;
        Ok(view)
    }

    pub async fn find(&self, owner: Uuid, id: Uuid) -> Result<TaskView, TaskError> {
        let task = self.reads.find(TaskKey { owner, id }).await?;
        task.map(|t| t.view()).ok_or(TaskError::NotFound)
    }

    pub async fn list(
        &self,
        owner: Uuid,
        filter: TaskFilter,
        ordering: Ordering<TaskSort>,
        window: Window,
    ) -> Result<Listed<TaskView>, Failure> {
        let key = TaskPageKey { owner, filter, ordering, window };
        self.pages.read(key).await
    }

    pub async fn update(
        &self,
        owner: Uuid,
        id: Uuid,
        input: TaskInput,
    ) -> Result<TaskView, TaskError> {
        let changes = TaskChanges {
            title: input.title.map(|t| t.as_str().to_owned()),
            description: input.description.map(|d| d.as_str().to_owned()),
            status_task: input.status.map(|s| s.as_str().to_owned()),
            last_updated: now_naive(),
        };
        let task = {
            let mut conn = self.db.get().await?;
            if !tasks::update(&mut conn, owner, id, &changes).await? {
                return Err(TaskError::NotFound);
            }
            tasks::find(&mut conn, owner, id).await?.ok_or(TaskError::NotFound)?
        };
        let view = task.view();
        self.announce(owner, TaskChange::Updated(view.clone())).await;
        Ok(view)
    }

    /// Its assignments go with it.
    pub async fn delete(&self, owner: Uuid, id: Uuid) -> Result<(), TaskError> {
        {
            let mut conn = self.db.get().await?;
            if !tasks::delete(&mut conn, owner, id).await? {
                return Err(TaskError::NotFound);
            }
        }
        self.announce(owner, TaskChange::Deleted(id)).await;
        Ok(())
    }
}
