use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::id::Id;
use crate::db::schema::{assignments, tasks};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = tasks)]
#[diesel(check_for_backend(diesel::mysql::Mysql))]
pub struct TaskRow {
    pub id: Id,
    pub owner_id: Id,
    pub title: String,
    pub description: String,
    pub status_task: String,
    pub date_created: NaiveDateTime,
    pub last_updated: NaiveDateTime,
}

/// The public shape of a task (api.md §4); the owner is implied by who asks.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskView {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub status_task: String,
    pub date_created: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
}

impl TaskRow {
    pub fn owner(&self) -> Uuid {
        self.owner_id.0
    }

    pub fn view(&self) -> TaskView {
        TaskView {
            id: self.id.0,
            title: self.title.clone(),
            description: self.description.clone(),
            status_task: self.status_task.clone(),
            date_created: super::utc(self.date_created),
            last_updated: super::utc(self.last_updated),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = assignments)]
#[diesel(check_for_backend(diesel::mysql::Mysql))]
pub struct AssignmentRow {
    pub id: Id,
    pub task_id: Id,
    pub user_id: Id,
    pub date: NaiveDate,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AssignmentView {
    pub id: Uuid,
    pub task_id: Uuid,
    pub user_id: Uuid,
    pub date: NaiveDate,
    pub created_at: DateTime<Utc>,
}

impl AssignmentRow {
    pub fn view(&self) -> AssignmentView {
        AssignmentView {
            id: self.id.0,
            task_id: self.task_id.0,
            user_id: self.user_id.0,
            date: self.date,
            created_at: super::utc(self.created_at),
        }
    }
}
