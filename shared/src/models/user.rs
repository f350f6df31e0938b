use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::id::Id;
use crate::db::schema::users;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::mysql::Mysql))]
pub struct UserRow {
    pub id: Id,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub password_hash: String,
    pub is_active: bool,
    pub is_superuser: bool,
    pub daily_task_limit: Option<u32>,
    pub token_version: u32,
    pub date_joined: NaiveDateTime,
    pub last_updated: NaiveDateTime,
    pub last_login: Option<NaiveDateTime>,
    pub welcome_mail_sent_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
// A `None` is bound as NULL rather than written `DEFAULT`, so a multi-row insert has one SQL
// text whatever its rows hold (it stays prepared).
#[diesel(treat_none_as_default_value = false)]
pub struct NewUser {
    pub id: Id,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub password_hash: String,
    pub is_active: bool,
    pub is_superuser: bool,
    pub date_joined: NaiveDateTime,
    pub last_updated: NaiveDateTime,
    /// Set when the registration signs the user in.
    pub last_login: Option<NaiveDateTime>,
}

impl NewUser {
    /// The row its insert leaves: the other columns take their defaults.
    pub fn into_stored(self) -> UserRow {
        UserRow {
            id: self.id,
            username: self.username,
            email: self.email,
            first_name: self.first_name,
            last_name: self.last_name,
            password_hash: self.password_hash,
            is_active: self.is_active,
            is_superuser: self.is_superuser,
            daily_task_limit: None,
            token_version: 0,
            date_joined: self.date_joined,
            last_updated: self.last_updated,
            last_login: self.last_login,
            welcome_mail_sent_at: None,
        }
    }
}

/// The public shape of a user (api.md §3).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserView {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub username: String,
    pub email: String,
    pub date_joined: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
    pub last_login: Option<DateTime<Utc>>,
    pub is_active: bool,
    pub is_superuser: bool,
    pub daily_task_limit: u32,
}

impl UserRow {
    pub fn uuid(&self) -> Uuid {
        self.id.0
    }

    pub fn view(&self, default_daily_task_limit: u32) -> UserView {
        UserView {
            id: self.uuid(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            username: self.username.clone(),
            email: self.email.clone(),
            date_joined: super::utc(self.date_joined),
            last_updated: super::utc(self.last_updated),
            last_login: self.last_login.map(super::utc),
            is_active: self.is_active,
            is_superuser: self.is_superuser,
            daily_task_limit: self.daily_task_limit.unwrap_or(default_daily_task_limit),
        }
    }
}
