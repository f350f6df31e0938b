use crate::db::id::Id;
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{Datetime, Integer, Nullable, Text, Unsigned};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::compound::Statement;
use crate::db::keep_prepared::keep_prepared;
use crate::db::schema::jobs::dsl;
use crate::jobs::{JobKind, JobStatus};
use crate::models::{ago, now_naive, JobRow, NewJob};
use crate::repo::listing::{counted_page, Window};
use crate::repo::point_reads::padded_groups;
use crate::repo::point_reads::{find_by_id, insert_row};
use diesel_async::AsyncMysqlConnection;

type Conn = AsyncMysqlConnection;

fn later(d: Duration) -> chrono::NaiveDateTime {
    now_naive() + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::seconds(30))
}

/// A queued job row; `request_id` ties it to the request that started it, if any.
pub fn new_job(
    kind: JobKind,
    owner: Option<Uuid>,
    payload: Option<String>,
    request_id: Option<String>,
) -> NewJob {
    let now = now_naive();
    NewJob {
        id: Id::random(),
        kind: kind.as_str().to_owned(),
        status: JobStatus::Queued.as_str().to_owned(),
        attempts: 0,
        owner_id: owner.map(Id),
        payload,
        created_at: now,
        updated_at: now,
        enqueued_at: now,
        request_id,
    }
}

pub async fn insert(conn: &mut Conn, job: &NewJob) -> QueryResult<()> {
    insert_row(conn, dsl::jobs, job).await
}

/// What must not exist for a job row to be stored (`insert_unless`).
#[derive(Debug, Clone, Copy)]
pub enum Unless<'a> {
    /// A user holds this username or this email: a registration's job.
    UserHolds { username: &'a str, email: &'a str },
}

/// Stores `job` unless what `unless` names exists, in one statement: whether it was stored.
/// The check reads the rows committed when the statement starts, as a read of its own
/// would, on a connection whose session reads committed rows (`SessionSettings::READ_COMMITTED`);
/// under `REPEATABLE READ` it would lock the index gaps it looked at until its commit, and
/// hold up the workers inserting users beside them.
pub async fn insert_unless(conn: &mut Conn, job: &NewJob, unless: Unless<'_>) -> QueryResult<bool> {
    let Unless::UserHolds { username, email } = unless;
    let stored = keep_prepared(
        diesel::sql_query(
            "INSERT INTO jobs (id, kind, status, attempts, owner_id, payload, created_at, \
             updated_at, enqueued_at, request_id) \
             SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM DUAL \
             WHERE NOT EXISTS (SELECT 1 FROM users WHERE username = ?) \
             AND NOT EXISTS (SELECT 1 FROM users WHERE email = ?)",
        )
        .bind::<Text, _>(&job.id)
        .bind::<Text, _>(&job.kind)
        .bind::<Text, _>(&job.status)
        .bind::<Unsigned<Integer>, _>(job.attempts)
        .bind::<Nullable<Text>, _>(job.owner_id.as_ref())
        .bind::<Nullable<Text>, _>(job.payload.as_deref())
        .bind::<Datetime, _>(job.created_at)
        .bind::<Datetime, _>(job.updated_at)
        .bind::<Datetime, _>(job.enqueued_at)
        .bind::<Nullable<Text>, _>(job.request_id.as_deref())
        .bind::<Text, _>(username)
        .bind::<Text, _>(email),
    )
    .execute(conn)
    .await?;
    Ok(stored == 1)
}

pub async fn find(conn: &mut Conn, id: Uuid) -> QueryResult<Option<JobRow>> {
    find_by_id(conn, dsl::jobs, id).await
}

pub async fn delete(conn: &mut Conn, id: Uuid) -> QueryResult<usize> {
    diesel::delete(dsl::jobs.find(id.to_string())).execute(conn).await
}

