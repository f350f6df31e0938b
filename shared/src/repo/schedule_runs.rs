//! Schedule firings: every worker runs the schedule, and the first to record a firing is
//! the one that enqueues its job, so a firing starts one run however many workers see it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncMysqlConnection, RunQueryDsl};

use crate::db::schema::{jobs, schedule_runs};
use crate::models::{now_naive, NewJob};

type Conn = AsyncMysqlConnection;

/// Records `schedule`'s firing at `fire_at` with `job`, and inserts the job, unless the
/// firing is already recorded. `true`: this call recorded it and the job must be pushed.
pub async fn record_firing(
    conn: &mut Conn,
    schedule: &str,
    fire_at: NaiveDateTime,
    job: &NewJob,
) -> QueryResult<bool> {
    conn.transaction(async |conn| {
        // A concurrent insert of the same key waits for ours to commit, then is ignored.
        let recorded = diesel::insert_or_ignore_into(schedule_runs::table)
            .values((
                schedule_runs::schedule.eq(schedule),
                schedule_runs::fire_at.eq(fire_at),
                schedule_runs::job_id.eq(&job.id),
                schedule_runs::created_at.eq(now_naive()),
            ))
            .execute(conn)
            .await?;
        if recorded == 0 {
            return Ok(false);
        }
        diesel::insert_into(jobs::table).values(job).execute(conn).await?;
        Ok(true)
    })
    .await
}

/// Forgets firings older than `before`; only recent ones can be seen twice.
pub async fn purge_before(conn: &mut Conn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(schedule_runs::table.filter(schedule_runs::fire_at.lt(before)))
        .execute(conn)
        .await
}
