//! What operators read and do with job rows: per-kind counts, every job filtered and
//! ordered, and a failed job put back in the queue.

use diesel::prelude::*;
use diesel_async::{AsyncMysqlConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::jobs::{self, dsl};
use crate::domain::Ordering;
use crate::jobs::{JobKind, JobStatus};
use crate::models::{ago, now_naive, JobRow};
use crate::repo::listing::{counted_page, given, usual_shape, Window};
use crate::{apply_ordering, sort_fields};

type Conn = AsyncMysqlConnection;

/// How far back `failed_last_24h` and `succeeded_last_24h` look.
pub const RECENT: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

sort_fields! {
    pub enum JobSort {
        CreatedAt = "created_at", UpdatedAt = "updated_at",
        FinishedAt = "finished_at",
    }
    default [desc CreatedAt]
}

#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    pub kind: Option<JobKind>,
    pub owner: Option<Uuid>,
}

/// One kind's counts, from the job rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindCounts {
    pub waiting: Waiting,
    pub failed_recently: i64,
    pub succeeded_recently: i64,
}

/// Jobs waiting (queued or running) per kind, with the oldest queued job's enqueue time: one
/// range of the `(status, kind, enqueued_at)` index, so it reads only the waiting rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub kind: JobKind,
    pub queued: i64,
    pub running: i64,
    pub oldest_queued: Option<chrono::NaiveDateTime>,
}

pub async fn waiting_by_kind(conn: &mut Conn) -> QueryResult<Vec<Waiting>> {
    let rows: Vec<(String, String, i64, Option<chrono::NaiveDateTime>)> = dsl::jobs
        .filter(dsl::status.eq_any([JobStatus::Queued.as_str(), JobStatus::Running.as_str()]))
        .group_by((dsl::status, dsl::kind))
        .select((
            dsl::status,
            dsl::kind,
            diesel::dsl::count_star(),
            diesel::dsl::min(dsl::enqueued_at),
        ))
        .load(conn)
        .await?;
    let find = |status: JobStatus, kind: JobKind| {
        rows.iter().find(|(s, k, _, _)| s == status.as_str() && k == kind.as_str())
    };
    Ok(JobKind::ALL
        .into_iter()
        .map(|kind| Waiting {
            kind,
            queued: find(JobStatus::Queued, kind).map_or(0, |r| r.2),
            running: find(JobStatus::Running, kind).map_or(0, |r| r.2),
            oldest_queued: find(JobStatus::Queued, kind).and_then(|r| r.3),
        })
        .collect())
}

/// The waiting counts and, per kind, the jobs that failed and succeeded since `RECENT`,
/// summed from `job_finish_minutes` (kept by triggers on `jobs`): at most 1,440 minute rows
/// per kind, status and shard, whatever a day's volume. The period is counted in whole
/// minutes, from the start of the minute `RECENT` ago.
pub async fn counts_by_kind(conn: &mut Conn) -> QueryResult<Vec<KindCounts>> {
    #[derive(diesel::QueryableByName)]
    struct Finished {
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        kind: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        jobs: i64,
    }
    let waiting = waiting_by_kind(conn).await?;
    let finished: Vec<Finished> = diesel::sql_query(
        "SELECT status, kind, CAST(SUM(jobs) AS SIGNED) AS jobs \
         FROM job_finish_minutes WHERE minute >= ? GROUP BY status, kind",
    )
    .bind::<diesel::sql_types::Datetime, _>(minute_start(ago(RECENT)))
    .load(conn)
    .await?;
    let count = |status: JobStatus, kind: JobKind| {
        finished
            .iter()
            .find(|row| row.status == status.as_str() && row.kind == kind.as_str())
            .map_or(0, |row| row.jobs)
    };
    Ok(waiting
        .into_iter()
        .map(|waiting| KindCounts {
            failed_recently: count(JobStatus::Failed, waiting.kind),
            succeeded_recently: count(JobStatus::Succeeded, waiting.kind),
            waiting,
        })
        .collect())
}

fn minute_start(at: chrono::NaiveDateTime) -> chrono::NaiveDateTime {
    use chrono::Timelike;
    at.with_second(0).and_then(|at| at.with_nanosecond(0)).unwrap_or(at)
}

