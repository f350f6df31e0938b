//! Users as the admin dashboard sees them: all of them, searchable and sortable, and the
//! changes only an admin makes, never leaving the system without an active admin.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncMysqlConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::users::{self, dsl};
use crate::domain::Ordering;
use crate::models::{now_naive, UserRow};
use crate::repo::listing::{contains_pattern, counted_page, given, usual_shape, Window};
use crate::{apply_ordering, sort_fields};

type Conn = AsyncMysqlConnection;

diesel::define_sql_function! {
    /// SQL `LOWER`: names keep their case in a binary collation.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

sort_fields! {
    pub enum UserSort {
        Username = "username", Email = "email", FirstName = "first_name", LastName = "last_name",
        DateJoined = "date_joined", LastLogin = "last_login", IsActive = "is_active",
    }
    default [asc Username]
}

fn filtered(search: Option<&str>) -> users::BoxedQuery<'static, diesel::mysql::Mysql> {
    let mut query = dsl::users.into_boxed();
    if let Some(text) = search {
        let pattern = contains_pattern(&text.to_lowercase());
        query = query.filter(
            dsl::username
                .like(pattern.clone())
                .or(dsl::email.like(pattern.clone()))
                .or(lower(dsl::first_name).like(pattern.clone()))
                .or(lower(dsl::last_name).like(pattern)),
        );
    }
    query
}

/// One page of users matching `search` (username, email or names, any case) and the count.
pub async fn list(
    conn: &mut Conn,
    search: Option<&str>,
    ordering: &Ordering<UserSort>,
    window: Window,
) -> QueryResult<(Vec<UserRow>, i64)> {
    let query = filtered(search).select(UserRow::as_select());
    let page = apply_ordering!(query, ordering, dsl::id, {
        UserSort::Username => dsl::username,
        UserSort::Email => dsl::email,
        UserSort::FirstName => dsl::first_name,
        UserSort::LastName => dsl::last_name,
        UserSort::DateJoined => dsl::date_joined,
        UserSort::LastLogin => dsl::last_login,
        UserSort::IsActive => dsl::is_active,
    });
    let usual = usual_shape(ordering, given(&[search.is_some()]));
    counted_page(conn, filtered(search).count(), page, window, usual).await
}

/// What an admin may change; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct AdminChanges {
    pub is_active: Option<bool>,
    pub is_superuser: Option<bool>,
    pub daily_task_limit: Option<u32>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub last_updated: Option<chrono::NaiveDateTime>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Guarded {
    Done,
    NotFound,
    /// The change would leave no active admin.
    LastAdmin,
}

enum Change {
    Update(AdminChanges),
    Delete,
}

impl Change {
    /// Whether the change takes its user out of the active admins.
    fn removes_admin(&self) -> bool {
        match self {
            Change::Update(c) => c.is_active == Some(false) || c.is_superuser == Some(false),
            Change::Delete => true,
        }
    }
}

/// Applies `change` to user `id` unless it would remove the last active admin. The active
/// admins' rows are locked first, so two such changes at once cannot each leave the other as
/// the last one.
async fn guarded(conn: &mut Conn, id: Uuid, change: Change) -> QueryResult<Guarded> {
    let key = id.to_string();
    conn.transaction(async move |conn| {
        let admins: Vec<String> = dsl::users
            .filter(dsl::is_superuser.eq(true).and(dsl::is_active.eq(true)))
            .select(dsl::id)
            .for_update()
            .load(conn)
            .await?;
        if change.removes_admin() && admins.contains(&key) && admins.len() <= 1 {
            return Ok(Guarded::LastAdmin);
        }
        let changed = match &change {
            Change::Update(changes) => {
                diesel::update(dsl::users.find(&key)).set(changes).execute(conn).await?
            }
            Change::Delete => crate::repo::users::delete(conn, id).await?,
        };
        Ok(if changed > 0 { Guarded::Done } else { Guarded::NotFound })
    })
    .await
}

pub async fn update(conn: &mut Conn, id: Uuid, mut changes: AdminChanges) -> QueryResult<Guarded> {
    changes.last_updated = Some(now_naive());
    guarded(conn, id, Change::Update(changes)).await
}

/// Deletes the user (their tokens, tasks and assignments go with them), keeping an admin.
pub async fn delete(conn: &mut Conn, id: Uuid) -> QueryResult<Guarded> {
    guarded(conn, id, Change::Delete).await
}