pub async fn list_for_owner(
    conn: &mut Conn,
    owner: Uuid,
    window: Window,
) -> QueryResult<(Vec<JobRow>, i64)> {
    let owned = || dsl::jobs.filter(dsl::owner_id.eq(owner.to_string())).into_boxed();
    let page = owned().order((dsl::created_at.desc(), dsl::id.desc())).select(JobRow::as_select());
    // One shape, whatever the request: kept prepared.
    counted_page(conn, owned().count(), page, window, true).await
}

/// The rows of these jobs, each locked until the caller's transaction ends, in no particular
/// order. A job whose row is gone, or held by another transaction, is left out: that one is
/// running or moving the job, and decides it. Eight ids to a statement, so it stays prepared;
/// one id alone is looked up by its key, which MariaDB plans as a single row where eight
/// alternatives cost it a range analysis.
pub async fn lock_for_run(conn: &mut Conn, ids: &[String]) -> QueryResult<Vec<JobRow>> {
    if let [id] = ids {
        return dsl::jobs
            .find(id)
            .select(JobRow::as_select())
            .for_update()
            .skip_locked()
            .load(conn)
            .await;
    }
    let mut rows = Vec::with_capacity(ids.len());
    for group in padded_groups(ids) {
        let locked: Vec<JobRow> = dsl::jobs
            .filter(crate::column_is_one_of!(dsl::id, group))
            .select(JobRow::as_select())
            .for_update()
            .skip_locked()
            .load(conn)
            .await?;
        rows.extend(locked);
    }
    Ok(rows)
}

/// Takes the job for one run: only a queued job, or a running one whose holder stopped
/// renewing its lease, can be claimed, so two deliveries of one id never run at once.
pub async fn claim(conn: &mut Conn, id: Uuid, lease: Duration) -> QueryResult<bool> {
    let now = now_naive();
    let claimable = dsl::status
        .eq(JobStatus::Queued.as_str())
        .or(dsl::status.eq(JobStatus::Running.as_str()).and(dsl::lease_until.lt(now)));
    let updated =
        keep_prepared(diesel::update(dsl::jobs.find(id.to_string()).filter(claimable)).set((
            dsl::status.eq(JobStatus::Running.as_str()),
            dsl::attempts.eq(dsl::attempts + 1),
            dsl::lease_until.eq(later(lease)),
            dsl::updated_at.eq(now),
        )))
        .execute(conn)
        .await?;
    Ok(updated == 1)
}

pub async fn renew_lease(conn: &mut Conn, id: Uuid, lease: Duration) -> QueryResult<()> {
    keep_prepared(
        diesel::update(
            dsl::jobs.find(id.to_string()).filter(dsl::status.eq(JobStatus::Running.as_str())),
        )
        .set(dsl::lease_until.eq(later(lease))),
    )
    .execute(conn)
    .await
    .map(|_| ())
}

/// Records a finished job: `row` is the job as `JobRow::succeeded` or `JobRow::failed` left
/// it, so what is written and what is then published are one value. `false` when the row is
/// gone (acknowledged and deleted meanwhile).
pub async fn finish(conn: &mut Conn, row: &JobRow) -> QueryResult<bool> {
    finishing(vec![row.clone()]).execute(conn).await.map(|updated| updated == 1)
}

