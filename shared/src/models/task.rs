use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::schema::{assignments, tasks};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = tasks)]
#[diesel(check_for_backend(diesel::mysql::Mysql))]
pub struct TaskRow {
    pub id: String,
    pub owner_id: String,
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
        super::stored_id(&self.owner_id)
    }

    pub fn view(&self) -> TaskView {
        TaskView {
            id: super::stored_id(&self.id),
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
    pub id: String,
    pub task_id: String,
    pub user_id: String,
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
        let uuid = super::stored_id;
        AssignmentView {
            id: uuid(&self.id),
            task_id: uuid(&self.task_id),
            user_id: uuid(&self.user_id),
            date: self.date,
            created_at: super::utc(self.created_at),
        }
    }
}
