//! The daily welcome mail (api.md §7): every eligible user gets exactly one mail over real
//! SMTP, whoever triggers the run, however many workers run, and when a worker dies mid-run.

use std::collections::HashMap;
use std::time::Duration;

use dispatch_tests::smtp::{parse_dir, Delivered, SmtpSink};
use dispatch_tests::Calls;
use dispatch_tests::{wait_until, Binary, TestApp, TestEnv};
use reqwest::Method;
use serde_json::{json, Value};

const TRIGGER: &str = "/api/v1/admin/jobs/daily-mail/";
const MAIL_TIMEOUT: Duration = Duration::from_secs(60);

fn mail_env(smtp: Option<&SmtpSink>) -> TestEnv {
    let mut env = TestEnv::new();
    env.set("DISPATCH_WELCOME_MAIL_AFTER", "0s")
        .set("DISPATCH_MAIL_FROM", "Dispatch <no-reply@dispatch.test>");
    if let Some(smtp) = smtp {
        env.set("DISPATCH_SMTP_URL", &smtp.url());
    }
    env
}

/// `count` active users who joined two days ago, inserted directly (hashing passwords for
/// dozens of registrations would only slow the test down).
async fn seed_users(env: &TestEnv, prefix: &str, count: usize) {
    let rows: Vec<String> = (0..count)
        .map(|i| {
            format!(
                "(UUID(), '{prefix}{i}', '{prefix}{i}@example.com', 'x', \
                 NOW(6) - INTERVAL 2 DAY, NOW(6))"
            )
        })
        .collect();
    env.execute(&format!(
        "INSERT INTO users (id, username, email, password_hash, date_joined, last_updated) \
         VALUES {}",
        rows.join(", ")
    ))
    .await;
}

async fn trigger(base: &str, token: &str, wait: bool) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(format!("{base}{TRIGGER}")).bearer_auth(token);
    if wait {
        request = request.header("Prefer", "wait=30");
    }
    let response = request.send().await.expect("trigger request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn await_all_mailed(env: &TestEnv) {
    env.await_all_mailed(MAIL_TIMEOUT).await;
}

fn by_recipient(mails: &[Delivered]) -> HashMap<String, Vec<&Delivered>> {
    let mut map: HashMap<String, Vec<&Delivered>> = HashMap::new();
    for mail in mails {
        map.entry(mail.to.clone()).or_default().push(mail);
    }
    map
}

async fn active_emails(env: &TestEnv) -> i64 {
    env.count_matching("users", "is_active").await
}

#[tokio::test]
async fn each_eligible_user_gets_one_mail_over_smtp_with_both_parts_and_escaped_names() {
    let smtp = SmtpSink::start().await;
    let app = TestApp::spawn_env(mail_env(Some(&smtp)), true).await;
    let root = app.admin("root").await;
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/auth/register/",
            None,
            Some(&json!({
                "username": "ada", "email": "ada@example.com", "password": "ada-password-1",
                "first_name": "<b>Ada</b> & \"Co\"", "last_name": "Lovelace"
            })),
        )
        .await;
    assert_eq!(status, 202);
    seed_users(&app.env, "reader", 5).await;
    seed_users(&app.env, "gone", 1).await;
    app.env.execute("UPDATE users SET is_active = FALSE WHERE username = 'gone0'").await;
    wait_until(Duration::from_secs(20), "ada's registration", || async {
        (app.env.count_matching("users", "username = 'ada'").await == 1).then_some(())
    })
    .await;

    // A user may not start the run; an admin may, and waits for its outcome.
    let reader = app.user("plain").await;
    assert_eq!(trigger(&app.address, &reader.token, false).await.0, 403);
    let (status, job) = trigger(&app.address, &root.token, true).await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["kind"], "daily_mail");
    assert_eq!(job["status"], "succeeded");
    // root, ada, plain and the five readers; not the deactivated one.
    assert_eq!(job["result"]["enqueued"], 8, "{job}");
    await_all_mailed(&app.env).await;

    let mails = smtp.delivered();
    let recipients = by_recipient(&mails);
    assert_eq!(mails.len(), 8, "{recipients:?}");
    assert_eq!(recipients.len() as i64, active_emails(&app.env).await);
    assert!(!recipients.contains_key("gone0@example.com"));
    let ada = recipients["ada@example.com"][0];
    assert_eq!(ada.subject, "Welcome to Dispatch");
    assert!(ada.text.contains("<b>Ada</b> & \"Co\" Lovelace"), "{}", ada.text);
    assert!(ada.html.contains("&lt;b&gt;Ada&lt;&#x2f;b&gt; &amp; &quot;Co&quot;"), "{}", ada.html);
    assert!(!ada.html.contains("<b>Ada"), "{}", ada.html);
    assert!(ada.message_id.starts_with("welcome.") && ada.message_id.ends_with("@dispatch.test"));

    // The admin follows the run's send_mail jobs as their own.
    let (_, mine) = app.read("/api/v1/jobs/?page_size=100", &root.token).await;
    let send_jobs =
        mine["results"].as_array().unwrap().iter().filter(|j| j["kind"] == "send_mail").count();
    assert_eq!(send_jobs, 8, "{mine}");

    // A second run finds nobody: nothing more is sent.
    let (status, again) = trigger(&app.address, &root.token, true).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["result"]["enqueued"], 0, "{again}");
    await_all_mailed(&app.env).await;
    assert_eq!(smtp.delivered().len(), 8);

    // Reactivated users who were never mailed are mailed by the next run.
    app.env.execute("UPDATE users SET is_active = TRUE WHERE username = 'gone0'").await;
    let (_, third) = trigger(&app.address, &root.token, true).await;
    assert_eq!(third["result"]["enqueued"], 1, "{third}");
    await_all_mailed(&app.env).await;
    assert_eq!(by_recipient(&smtp.delivered())["gone0@example.com"].len(), 1);
}

