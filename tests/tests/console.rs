//! The web console in headless Chromium against the real binaries, used as a person would:
//! forms, live job status, live task updates across tabs, the admin table.

use dispatch_tests::browser::Browser;
use dispatch_tests::process::{start_api, Binary};
use dispatch_tests::TestEnv;
use serde_json::{json, Value};

const ADMIN: (&str, &str) = ("console_admin", "admin-password-1");

struct Dispatch {
    base: String,
    env: TestEnv,
    _api: Binary,
    worker: Option<Binary>,
}

impl Dispatch {
    async fn start(with_worker: bool) -> Self {
        let mut env = TestEnv::new();
        let (api, base) = start_api(
            &mut env,
            &[
                ("DISPATCH_ADMIN_USERNAME", ADMIN.0),
                ("DISPATCH_ADMIN_EMAIL", "console_admin@example.com"),
                ("DISPATCH_ADMIN_PASSWORD", ADMIN.1),
            ],
        )
        .await;
        let mut dispatch = Dispatch { base, env, _api: api, worker: None };
        if with_worker {
            dispatch.start_worker();
        }
        dispatch
    }

    fn start_worker(&mut self) {
        self.worker = Some(Binary::start("dispatch-worker", &self.env, &[]));
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Registers through the API (waiting for the job) and returns the access token.
    async fn register(&self, username: &str, password: &str) -> String {
        let response = reqwest::Client::new()
            .post(self.url("/api/v1/auth/register/"))
            .header("Prefer", "wait=30")
            .json(&json!({"username": username, "email": format!("{username}@example.com"),
                          "password": password}))
            .send()
            .await
            .expect("register");
        assert_eq!(response.status(), 201, "registering {username}");
        let body: Value = response.json().await.expect("user");
        body["tokens"]["access"].as_str().expect("token").to_owned()
    }

    async fn login_status(&self, username: &str, password: &str) -> u16 {
        reqwest::Client::new()
            .post(self.url("/api/v1/auth/login/"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login")
            .status()
            .as_u16()
    }
}

async fn log_in(browser: &Browser, dispatch: &Dispatch, username: &str, password: &str) {
    browser.goto(&dispatch.url("/login/")).await;
    browser.fill("#username", username).await;
    browser.fill("#password", password).await;
    browser.click("#login-form [type=submit]").await;
}

#[tokio::test]
async fn register_follows_the_job_live_then_log_in_and_edit_the_profile() {
    // No worker yet: the registration stays queued until one starts, so the page's live
    // status can be seen before it moves on.
    let mut dispatch = Dispatch::start(false).await;
    let browser = Browser::start().await;

    browser.goto(&dispatch.url("/")).await;
    browser.wait_for_path("/login/").await;
    browser.click("a[href='/register/']").await;
    browser.wait_for_path("/register/").await;
    browser.screenshot("register").await;

    // The browser's own checks answer first, beside the field.
    browser.fill("#username", "no spaces").await;
    browser.click("#register-form [type=submit]").await;
    browser.wait_for_text("#username-error", "letters, digits and underscores").await;

    browser.fill("#username", "Console_User").await;
    browser.fill("#email", "console@example.com").await;
    browser.fill("#password", "console-pass-1").await;
    browser.fill("#first_name", "Grace").await;
    browser.click("#register-form [type=submit]").await;
    browser.wait_for_text("#job-status", "queued").await;
    browser.screenshot("register-processing").await;

    dispatch.start_worker();
    browser.wait_for_path("/login/").await;
    let notice = browser.wait_for_text("#notice", "Registration succeeded").await;
    assert!(notice.contains("console_user"), "{notice}");
    let prefilled = browser.eval("return document.querySelector('#username').value", vec![]).await;
    assert_eq!(prefilled, "console_user");
    browser.screenshot("login").await;

    // A taken username is refused at once, and the error is shown beside the field.
    browser.goto(&dispatch.url("/register/")).await;
    browser.fill("#username", "console_user").await;
    browser.fill("#email", "other@example.com").await;
    browser.fill("#password", "console-pass-1").await;
    browser.click("#register-form [type=submit]").await;
    browser.wait_for_text("#username-error", "already exists").await;
    let email_error = browser.text("#email-error").await.unwrap_or_default();
    assert_eq!(email_error, "", "only the username is taken");
    browser.screenshot("register-duplicate").await;

    // A wrong password is an error on the form, not a crash or a silent nothing.
    log_in(&browser, &dispatch, "console_user", "wrong-password").await;
    browser.wait_for_text("#login-form [data-form-error]", "No active account").await;

    log_in(&browser, &dispatch, "console_user", "console-pass-1").await;
    browser.wait_for_path("/account/").await;
    browser.wait_for_text("#whoami", "console_user").await;
    browser.fill("#profile-first", "Ada").await;
    browser.fill("#profile-last", "Lovelace").await;
    browser.click("#profile-form [type=submit]").await;
    browser.wait_for_text("#profile-form [data-saved]", "Profile saved").await;

    let token = reqwest::Client::new()
        .post(dispatch.url("/api/v1/auth/login/"))
        .json(&json!({"username": "console_user", "password": "console-pass-1"}))
        .send()
        .await
        .expect("login")
        .json::<Value>()
        .await
        .expect("login body")["tokens"]["access"]
        .as_str()
        .expect("token")
        .to_owned();
    let profile: Value = reqwest::Client::new()
        .get(dispatch.url("/api/v1/auth/profile/"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("profile")
        .json()
        .await
        .expect("profile body");
    assert_eq!(profile["first_name"], "Ada");
    assert_eq!(profile["last_name"], "Lovelace");

    // The server's field errors come back beside the field too (an email someone else has).
    dispatch.register("someone_else", "someone-pass-1").await;
    browser.fill("#profile-email", "someone_else@example.com").await;
    browser.click("#profile-form [type=submit]").await;
    browser.wait_for_text("#profile-email-error", "already exists").await;
    browser.screenshot("account").await;

    // Password change: a wrong current password is shown beside its field; a right one
    // keeps the page signed in (the change ends every login, so the page logs in again).
    browser.fill("#old-password", "not-the-password").await;
    browser.fill("#new-password-1", "changed-pass-2").await;
    browser.fill("#new-password-2", "changed-pass-2").await;
    browser.click("#password-form [type=submit]").await;
    browser.wait_for_text("#old-password-error", "incorrectly").await;
    browser.fill("#old-password", "console-pass-1").await;
    browser.click("#password-form [type=submit]").await;
    browser.wait_for_text("#password-form [data-saved]", "Password updated").await;
    assert_eq!(dispatch.login_status("console_user", "console-pass-1").await, 401);
    browser.client.refresh().await.expect("reload");
    browser.wait_for_text("#whoami", "console_user").await;

    // Deletion asks first; cancelling keeps the account.
    browser.click("#delete-account").await;
    browser.click("#delete-form button[value=cancel]").await;
    assert_eq!(dispatch.login_status("console_user", "changed-pass-2").await, 200);
    browser.click("#delete-account").await;
    browser.click("#confirm-delete").await;
    browser.wait_for_path("/login/").await;
    browser.wait_for_text("#notice", "deleted").await;
    assert_eq!(dispatch.login_status("console_user", "changed-pass-2").await, 401);
    browser.quit().await;
}

#[tokio::test]
async fn the_session_outlives_its_short_access_token() {
    let mut env = TestEnv::new();
    let (_api, base) = start_api(&mut env, &[("DISPATCH_ACCESS_TTL", "2s")]).await;
    let _worker = Binary::start("dispatch-worker", &env, &[]);
    let dispatch = Dispatch { base, env, _api, worker: None };
    dispatch.register("short_lived", "short-lived-pass-1").await;
    let browser = Browser::start().await;
    log_in(&browser, &dispatch, "short_lived", "short-lived-pass-1").await;
    browser.wait_for_path("/account/").await;
    browser.wait_for_text("#live", "live").await;

    // The server closes the stream when the token expires; the page refreshes its session
    // and reconnects.
    browser.wait_for_text("#live", "reconnecting").await;
    browser.wait_for_text("#live", "live").await;

    // A write with the expired cookie is retried after a refresh, unseen by the user.
    browser.fill("#task-title", "After expiry").await;
    browser.click("#task-form [type=submit]").await;
    wait_for_titles(&browser, "the task made after expiry", &["After expiry"]).await;
    let form_error = browser.text("#task-form [data-form-error]").await.unwrap_or_default();
    assert_eq!(form_error, "");
    browser.quit().await;
}

/// The titles of the tasks the page lists, in order, once they are `expected`.
async fn wait_for_titles(browser: &Browser, what: &str, expected: &[&str]) {
    let titles = "return [...document.querySelectorAll('#task-list li .task-title')]\
                  .map(e => e.textContent)";
    browser.wait_for_list(what, titles, expected).await
}

#[tokio::test]
async fn a_task_made_in_one_tab_appears_in_the_other_without_reload() {
    let dispatch = Dispatch::start(true).await;
    let token = dispatch.register("tab_user", "tab-user-pass-1").await;
    let browser = Browser::start().await;
    log_in(&browser, &dispatch, "tab_user", "tab-user-pass-1").await;
    browser.wait_for_path("/account/").await;
    browser.wait_for_text("#live", "live").await;
    let first = browser.client.window().await.expect("window");

    let second = browser.client.new_window(true).await.expect("new tab").handle;
    browser.client.switch_to_window(second.clone()).await.expect("tab");
    browser.goto(&dispatch.url("/account/")).await;
    browser.wait_for_text("#live", "live").await;
    let loads = browser.eval("return performance.timeOrigin", vec![]).await;

    // Made in the first tab …
    browser.client.switch_to_window(first.clone()).await.expect("tab");
    browser.fill("#task-title", "Buy milk").await;
    browser.fill("#task-description", "Two litres").await;
    browser.click("#task-form [type=submit]").await;
    wait_for_titles(&browser, "the task in the first tab", &["Buy milk"]).await;

    // … shows in the second, which was not reloaded.
    browser.client.switch_to_window(second.clone()).await.expect("tab");
    wait_for_titles(&browser, "the task in the second tab", &["Buy milk"]).await;
    assert_eq!(browser.eval("return performance.timeOrigin", vec![]).await, loads);

    // Edited in the second tab: the first follows.
    browser.click("#task-list li button.secondary").await;
    browser.select("#task-list form select", "DONE").await;
    browser.click("#task-list form [type=submit]").await;
    browser.client.switch_to_window(first.clone()).await.expect("tab");
    browser.wait_for_text("#task-list li .badge", "DONE").await;

    // Made through the API by another client: both tabs show it.
    let created = reqwest::Client::new()
        .post(dispatch.url("/api/v1/tasks/"))
        .bearer_auth(&token)
        .json(&json!({"title": "From the API"}))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 201);
    wait_for_titles(&browser, "the API's task", &["From the API", "Buy milk"]).await;

    // The filter shows only matching tasks, and a live update respects it.
    browser.select("#task-filter", "DONE").await;
    wait_for_titles(&browser, "the filtered list", &["Buy milk"]).await;
    browser.screenshot("account-tasks").await;
    browser.select("#task-filter", "").await;
    wait_for_titles(&browser, "the whole list", &["From the API", "Buy milk"]).await;

    // Deleted in the first tab: gone from the second.
    browser.click("#task-list li button.danger").await;
    wait_for_titles(&browser, "the deletion in the first tab", &["Buy milk"]).await;
    browser.client.switch_to_window(second).await.expect("tab");
    wait_for_titles(&browser, "the deletion in the second tab", &["Buy milk"]).await;

    // Narrow screens get one column that still fits.
    browser.client.set_window_size(390, 844).await.expect("resize");
    let overflow = browser
        .eval(
            "return document.documentElement.scrollWidth > document.documentElement.clientWidth",
            vec![],
        )
        .await;
    assert_eq!(overflow, false, "the account page scrolls sideways on a phone");
    browser.screenshot("account-phone").await;
    browser.quit().await;
}

/// The usernames in the admin table, in order, once they are `expected`.
async fn wait_for_usernames(browser: &Browser, what: &str, expected: &[String]) {
    let usernames = "return [...document.querySelectorAll('#users-body tr')]\
                     .map(r => r.dataset.username)";
    browser.wait_for_list(what, usernames, expected).await
}

#[tokio::test]
async fn admin_sorts_pages_searches_and_deactivates_a_user() {
    let dispatch = Dispatch::start(true).await;
    let mut names: Vec<String> = Vec::new();
    for i in 0..14 {
        let name = format!("member_{:02}", (i * 5) % 14);
        dispatch.register(&name, "member-pass-1").await;
        names.push(name);
    }
    names.push(ADMIN.0.to_owned());
    names.sort();

    let browser = Browser::start().await;
    log_in(&browser, &dispatch, ADMIN.0, ADMIN.1).await;
    browser.wait_for_path("/admin/").await;
    browser.wait_for_text("#user-count", "15").await;

    browser.select("#page-size", "10").await;
    browser.click("th[data-sort=username] button").await;
    wait_for_usernames(&browser, "ascending usernames", &names[..10]).await;
    let sorted = browser
        .eval(
            "return document.querySelector('th[data-sort=username]').getAttribute('aria-sort')",
            vec![],
        )
        .await;
    assert_eq!(sorted, "ascending");
    browser.screenshot("admin").await;

    browser.click("th[data-sort=username] button").await;
    let descending: Vec<String> = names.iter().rev().cloned().collect();
    wait_for_usernames(&browser, "descending usernames", &descending[..10]).await;

    browser.click("#next-page").await;
    wait_for_usernames(&browser, "the second page", &descending[10..]).await;
    browser.wait_for_text("#page-label", "Page 2 of 2").await;
    browser.click("#prev-page").await;
    wait_for_usernames(&browser, "the first page again", &descending[..10]).await;

    browser.fill("#user-search", "member_07").await;
    wait_for_usernames(&browser, "the search result", &["member_07".to_owned()]).await;
    browser.wait_for_text("#result-count", "1 matching").await;

    assert_eq!(dispatch.login_status("member_07", "member-pass-1").await, 200);
    browser.click("#users-body tr[data-username=member_07] button").await;
    browser.wait_for_text("#users-body tr[data-username=member_07] button", "Reactivate").await;
    assert_eq!(dispatch.login_status("member_07", "member-pass-1").await, 403);

    // Someone registers meanwhile: the counter follows without a reload.
    dispatch.register("late_comer", "late-comer-pass-1").await;
    browser.wait_for_text("#user-count", "16").await;

    // The deactivated user, in the browser, is told why they cannot log in.
    browser.click("#logout").await;
    browser.wait_for_path("/login/").await;
    log_in(&browser, &dispatch, "member_07", "member-pass-1").await;
    browser.wait_for_text("#login-form [data-form-error]", "deactivated").await;
    browser.quit().await;
}

#[tokio::test]
async fn the_jobs_page_retries_a_failed_job_and_shows_it_succeed() {
    // Two registrations of one name while no worker runs: once one runs, the other fails.
    let mut dispatch = Dispatch::start(false).await;
    let client = reqwest::Client::new();
    let mut jobs = Vec::new();
    for password in ["first-password-1", "second-password-1"] {
        let accepted: Value = client
            .post(dispatch.url("/api/v1/auth/register/"))
            .json(&json!({"username": "twin", "email": format!("{password}@example.com"), "password": password}))
            .send()
            .await
            .expect("register")
            .json()
            .await
            .expect("a job");
        jobs.push(accepted["job_id"].as_str().expect("a job id").to_owned());
    }
    dispatch.start_worker();
    let mut finished = Vec::new();
    for job in &jobs {
        let url = dispatch.url(&format!("/api/v1/jobs/{job}/"));
        let outcome = dispatch_tests::process::await_job_state(
            &url,
            std::time::Duration::from_secs(30),
            "a registration",
            |j| j["status"] == "succeeded" || j["status"] == "failed",
        )
        .await;
        finished.push(outcome);
    }
    let failed =
        finished.iter().find(|j| j["status"] == "failed").expect("one registration failed");
    let failed_id = failed["id"].as_str().expect("an id").to_owned();

    // Free the name, as an operator would before retrying.
    let admin: Value = client
        .post(dispatch.url("/api/v1/auth/login/"))
        .json(&json!({"username": ADMIN.0, "password": ADMIN.1}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("a session");
    let token = admin["tokens"]["access"].as_str().expect("a token");
    let users: Value = client
        .get(dispatch.url("/api/v1/admin/users/?search=twin"))
        .bearer_auth(token)
        .send()
        .await
        .expect("users")
        .json()
        .await
        .expect("a page");
    let twin = users["results"][0]["id"].as_str().expect("twin");
    let deleted = client
        .delete(dispatch.url(&format!("/api/v1/admin/users/{twin}/")))
        .bearer_auth(token)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), 204);

    let browser = Browser::start().await;
    log_in(&browser, &dispatch, ADMIN.0, ADMIN.1).await;
    browser.wait_for_path("/admin/").await;
    browser.click("a[href='/admin/jobs/']").await;
    browser.wait_for_path("/admin/jobs/").await;
    browser.wait_for_text("#queues-body tr[data-kind=register_user]", "register_user").await;
    browser.wait_for_text("#workers-body", "ago").await;
    let row = format!("#failed-body tr[data-job-id='{failed_id}']");
    browser.wait_for_text(&row, "already exists").await;
    browser
        .wait_for(
            "the chart to count the two registrations",
            "const line = document.querySelector('#throughput-chart polyline[data-kind=register_user]'); \
             return line && line.dataset.total === '2';",
            vec![],
        )
        .await;
    browser.click(&format!("{row} button.retry")).await;
    browser.wait_for_text(&format!("{row} .job-status"), "succeeded").await;
    browser.screenshot("jobs").await;
    let status = dispatch
        .login_status(
            "twin",
            if failed_id == jobs[0] { "first-password-1" } else { "second-password-1" },
        )
        .await;
    assert_eq!(status, 200, "the retried registration created its user");
    browser.quit().await;
}
