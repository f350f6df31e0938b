//! The finished-job minute counts behind the operators' queue counts and throughput chart are
//! kept by triggers on `jobs`. Whatever happens to the job rows (a job finishes, fails, is
//! retried and finishes in another minute, is edited, purged, or many finish at once on many
//! connections), the minute counts must equal what the job rows say.

use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncMysqlConnection, RunQueryDsl};
use dispatch_tests::env::TestEnv;

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, diesel::QueryableByName)]
struct Counted {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    minute: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    jobs: i64,
}

async fn run(conn: &mut AsyncMysqlConnection, sql: &str) -> usize {
    diesel::sql_query(sql).execute(conn).await.expect(sql)
}

/// The minute counts and the job rows, each as (kind, minute, status, jobs), sorted.
async fn both_counts(conn: &mut AsyncMysqlConnection) -> (Vec<Counted>, Vec<Counted>) {
    let mut kept: Vec<Counted> = diesel::sql_query(
        "SELECT kind, CAST(minute AS CHAR) AS minute, status,
                CAST(SUM(jobs) AS SIGNED) AS jobs
         FROM job_finish_minutes GROUP BY kind, minute, status HAVING SUM(jobs) <> 0",
    )
    .load(conn)
    .await
    .expect("minute counts");
    let mut from_rows: Vec<Counted> = diesel::sql_query(
        "SELECT kind, CAST(DATE_FORMAT(finished_at, '%Y-%m-%d %H:%i:00') AS CHAR) AS minute,
                status, COUNT(*) AS jobs
         FROM jobs WHERE status IN ('succeeded', 'failed') AND finished_at IS NOT NULL
         GROUP BY 1, 2, 3",
    )
    .load(conn)
    .await
    .expect("job rows");
    kept.sort();
    from_rows.sort();
    (kept, from_rows)
}

async fn assert_counts_match(conn: &mut AsyncMysqlConnection, after: &str, expected_total: i64) {
    let (kept, from_rows) = both_counts(conn).await;
    assert_eq!(kept, from_rows, "after {after}");
    let total: i64 = kept.iter().map(|c| c.jobs).sum();
    assert_eq!(total, expected_total, "after {after}: {kept:?}");
}

const INSERT_QUEUED: &str =
    "INSERT INTO jobs (id, kind, status, attempts, created_at, updated_at, enqueued_at)
     SELECT UUID(), ELT(1 + seq % 3, 'register_user', 'resize_image', 'send_mail'), 'queued', 0,
            NOW(6), NOW(6), NOW(6)
     FROM seq_1_to_60";

#[tokio::test]
async fn minute_counts_equal_the_job_rows_through_every_change() {
    let env = TestEnv::new();
    let mut conn = env.migrated_connection().await;

    run(&mut conn, INSERT_QUEUED).await;
    assert_counts_match(&mut conn, "queued jobs only", 0).await;

    // Jobs finish in three different minutes, some failing.
    run(
        &mut conn,
        "UPDATE jobs SET status = IF(CRC32(id) % 4 = 0, 'failed', 'succeeded'),
                        finished_at = NOW(6) - INTERVAL (CRC32(id) % 3) MINUTE,
                        attempts = 1",
    )
    .await;
    assert_counts_match(&mut conn, "finishing", 60).await;

    // Failed jobs retried: they leave the count, then finish two hours later.
    let failed = run(
        &mut conn,
        "UPDATE jobs SET status = 'queued', finished_at = NULL, error = NULL
         WHERE status = 'failed'",
    )
    .await;
    assert!(failed > 0, "some jobs failed");
    assert_counts_match(&mut conn, "retrying", 60 - failed as i64).await;
    run(
        &mut conn,
        "UPDATE jobs SET status = 'succeeded', finished_at = NOW(6) + INTERVAL 2 HOUR
         WHERE status = 'queued'",
    )
    .await;
    assert_counts_match(&mut conn, "finishing the retried jobs", 60).await;

    // Columns the counts do not depend on change nothing.
    run(&mut conn, "UPDATE jobs SET attempts = attempts + 1, result = '{}'").await;
    assert_counts_match(&mut conn, "an edit", 60).await;

    // A finished job re-finished in another status and minute moves between counts.
    run(
        &mut conn,
        "UPDATE jobs SET status = 'failed', finished_at = finished_at - INTERVAL 1 DAY
         WHERE kind = 'send_mail'",
    )
    .await;
    assert_counts_match(&mut conn, "moving send_mail jobs", 60).await;

    // Purged rows leave the counts.
    let purged = run(&mut conn, "DELETE FROM jobs WHERE kind = 'resize_image'").await;
    assert_eq!(purged, 20);
    assert_counts_match(&mut conn, "a purge", 40).await;

    // Many jobs finishing at once, on many connections, in the same minute: the shard rows
    // they share must not lose an increment.
    run(&mut conn, "DELETE FROM jobs").await;
    run(&mut conn, INSERT_QUEUED).await;
    run(&mut conn, INSERT_QUEUED).await;
    run(&mut conn, INSERT_QUEUED).await;
    let ids: Vec<String> = {
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = Text)]
            id: String,
        }
        let rows: Vec<Id> =
            diesel::sql_query("SELECT id FROM jobs").load(&mut conn).await.expect("ids");
        rows.into_iter().map(|row| row.id).collect()
    };
    assert_eq!(ids.len(), 180);
    let finishers = ids.chunks(12).map(|chunk| {
        let env = &env;
        async move {
            let mut conn = env.connection().await;
            for id in chunk {
                let sql = format!(
                    "UPDATE jobs SET status = 'succeeded', finished_at = NOW(6) WHERE id = '{id}'"
                );
                assert_eq!(run(&mut conn, &sql).await, 1);
            }
        }
    });
    futures::future::join_all(finishers).await;
    assert_counts_match(&mut conn, "15 connections finishing at once", 180).await;
}