/// The statement that writes these finished rows back, unsent (a part of a
/// `db::compound::Compound`). One row is an `UPDATE`; several are one upsert on rows the
/// caller's transaction holds locked, so every row exists and only the outcome's columns
/// change. Each row count is its own prepared statement; callers keep batches small.
pub fn finishing(mut rows: Vec<JobRow>) -> Statement<'static> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Longtext, Varchar};
    if rows.len() == 1 {
        let row = rows.swap_remove(0);
        return Statement::new(keep_prepared(diesel::update(dsl::jobs.find(row.id)).set((
            dsl::status.eq(row.status),
            dsl::attempts.eq(row.attempts),
            dsl::result.eq(row.result),
            dsl::error.eq(row.error),
            dsl::error_code.eq(row.error_code),
            dsl::payload.eq(row.payload),
            dsl::lease_until.eq(row.lease_until),
            dsl::updated_at.eq(row.updated_at),
            dsl::finished_at.eq(row.finished_at),
        ))));
    }
    let upsert = diesel::insert_into(dsl::jobs)
        .values(rows)
        .on_conflict(diesel::dsl::DuplicatedKeys)
        .do_update()
        .set((
            dsl::status.eq(sql::<Varchar>("VALUES(`status`)")),
            dsl::attempts.eq(sql::<Unsigned<Integer>>("VALUES(`attempts`)")),
            dsl::result.eq(sql::<Nullable<Longtext>>("VALUES(`result`)")),
            dsl::error.eq(sql::<Nullable<Text>>("VALUES(`error`)")),
            dsl::error_code.eq(sql::<Nullable<Varchar>>("VALUES(`error_code`)")),
            dsl::payload.eq(sql::<Nullable<Longtext>>("VALUES(`payload`)")),
            dsl::lease_until.eq(sql::<Nullable<Datetime>>("VALUES(`lease_until`)")),
            dsl::updated_at.eq(sql::<Datetime>("VALUES(`updated_at`)")),
            dsl::finished_at.eq(sql::<Nullable<Datetime>>("VALUES(`finished_at`)")),
        ));
    Statement::new(keep_prepared(upsert))
}

/// Back to `queued` between attempts, with the last error visible to pollers.
pub async fn release_for_retry(conn: &mut Conn, id: Uuid, error: &str) -> QueryResult<()> {
    let now = now_naive();
    keep_prepared(diesel::update(dsl::jobs.find(id.to_string())).set((
        dsl::status.eq(JobStatus::Queued.as_str()),
        dsl::error.eq(Some(error)),
        dsl::lease_until.eq(None::<chrono::NaiveDateTime>),
        dsl::updated_at.eq(now),
        dsl::enqueued_at.eq(now),
    )))
    .execute(conn)
    .await
    .map(|_| ())
}

/// Running jobs whose holder stopped renewing the lease (its worker died) go back to
/// `queued`, due for an immediate re-push. Returns how many.
pub async fn release_abandoned(conn: &mut Conn, queued_for: Duration) -> QueryResult<usize> {
    let now = now_naive();
    diesel::update(
        dsl::jobs
            .filter(dsl::status.eq(JobStatus::Running.as_str()))
            .filter(dsl::lease_until.lt(now)),
    )
    .set((
        dsl::status.eq(JobStatus::Queued.as_str()),
        dsl::lease_until.eq(None::<chrono::NaiveDateTime>),
        dsl::updated_at.eq(now),
        dsl::enqueued_at.eq(ago(queued_for + Duration::from_secs(1))),
    ))
    .execute(conn)
    .await
}

/// Queued jobs whose Redis message may be gone: enqueued longer than `queued_for` ago.
pub async fn due_for_requeue(
    conn: &mut Conn,
    queued_for: Duration,
    limit: i64,
) -> QueryResult<Vec<(String, String)>> {
    dsl::jobs
        .filter(dsl::status.eq(JobStatus::Queued.as_str()))
        .filter(dsl::enqueued_at.lt(ago(queued_for)))
        .order(dsl::enqueued_at.asc())
        .limit(limit)
        .select((dsl::id, dsl::kind))
        .load(conn)
        .await
}

/// Records a re-push so the next reconciler pass waits another grace period for it.
pub async fn mark_requeued(conn: &mut Conn, ids: &[String]) -> QueryResult<()> {
    diesel::update(
        dsl::jobs.filter(dsl::id.eq_any(ids)).filter(dsl::status.eq(JobStatus::Queued.as_str())),
    )
    .set(dsl::enqueued_at.eq(now_naive()))
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn purge_finished(
    conn: &mut Conn,
    older_than: Duration,
    limit: i64,
) -> QueryResult<usize> {
    let cutoff = ago(older_than);
    let ids: Vec<String> = dsl::jobs
        .filter(dsl::finished_at.lt(cutoff))
        .limit(limit)
        .select(dsl::id)
        .load(conn)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::delete(dsl::jobs.filter(dsl::id.eq_any(&ids))).execute(conn).await
}
