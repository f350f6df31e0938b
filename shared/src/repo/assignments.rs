//! Assignments of tasks to users per date, with the per-assignee daily limit enforced while
//! holding that assignee's lock row for the date (`assignment_days`).

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Char, Date, Nullable};
use diesel_async::{AsyncConnection, AsyncMysqlConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::id::Id;
use crate::db::is_deadlock;
use crate::db::schema::{assignments, tasks, users};
use crate::domain::Ordering;
use crate::models::AssignmentRow;
use crate::repo::listing::{counted_page, given, usual_shape, Window};
use crate::repo::point_reads::find_by_id;
use crate::{apply_ordering, sort_fields};

type Conn = AsyncMysqlConnection;

sort_fields! {
    pub enum AssignmentSort { Date = "date", CreatedAt = "created_at" }
    default [desc Date, desc CreatedAt]
}

#[derive(Debug)]
pub enum AssignOutcome {
    Created,
    /// No such user, or the user is deactivated.
    AssigneeUnavailable,
    /// The same task is already assigned to the user on that date.
    Duplicate,
    /// The assignee already has `limit` assignments on that date.
    LimitReached {
        limit: u32,
    },
}

#[derive(QueryableByName)]
struct DayLoad {
    #[diesel(sql_type = BigInt)]
    assigned: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    same_task: Option<i64>,
}

/// Inserts `new` unless the assignee is unavailable, the assignment exists, or the
/// assignee's limit for the date is reached. `default_limit` applies to users without one.
pub async fn assign(
    conn: &mut Conn,
    new: &AssignmentRow,
    default_limit: u32,
) -> QueryResult<AssignOutcome> {
    // InnoDB may still pick a deadlock victim when many transactions create the same lock
    // row at once; the victim simply tries again.
    let mut attempts = 0;
    loop {
        attempts += 1;
        match try_assign(conn, new, default_limit).await {
            Err(e) if is_deadlock(&e) && attempts < 5 => continue,
            other => return other,
        }
    }
}

async fn try_assign(
    conn: &mut Conn,
    new: &AssignmentRow,
    default_limit: u32,
) -> QueryResult<AssignOutcome> {
    // Each count must see what earlier holders of the lock committed, not a snapshot taken
    // before the lock was granted.
    diesel::sql_query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED").execute(conn).await?;
    conn.transaction(async |conn| {
        let assignee: Option<(bool, Option<u32>)> = users::table
            .find(&new.user_id)
            .select((users::is_active, users::daily_task_limit))
            .first(conn)
            .await
            .optional()?;
        let limit = match assignee {
            Some((true, limit)) => limit.unwrap_or(default_limit),
            _ => return Ok(AssignOutcome::AssigneeUnavailable),
        };
        // An exclusive lock on (user, date), created on first use; held until commit.
        diesel::sql_query(
            "INSERT INTO assignment_days (user_id, date) VALUES (?, ?) \
             ON DUPLICATE KEY UPDATE user_id = VALUES(user_id)",
        )
        .bind::<Char, _>(&new.user_id)
        .bind::<Date, _>(new.date)
        .execute(conn)
        .await?;
        let load: DayLoad = diesel::sql_query(
            "SELECT COUNT(*) AS assigned, SUM(task_id = ?) AS same_task \
             FROM assignments WHERE user_id = ? AND date = ?",
        )
        .bind::<Char, _>(&new.task_id)
        .bind::<Char, _>(&new.user_id)
        .bind::<Date, _>(new.date)
        .get_result(conn)
        .await?;
        if load.same_task.unwrap_or(0) > 0 {
            return Ok(AssignOutcome::Duplicate);
        }
        if load.assigned >= i64::from(limit) {
            return Ok(AssignOutcome::LimitReached { limit });
        }
        diesel::insert_into(assignments::table).values(new).execute(conn).await?;
        Ok(AssignOutcome::Created)
    })
    .await
}

/// Which assignments a caller may see: all (admins), or those they are assigned or whose
/// task they own.
#[derive(Debug, Clone, Copy)]
pub enum Visibility {
    All,
    InvolvedUser(Uuid),
}

#[derive(Debug, Clone, Default)]
pub struct AssignmentFilter {
    pub user_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
    pub date: Option<NaiveDate>,
}

type Boxed<'a> = diesel::internal::table_macro::BoxedSelectStatement<
    'a,
    diesel::dsl::AsSelect<AssignmentRow, diesel::mysql::Mysql>,
    diesel::internal::table_macro::FromClause<
        diesel::dsl::InnerJoinQuerySource<assignments::table, tasks::table>,
    >,
    diesel::mysql::Mysql,
>;

fn filtered(visibility: Visibility, filter: &AssignmentFilter) -> Boxed<'static> {
    let mut query =
        assignments::table.inner_join(tasks::table).select(AssignmentRow::as_select()).into_boxed();
    if let Visibility::InvolvedUser(me) = visibility {
        let me = me.to_string();
        query = query.filter(assignments::user_id.eq(me.clone()).or(tasks::owner_id.eq(me)));
    }
    if let Some(user) = filter.user_id {
        query = query.filter(assignments::user_id.eq(user.to_string()));
    }
    if let Some(task) = filter.task_id {
        query = query.filter(assignments::task_id.eq(task.to_string()));
    }
    if let Some(date) = filter.date {
        query = query.filter(assignments::date.eq(date));
    }
    query
}

pub async fn list(
    conn: &mut Conn,
    visibility: Visibility,
    filter: &AssignmentFilter,
    ordering: &Ordering<AssignmentSort>,
    window: Window,
) -> QueryResult<(Vec<AssignmentRow>, i64)> {
    let page = apply_ordering!(filtered(visibility, filter), ordering, assignments::id, {
        AssignmentSort::Date => assignments::date,
        AssignmentSort::CreatedAt => assignments::created_at,
    });
    let filters = [filter.user_id.is_some(), filter.task_id.is_some(), filter.date.is_some()];
    let usual = usual_shape(ordering, given(&filters));
    let count = filtered(visibility, filter).select(diesel::dsl::count_star());
    counted_page(conn, count, page, window, usual).await
}

pub async fn find(conn: &mut Conn, id: Uuid) -> QueryResult<Option<AssignmentRow>> {
    find_by_id(conn, assignments::table, id).await
}

/// The assignment with the owner of its task.
pub async fn find_with_task_owner(
    conn: &mut Conn,
    id: Uuid,
) -> QueryResult<Option<(AssignmentRow, Id)>> {
    assignments::table
        .inner_join(tasks::table)
        .filter(assignments::id.eq(id.to_string()))
        .select((AssignmentRow::as_select(), tasks::owner_id))
        .first(conn)
        .await
        .optional()
}

/// A hard delete: the slot it held on its date is free at once.
pub async fn delete(conn: &mut Conn, id: Uuid) -> QueryResult<bool> {
    let deleted = diesel::delete(assignments::table.find(id.to_string())).execute(conn).await?;
    Ok(deleted > 0)
}