/// Minute counts older than anything read from them go; `RECENT` plus an hour of slack.
pub async fn forget_finished_minutes(conn: &mut Conn) -> QueryResult<usize> {
    use crate::db::schema::job_finish_minutes::dsl as minutes;
    let cutoff = ago(RECENT + std::time::Duration::from_secs(3600));
    diesel::delete(minutes::job_finish_minutes.filter(minutes::minute.lt(cutoff)))
        .execute(conn)
        .await
}

fn filtered(filter: &JobFilter) -> jobs::BoxedQuery<'static, diesel::mysql::Mysql> {
    let mut query = dsl::jobs.into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(dsl::status.eq(status.as_str()));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(dsl::kind.eq(kind.as_str()));
    }
    if let Some(owner) = filter.owner {
        query = query.filter(dsl::owner_id.eq(owner.to_string()));
    }
    query
}

/// One page of every job matching `filter`, and the number across all pages.
pub async fn list(
    conn: &mut Conn,
    filter: &JobFilter,
    ordering: &Ordering<JobSort>,
    window: Window,
) -> QueryResult<(Vec<JobRow>, i64)> {
    let query = filtered(filter).select(JobRow::as_select());
    let page = apply_ordering!(query, ordering, dsl::id, {
        JobSort::CreatedAt => dsl::created_at,
        JobSort::UpdatedAt => dsl::updated_at,
        JobSort::FinishedAt => dsl::finished_at,
    });
    let filters = [filter.status.is_some(), filter.kind.is_some(), filter.owner.is_some()];
    counted_page(
        conn,
        filtered(filter).count(),
        page,
        window,
        usual_shape(ordering, given(&filters)),
    )
    .await
}

pub enum Requeue {
    /// Queued again; the row as it now stands.
    Requeued(Box<JobRow>),
    /// It exists but has not failed.
    NotFailed,
    NotFound,
}

/// A failed job queued again under its id: its error cleared, its attempts kept.
pub async fn requeue_failed(conn: &mut Conn, id: Uuid) -> QueryResult<Requeue> {
    let now = now_naive();
    let updated = diesel::update(
        dsl::jobs.find(id.to_string()).filter(dsl::status.eq(JobStatus::Failed.as_str())),
    )
    .set((
        dsl::status.eq(JobStatus::Queued.as_str()),
        dsl::error.eq(None::<String>),
        dsl::error_code.eq(None::<String>),
        dsl::result.eq(None::<String>),
        dsl::finished_at.eq(None::<chrono::NaiveDateTime>),
        dsl::lease_until.eq(None::<chrono::NaiveDateTime>),
        dsl::enqueued_at.eq(now),
        dsl::updated_at.eq(now),
    ))
    .execute(conn)
    .await?;
    let row =
        dsl::jobs.find(id.to_string()).select(JobRow::as_select()).first(conn).await.optional()?;
    Ok(match (updated, row) {
        (1, Some(row)) => Requeue::Requeued(Box::new(row)),
        (_, Some(_)) => Requeue::NotFailed,
        (_, None) => Requeue::NotFound,
    })
}

/// Jobs of one kind that finished (succeeded or failed) within one minute.
#[derive(Debug, Clone, PartialEq, Eq, diesel::QueryableByName)]
pub struct FinishedInMinute {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub kind: String,
    /// The minute's start.
    #[diesel(sql_type = diesel::sql_types::Datetime)]
    pub minute: chrono::NaiveDateTime,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub finished: i64,
}

/// Finished jobs per kind and minute since `since`, from `job_finish_minutes`; minutes
/// without any are left out.
pub async fn finished_per_minute(
    conn: &mut Conn,
    since: chrono::NaiveDateTime,
) -> QueryResult<Vec<FinishedInMinute>> {
    diesel::sql_query(
        "SELECT kind, minute, CAST(SUM(jobs) AS SIGNED) AS finished \
         FROM job_finish_minutes \
         WHERE minute >= ? \
         GROUP BY kind, minute \
         HAVING finished > 0 \
         ORDER BY minute, kind",
    )
    .bind::<diesel::sql_types::Datetime, _>(minute_start(since))
    .load(conn)
    .await
}
