//! The welcome mail's ledger on the users table: who is due, which `send_mail` job has
//! claimed whom, and who has been mailed. A user is claimed at most once, in the same
//! transaction that creates the claiming job, so no two runs (or workers) mail one user.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Char;
use diesel_async::{AsyncConnection, AsyncMysqlConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::id::Id;
use crate::db::schema::{jobs, users};
use crate::jobs::send_mail::{MailKind, SendMailPayload};
use crate::jobs::JobKind;
use crate::models::now_naive;
use crate::repo::jobs::new_job;

type Conn = AsyncMysqlConnection;

/// Who started the run; the `send_mail` jobs inherit it.
#[derive(Debug, Clone, Default)]
pub struct ClaimOrigin {
    pub owner: Option<Uuid>,
    pub request_id: Option<String>,
}

/// Claims up to `limit` active, unmailed, unclaimed users who joined before `joined_before`
/// and creates a `send_mail` job for each, all in one transaction. Rows another run holds
/// at that moment are skipped (that run claims them). Returns the new jobs' ids.
pub async fn claim_due(
    conn: &mut Conn,
    joined_before: NaiveDateTime,
    limit: i64,
    origin: &ClaimOrigin,
) -> QueryResult<Vec<Uuid>> {
    conn.transaction(async |conn| {
        let due: Vec<String> = users::table
            .filter(users::welcome_mail_job_id.is_null())
            .filter(users::welcome_mail_sent_at.is_null())
            .filter(users::is_active.eq(true))
            .filter(users::date_joined.le(joined_before))
            .order((users::date_joined.asc(), users::id.asc()))
            .limit(limit)
            .select(users::id)
            .for_update()
            .skip_locked()
            .load(conn)
            .await?;
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let mut new_jobs = Vec::with_capacity(due.len());
        for user_id in &due {
            let payload = SendMailPayload {
                user_id: Uuid::parse_str(user_id)
                    .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?,
                mail: MailKind::Welcome,
            };
            let payload = serde_json::to_string(&payload)
                .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
            new_jobs.push(new_job(
                JobKind::SendMail,
                origin.owner,
                Some(payload),
                origin.request_id.clone(),
            ));
        }
        diesel::insert_into(jobs::table).values(&new_jobs).execute(conn).await?;

        // One statement for the whole batch: CASE id WHEN user THEN job ... END.
        let mut sql = String::from("UPDATE users SET welcome_mail_job_id = CASE id");
        for _ in &due {
            sql.push_str(" WHEN ? THEN ?");
        }
        sql.push_str(" END WHERE id IN (");
        sql.push_str(&vec!["?"; due.len()].join(", "));
        sql.push(')');
        let mut update = diesel::sql_query(sql).into_boxed();
        for (user_id, job) in due.iter().zip(&new_jobs) {
            update = update.bind::<Char, _>(user_id.as_str()).bind::<Char, _>(job.id);
        }
        for user_id in &due {
            update = update.bind::<Char, _>(user_id.as_str());
        }
        update.execute(conn).await?;

        Ok(new_jobs.iter().map(|job| job.id.0).collect())
    })
    .await
}

/// What the `send_mail` job needs to know about its recipient.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::mysql::Mysql))]
pub struct WelcomeRecipient {
    pub id: String,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    pub welcome_mail_job_id: Option<Id>,
    pub welcome_mail_sent_at: Option<NaiveDateTime>,
}

pub async fn recipient(conn: &mut Conn, user_id: Uuid) -> QueryResult<Option<WelcomeRecipient>> {
    users::table
        .find(user_id.to_string())
        .select(WelcomeRecipient::as_select())
        .first(conn)
        .await
        .optional()
}

/// Records the mail as sent, if `job_id` still holds the claim. `false`: it does not.
pub async fn record_sent(conn: &mut Conn, user_id: Uuid, job_id: Id) -> QueryResult<bool> {
    let updated = diesel::update(
        users::table
            .find(user_id.to_string())
            .filter(users::welcome_mail_job_id.eq(job_id))
            .filter(users::welcome_mail_sent_at.is_null()),
    )
    .set(users::welcome_mail_sent_at.eq(now_naive()))
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// Gives up `job_id`'s claim without sending (the user was deactivated meanwhile, or the
/// mail could not be delivered), so a later run mails them.
pub async fn release(conn: &mut Conn, user_id: Uuid, job_id: Id) -> QueryResult<()> {
    diesel::update(
        users::table
            .find(user_id.to_string())
            .filter(users::welcome_mail_job_id.eq(job_id))
            .filter(users::welcome_mail_sent_at.is_null()),
    )
    .set(users::welcome_mail_job_id.eq(None::<Id>))
    .execute(conn)
    .await
    .map(|_| ())
}
