//! `send_mail`: one welcome mail to one user. The job sends only while it holds the user's
//! claim and the mail is not recorded as sent; the Message-ID is derived from the user, so
//! the one resend that can happen (a worker dying between the server's acceptance and the
//! record) carries the same Message-ID as the first.

use dispatch_core::daily_mail::{welcome_mail_due, WelcomeMailDue};
use dispatch_shared::jobs::error_codes;
use dispatch_shared::jobs::send_mail::{MailKind, SendMailPayload};
use dispatch_shared::models::JobRow;
use dispatch_shared::repo::welcome_mail;
use serde_json::json;
use uuid::Uuid;

use crate::context::JobContext;
use crate::failure::JobFailure;
use crate::mail::{welcome, MailError};

pub async fn run(ctx: &JobContext, job: &JobRow) -> Result<serde_json::Value, JobFailure> {
    let payload: SendMailPayload = super::payload(job)?;
    let MailKind::Welcome = payload.mail;
    let user_id = payload.user_id;
    let message_id = welcome::message_id(user_id, ctx.mailer.from());

    let recipient = {
        let mut conn = ctx.db.get().await?;
        welcome_mail::recipient(&mut conn, user_id).await?
    };
    let user = match welcome_mail_due(recipient, job.id) {
        WelcomeMailDue::Skip(reason) => return Ok(skipped(user_id, reason)),
        // A delivery after the record was written: the mail went out already.
        WelcomeMailDue::AlreadySent => return Ok(sent(user_id, &message_id)),
        WelcomeMailDue::Release => {
            let mut conn = ctx.db.get().await?;
            welcome_mail::release(&mut conn, user_id, job.id).await?;
            return Ok(skipped(
                user_id,
                "the user was deactivated; a later run mails them if reactivated",
            ));
        }
        WelcomeMailDue::Send(user) => user,
    };

    let message = welcome::build(
        ctx.mailer.from(),
        &welcome::Recipient {
            user_id,
            username: &user.username,
            email: &user.email,
            first_name: &user.first_name,
            last_name: &user.last_name,
        },
    )
    .map_err(|e| JobFailure::permanent(error_codes::INVALID_PAYLOAD, e.to_string()))?;
    if let Err(e) = ctx.mailer.send(message).await {
        let failure = match e {
            MailError::Permanent(reason) => JobFailure::permanent(
                error_codes::MAIL_REJECTED,
                format!("The mail server refused the welcome mail: {reason}"),
            ),
            other => JobFailure::transient(other),
        };
        let last_attempt = matches!(failure, JobFailure::Permanent { .. })
            || job.attempts >= ctx.settings.job_max_attempts;
        if last_attempt {
            // Not sent: the user is due again, and the next run tries once more (a fixed
            // server setting or mailbox then gets its mail).
            let mut conn = ctx.db.get().await?;
            welcome_mail::release(&mut conn, user_id, job.id).await?;
        }
        return Err(failure);
    }

    let mut conn = ctx.db.get().await?;
    if !welcome_mail::record_sent(&mut conn, user_id, job.id).await? {
        tracing::warn!(%user_id, job_id = %job.id, "welcome mail sent but its claim had moved on");
    }
    tracing::info!(%user_id, %message_id, "welcome mail sent");
    Ok(sent(user_id, &message_id))
}

fn sent(user_id: Uuid, message_id: &str) -> serde_json::Value {
    json!({"sent": true, "user_id": user_id, "message_id": message_id})
}

fn skipped(user_id: Uuid, reason: &str) -> serde_json::Value {
    json!({"sent": false, "user_id": user_id, "reason": reason})
}