#[tokio::test]
async fn without_smtp_mail_is_written_as_parseable_eml_files() {
    let app = TestApp::spawn_env(mail_env(None), true).await;
    let root = app.admin("root").await;
    seed_users(&app.env, "offline", 3).await;
    let (status, accepted) = trigger(&app.address, &root.token, false).await;
    assert_eq!(status, 202);
    let job = app.await_job(accepted["job_id"].as_str().unwrap(), Some(&root.token)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    await_all_mailed(&app.env).await;
    let mails = parse_dir(&app.env.mail_dir());
    let recipients = by_recipient(&mails);
    assert_eq!(mails.len(), 4, "{recipients:?}");
    for email in ["root@example.com", "offline0@example.com", "offline2@example.com"] {
        let mail = recipients[email][0];
        assert_eq!(mail.subject, "Welcome to Dispatch");
        assert!(!mail.text.is_empty() && mail.html.contains("<html"), "{mail:?}");
    }
}

#[tokio::test]
async fn users_who_joined_too_recently_wait_for_a_later_run() {
    let smtp = SmtpSink::start().await;
    let mut env = mail_env(Some(&smtp));
    env.set("DISPATCH_WELCOME_MAIL_AFTER", "24h");
    let app = TestApp::spawn_env(env, true).await;
    let root = app.admin("root").await;
    seed_users(&app.env, "old", 2).await;
    let (status, job) = trigger(&app.address, &root.token, true).await;
    assert_eq!(status, 200, "{job}");
    // root registered just now; the two seeded users joined two days ago.
    assert_eq!(job["result"]["enqueued"], 2, "{job}");
    await_all_mailed_of(&app.env, 2).await;
    let recipients = by_recipient(&smtp.delivered()).into_keys().collect::<Vec<_>>();
    assert_eq!(recipients.len(), 2);
    assert!(!recipients.contains(&"root@example.com".to_owned()));
}

async fn await_all_mailed_of(env: &TestEnv, expected: i64) {
    wait_until(MAIL_TIMEOUT, "the mails to be recorded", || async {
        (env.count_matching("users", "welcome_mail_sent_at IS NOT NULL").await == expected)
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_refused_recipient_fails_its_job_readably_and_a_temporary_refusal_is_retried() {
    let smtp = SmtpSink::start().await;
    let app = TestApp::spawn_env(mail_env(Some(&smtp)), true).await;
    let root = app.admin("root").await;
    seed_users(&app.env, "reject", 1).await;
    seed_users(&app.env, "flaky", 1).await;
    let (status, _) = trigger(&app.address, &root.token, true).await;
    assert_eq!(status, 200);

    let failed = wait_until(MAIL_TIMEOUT, "the refused mail's job to fail", || async {
        let (_, page) = app.read("/api/v1/jobs/?page_size=100", &root.token).await;
        page["results"]
            .as_array()?
            .iter()
            .find(|j| j["kind"] == "send_mail" && j["status"] == "failed")
            .cloned()
    })
    .await;
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("refused") && error.contains("550"), "{error}");
    assert_eq!(failed["attempts"], 1, "a permanent refusal is not retried: {failed}");

    // The flaky mailbox said 451 once; the retry delivered it, and the job records the
    // success once the server has taken the mail, so the row is waited for too.
    wait_until(MAIL_TIMEOUT, "the flaky mailbox's mail", || async {
        smtp.delivered().iter().any(|m| m.to == "flaky0@example.com").then_some(())
    })
    .await;
    wait_until(MAIL_TIMEOUT, "the flaky mail's job to succeed at its second attempt", || async {
        let succeeded = "kind = 'send_mail' AND status = 'succeeded' AND attempts = 2";
        (app.env.count_matching("jobs", succeeded).await == 1).then_some(())
    })
    .await;
    assert_eq!(
        app.env
            .count_matching("users", "username = 'reject0' AND welcome_mail_sent_at IS NULL")
            .await,
        1
    );
}

#[tokio::test]
async fn two_workers_a_frequent_schedule_and_simultaneous_triggers_still_mail_each_user_once() {
    let smtp = SmtpSink::start().await;
    let mut env = mail_env(Some(&smtp));
    // Fires every second on every worker: each firing must start one run in total.
    env.set("DISPATCH_DAILY_MAIL_CRON", "* * * * * *");
    let app = TestApp::spawn_env(env, true).await;
    let mut second_worker = Binary::start("dispatch-worker", &app.env, &[]);
    let second_api = app.spawn_second_instance().await;
    let root = app.admin("root").await;
    seed_users(&app.env, "crowd", 40).await;

    let (first, second) = tokio::join!(
        trigger(&app.address, &root.token, false),
        trigger(&second_api, &root.token, false)
    );
    assert_eq!((first.0, second.0), (202, 202));
    wait_until(MAIL_TIMEOUT, "three schedule firings", || async {
        (app.env.count_rows("schedule_runs").await >= 3).then_some(())
    })
    .await;
    await_all_mailed(&app.env).await;

    let mails = smtp.delivered();
    let recipients = by_recipient(&mails);
    assert_eq!(recipients.len() as i64, active_emails(&app.env).await);
    let repeated: Vec<_> = recipients.iter().filter(|(_, m)| m.len() > 1).collect();
    assert!(repeated.is_empty(), "mailed twice: {repeated:?}");
    assert_eq!(mails.len(), 41);

    // Every firing started exactly one run, whichever worker saw it first.
    let firings = app.env.count_rows("schedule_runs").await;
    let scheduled_runs =
        app.env.count_matching("jobs", "kind = 'daily_mail' AND owner_id IS NULL").await;
    let unmatched = app
        .env
        .count_matching(
            "schedule_runs",
            "job_id NOT IN (SELECT id FROM jobs WHERE kind = 'daily_mail')",
        )
        .await;
    assert_eq!(unmatched, 0);
    // A firing recorded after the last count may have its job already: allow that one.
    assert!(
        (scheduled_runs - firings).abs() <= 1,
        "{firings} firings but {scheduled_runs} scheduled runs"
    );
    second_worker.kill();
}

#[tokio::test]
async fn a_worker_killed_mid_run_leaves_nobody_unmailed_and_a_resend_keeps_its_message_id() {
    // Slow acceptance keeps the run going long enough to kill the worker in the middle.
    let smtp = SmtpSink::start_with_delay(Duration::from_millis(150)).await;
    let mut env = mail_env(Some(&smtp));
    env.set("DISPATCH_JOB_LEASE", "2s")
        .set("DISPATCH_REQUEUE_AFTER", "1s")
        .set("DISPATCH_WORKER_CONCURRENCY", "2");
    let app = TestApp::spawn_env(env, false).await;
    let mut worker = Binary::start("dispatch-worker", &app.env, &[]);
    let root = app.admin("root").await;
    seed_users(&app.env, "patient", 24).await;

    let (status, _) = trigger(&app.address, &root.token, false).await;
    assert_eq!(status, 202);
    wait_until(MAIL_TIMEOUT, "the first mails", || async {
        (smtp.delivered().len() >= 4).then_some(())
    })
    .await;
    worker.kill();
    let sent_before_kill = smtp.delivered().len();
    assert!(sent_before_kill < 25, "the run finished before the kill");

    let mut replacement = Binary::start("dispatch-worker", &app.env, &[]);
    await_all_mailed(&app.env).await;
    replacement.kill();

    let mails = smtp.delivered();
    let recipients = by_recipient(&mails);
    assert_eq!(recipients.len(), 25, "every active user is mailed");
    for (to, copies) in &recipients {
        let first = &copies[0].message_id;
        assert!(
            copies.iter().all(|m| &m.message_id == first),
            "{to} got different messages: {copies:?}"
        );
    }
    // Only a mail in flight at the kill can go out twice: at most one per busy slot.
    assert!(mails.len() <= 25 + 2, "{} mails for 25 users", mails.len());
}
