//! Task bodies.

use chrono::{DateTime, Utc};
use dispatch_core::tasks::TaskView;
use dispatch_shared::domain::TaskStatus;
use dispatch_shared::events::TaskChange;
use poem_openapi::types::ToJSON;
use poem_openapi::{Enum, Object};
use uuid::Uuid;

use super::{example_time, NonBlank};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum TaskStatusValue {
    #[oai(rename = "TO DO")]
    ToDo,
    #[oai(rename = "IN PROGRESS")]
    InProgress,
    #[oai(rename = "DONE")]
    Done,
}

impl From<TaskStatusValue> for TaskStatus {
    fn from(v: TaskStatusValue) -> Self {
        match v {
            TaskStatusValue::ToDo => TaskStatus::ToDo,
            TaskStatusValue::InProgress => TaskStatus::InProgress,
            TaskStatusValue::Done => TaskStatus::Done,
        }
    }
}

impl TaskStatusValue {
    fn from_stored(raw: &str) -> Self {
        match TaskStatus::parse(raw) {
            Ok(TaskStatus::InProgress) => TaskStatusValue::InProgress,
            Ok(TaskStatus::Done) => TaskStatusValue::Done,
            _ => TaskStatusValue::ToDo,
        }
    }
}

/// A task of the caller's.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Task {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub status_task: TaskStatusValue,
    pub date_created: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
}

impl From<TaskView> for Task {
    fn from(v: TaskView) -> Self {
        Self {
            id: v.id,
            status_task: TaskStatusValue::from_stored(&v.status_task),
            title: v.title,
            description: v.description,
            date_created: v.date_created,
            last_updated: v.last_updated,
        }
    }
}

/// A task stream's message for a change: the task plus `action` (`task_create`,
/// `task_update`), or `{"id", "action": "task_delete"}`.
pub fn task_stream_message(change: &TaskChange) -> String {
    let (mut body, action) = match change {
        TaskChange::Created(view) => (Task::from(view.clone()).to_json(), "task_create"),
        TaskChange::Updated(view) => (Task::from(view.clone()).to_json(), "task_update"),
        TaskChange::Deleted(id) => (Some(serde_json::json!({"id": id})), "task_delete"),
    };
    if let Some(object) = body.as_mut().and_then(|b| b.as_object_mut()) {
        object.insert("action".into(), action.into());
    }
    body.unwrap_or_default().to_string()
}

impl poem_openapi::types::Example for Task {
    fn example() -> Self {
        Self {
            id: Uuid::nil(),
            title: "Complete Backend Assessment".into(),
            description: "Write and submit the project proposal".into(),
            status_task: TaskStatusValue::ToDo,
            date_created: example_time(),
            last_updated: example_time(),
        }
    }
}

/// A new task, or every field of one (PUT).
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct NewTask {
    /// 1–100 characters; surrounding blanks are trimmed and a blank title is refused.
    pub title: NonBlank<100>,
    /// At most 10 000 characters (default empty).
    #[oai(nullable, validator(max_length = 10000))]
    pub description: Option<String>,
    /// Default `TO DO`.
    #[oai(nullable)]
    pub status_task: Option<TaskStatusValue>,
}

impl poem_openapi::types::Example for NewTask {
    fn example() -> Self {
        Self {
            title: "Complete Backend Assessment".into(),
            description: Some("Write and submit the project proposal".into()),
            status_task: Some(TaskStatusValue::ToDo),
        }
    }
}

/// Some fields of a task (PATCH); omitted fields keep their value.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct TaskPatch {
    /// 1–100 characters; surrounding blanks are trimmed and a blank title is refused.
    #[oai(nullable)]
    pub title: Option<NonBlank<100>>,
    /// At most 10 000 characters.
    #[oai(nullable, validator(max_length = 10000))]
    pub description: Option<String>,
    #[oai(nullable)]
    pub status_task: Option<TaskStatusValue>,
}

impl poem_openapi::types::Example for TaskPatch {
    fn example() -> Self {
        Self { title: None, description: None, status_task: Some(TaskStatusValue::Done) }
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::registry::{MetaSchemaRef, Registry};
    use poem_openapi::types::Type;

    use super::*;

    #[test]
    fn title_schema_pattern_is_the_domain_pattern() {
        let mut registry = Registry::new();
        NewTask::register(&mut registry);
        let schema = &registry.schemas["NewTask"];
        let (_, title) =
            schema.properties.iter().find(|(name, _)| *name == "title").expect("a title property");
        let MetaSchemaRef::Inline(title) = title else {
            panic!("title is inline");
        };
        assert_eq!(title.pattern.as_deref(), Some(dispatch_shared::domain::TITLE_PATTERN));
    }
}
