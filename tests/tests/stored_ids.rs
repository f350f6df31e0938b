//! Ids are written from `Uuid`s and read back as `Uuid`s. Text in an id column that is not a
//! hyphenated UUID (a row edited by hand) fails its read; it never reads as another id.

use diesel_async::RunQueryDsl;
use dispatch_shared::jobs::JobKind;
use dispatch_shared::repo::jobs;
use dispatch_tests::env::TestEnv;
use uuid::Uuid;

#[tokio::test]
async fn ids_read_back_as_written_and_a_malformed_one_fails_its_read() {
    let env = TestEnv::new();
    let mut conn = env.migrated_connection().await;

    let owner = Uuid::new_v4();
    let job = jobs::new_job(JobKind::SendMail, Some(owner), None, None);
    jobs::insert(&mut conn, &job).await.expect("insert");
    let row = jobs::find(&mut conn, job.id.0).await.expect("read").expect("the job");
    assert_eq!((row.id, row.owner()), (job.id, Some(owner)));

    for malformed in ["not-a-uuid", "", "00000000000040008000000000000000"] {
        diesel::sql_query("UPDATE jobs SET owner_id = ? WHERE id = ?")
            .bind::<diesel::sql_types::Text, _>(malformed)
            .bind::<diesel::sql_types::Text, _>(job.id.to_string())
            .execute(&mut conn)
            .await
            .expect("a hand edit");
        let read = jobs::find(&mut conn, job.id.0).await;
        assert!(
            matches!(read, Err(diesel::result::Error::DeserializationError(_))),
            "owner_id {malformed:?} read as {read:?}"
        );
    }
}
