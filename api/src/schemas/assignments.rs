//! Assignment bodies (api.md §5).

use chrono::{DateTime, Utc};
use dispatch_core::assignments::AssignmentView;
use poem_openapi::Object;
use uuid::Uuid;

use super::{example_time, Date};

/// A task assigned to a user for one date.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Assignment {
    pub id: Uuid,
    pub task_id: Uuid,
    /// The assignee.
    pub user_id: Uuid,
    pub date: Date,
    pub created_at: DateTime<Utc>,
}

impl From<AssignmentView> for Assignment {
    fn from(v: AssignmentView) -> Self {
        Self {
            id: v.id,
            task_id: v.task_id,
            user_id: v.user_id,
            date: Date(v.date),
            created_at: v.created_at,
        }
    }
}

impl poem_openapi::types::Example for Assignment {
    fn example() -> Self {
        Self {
            id: Uuid::nil(),
            task_id: Uuid::nil(),
            user_id: Uuid::nil(),
            date: Date(example_time().date_naive()),
            created_at: example_time(),
        }
    }
}

/// Assign one of the caller's tasks to a user for a date.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct NewAssignment {
    pub task_id: Uuid,
    /// The assignee: an active user.
    pub user_id: Uuid,
    /// YYYY-MM-DD.
    pub date: Date,
}

impl poem_openapi::types::Example for NewAssignment {
    fn example() -> Self {
        Self { task_id: Uuid::nil(), user_id: Uuid::nil(), date: Date(example_time().date_naive()) }
    }
}
