//! A user's tasks. Every query is scoped by owner: another user's task does not exist here.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncMysqlConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::keep_prepared::{keep_prepared, keep_prepared_if};
use crate::db::schema::tasks::{self, dsl};
use crate::domain::{Ordering, TaskStatus};
use crate::load_by_ids;
use crate::models::TaskRow;
use crate::repo::listing::{contains_pattern, given, usual_shape, Window};
use crate::{apply_ordering, sort_fields};

type Conn = AsyncMysqlConnection;

sort_fields! {
    pub enum TaskSort {
        DateCreated = "date_created", LastUpdated = "last_updated",
        Title = "title",
    }
    default [desc DateCreated]
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TaskFilter {
    pub status: Option<TaskStatus>,
    /// Case-insensitive substring of the title or the description.
    pub search: Option<String>,
}

fn filtered<'a>(
    owner: &'a str,
    filter: &'a TaskFilter,
) -> tasks::BoxedQuery<'a, diesel::mysql::Mysql> {
    let mut query = dsl::tasks.filter(dsl::owner_id.eq(owner)).into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(dsl::status_task.eq(status.as_str()));
    }
    if let Some(text) = filter.search.as_deref() {
        let pattern = contains_pattern(text);
        query = query.filter(dsl::title.like(pattern.clone()).or(dsl::description.like(pattern)));
    }
    query
}

/// One page of the owner's tasks and the number across all pages, in one statement: the
/// count is an uncorrelated subquery, which MariaDB runs once. Only a page past the end
/// (no rows to carry the count) costs a second statement.
pub async fn list(
    conn: &mut Conn,
    owner: Uuid,
    filter: &TaskFilter,
    ordering: &Ordering<TaskSort>,
    window: Window,
) -> QueryResult<(Vec<TaskRow>, i64)> {
    let owner = owner.to_string();
    let total = filtered(&owner, filter).count().single_value();
    let query = filtered(&owner, filter).select((TaskRow::as_select(), total));
    let page = apply_ordering!(query, ordering, dsl::id, {
        TaskSort::DateCreated => dsl::date_created,
        TaskSort::LastUpdated => dsl::last_updated,
        TaskSort::Title => dsl::title,
    })
    .offset(window.offset)
    .limit(window.limit);
    let usual = usual_shape(ordering, given(&[filter.status.is_some(), filter.search.is_some()]));
    let page: Vec<(TaskRow, Option<i64>)> = keep_prepared_if(usual, page).load(conn).await?;
    let count = match page.as_slice().first() {
        Some((_, count)) => count.unwrap_or_default(),
        None if window.offset == 0 => 0,
        None => keep_prepared_if(usual, filtered(&owner, filter).count()).get_result(conn).await?,
    };
    Ok((page.into_iter().map(|(row, _)| row).collect(), count))
}

pub async fn find(conn: &mut Conn, owner: Uuid, id: Uuid) -> QueryResult<Option<TaskRow>> {
    dsl::tasks
        .find(id.to_string())
        .filter(dsl::owner_id.eq(owner.to_string()))
        .select(TaskRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The tasks with these ids, whoever owns them, in no particular order: the reads of several
/// requests at once (the API's `TaskReads` scopes each to its owner).
pub async fn find_many(conn: &mut Conn, ids: &[String]) -> QueryResult<Vec<TaskRow>> {
    if let [id] = ids {
        return find_by_id(conn, id).await.map(|row| row.into_iter().collect());
    }
    load_by_ids!(conn, ids, dsl::tasks, dsl::id, TaskRow)
}

async fn find_by_id(conn: &mut Conn, id: &str) -> QueryResult<Option<TaskRow>> {
    dsl::tasks.find(id).select(TaskRow::as_select()).first(conn).await.optional()
}

/// The task whoever owns it (for assignments, where an admin may act on any task).
pub async fn find_any(conn: &mut Conn, id: Uuid) -> QueryResult<Option<TaskRow>> {
    find_by_id(conn, &id.to_string()).await
}

/// The most tasks `insert_many` takes: each row count is its own prepared statement.
pub const MAX_INSERT_BATCH: usize = 16;

/// Several tasks in one statement, so one commit; at most `MAX_INSERT_BATCH`. Each row's
/// trigger locks its owner's list version until the commit, so the rows go in owner order:
/// two batches for the same owners then lock them in the same order and cannot deadlock.
pub async fn insert_many(conn: &mut Conn, tasks: &[TaskRow]) -> QueryResult<()> {
    debug_assert!(tasks.len() <= MAX_INSERT_BATCH);
    let mut in_owner_order: Vec<&TaskRow> = tasks.iter().collect();
    in_owner_order.sort_by_key(|t| t.owner_id.0);
    keep_prepared(diesel::insert_into(dsl::tasks).values(in_owner_order))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The columns an update sets; `None` leaves a column as it is.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = tasks)]
pub struct TaskChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub status_task: Option<String>,
    pub last_updated: NaiveDateTime,
}

/// Applies `changes` to the owner's task; false when there is no such task.
pub async fn update(
    conn: &mut Conn,
    owner: Uuid,
    id: Uuid,
    changes: &TaskChanges,
) -> QueryResult<bool> {
    // At most eight shapes: each of the three optional columns set or left.
    let updated = keep_prepared(
        diesel::update(dsl::tasks.find(id.to_string()).filter(dsl::owner_id.eq(owner.to_string())))
            .set(changes),
    )
    .execute(conn)
    .await?;
    Ok(updated > 0)
}

/// Deletes the owner's task (its assignments go with it); false when there was none.
pub async fn delete(conn: &mut Conn, owner: Uuid, id: Uuid) -> QueryResult<bool> {
    let deleted =
        diesel::delete(dsl::tasks.find(id.to_string()).filter(dsl::owner_id.eq(owner.to_string())))
            .execute(conn)
            .await?;
    Ok(deleted > 0)
}
