//! `Idempotency-Key` on every creating POST: a repeat with the same body answers the first
//! outcome again (`Idempotent-Replayed: true`) and creates nothing; another body is a 422;
//! a repeat while the first is handled is a 409; keys belong to their caller; outcomes
//! expire after 24 h. A repeat of a request whose answer was lost names the job it stored.

use dispatch_tests::catalogue::{category, picture, products};
use dispatch_tests::Calls;
use dispatch_tests::TestApp;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

struct Answer {
    status: u16,
    replayed: bool,
    location: Option<String>,
    body: Value,
}

async fn keyed(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    key: &str,
    body: Option<&Value>,
) -> Answer {
    let mut request = app.client.post(app.url(path)).header("Idempotency-Key", key);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    answer(request.send().await.expect("request sent")).await
}

/// A keyed task creation by the user holding `token`.
async fn keyed_task(app: &TestApp, token: &str, key: &str, body: &Value) -> Answer {
    keyed(app, "/api/v1/tasks/", Some(token), key, Some(body)).await
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let header =
        |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let replayed = header("idempotent-replayed").is_some_and(|v| v == "true");
    let location = header("location");
    let body = response.json().await.unwrap_or(Value::Null);
    Answer { status, replayed, location, body }
}

/// Sends `path` twice with one key: the second answer is the first, replayed.
async fn sent_twice(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
    expected: u16,
) -> Value {
    let key = uuid::Uuid::new_v4().to_string();
    let first = keyed(app, path, token, &key, body).await;
    assert_eq!(first.status, expected, "POST {path}: {}", first.body);
    assert!(!first.replayed);
    let again = keyed(app, path, token, &key, body).await;
    assert_eq!(again.status, first.status, "repeat of POST {path}: {}", again.body);
    assert!(again.replayed, "the repeat of POST {path} was not marked as replayed");
    assert_eq!(again.body, first.body);
    assert_eq!(again.location, first.location);
    first.body
}

#[tokio::test]
async fn a_repeated_task_creation_answers_the_first_task_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let ada = app.user("ada").await;
    let task = json!({"title": "once"});
    let created = sent_twice(&app, "/api/v1/tasks/", Some(&ada.token), Some(&task), 201).await;
    assert_eq!(created["title"], "once");
    assert_eq!(app.env.count_rows("tasks").await, 1);

    // The same key with another body is refused and creates nothing either.
    let key = "task-key-1";
    assert_eq!(keyed_task(&app, &ada.token, key, &task).await.status, 201);
    let reused =
        keyed(&app, "/api/v1/tasks/", Some(&ada.token), key, Some(&json!({"title": "twice"})))
            .await;
    assert_eq!(reused.status, 422);
    assert!(reused.body["type"].as_str().unwrap().ends_with("idempotency-key-reused"));
    assert_eq!(app.env.count_rows("tasks").await, 2);

    // Without the header, nothing changes: two requests, two tasks.
    app.create_task(&ada, task.clone()).await;
    app.create_task(&ada, task).await;
    assert_eq!(app.env.count_rows("tasks").await, 4);
}

#[tokio::test]
async fn keys_belong_to_their_caller() {
    let app = TestApp::spawn().await;
    let ada = app.user("ada").await;
    let bob = app.user("bob").await;
    let body = json!({"title": "mine"});
    let of_ada = keyed_task(&app, &ada.token, "shared-key", &body).await;
    let of_bob = keyed_task(&app, &bob.token, "shared-key", &body).await;
    assert_eq!((of_ada.status, of_bob.status), (201, 201));
    assert!(!of_bob.replayed);
    assert_ne!(of_ada.body["id"], of_bob.body["id"]);
    let (status, _) = app
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/tasks/{}/", of_bob.body["id"].as_str().unwrap()),
            Some(&bob.token),
            None,
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_repeats_of_one_key_create_exactly_one_object() {
    let app = TestApp::spawn().await;
    let ada = app.user("ada").await;
    let body = json!({"title": "raced"});
    for round in 0..5 {
        let key = format!("race-{round}");
        let answers = futures::future::join_all(
            (0..16).map(|_| keyed(&app, "/api/v1/tasks/", Some(&ada.token), &key, Some(&body))),
        )
        .await;
        let created: Vec<&Answer> = answers.iter().filter(|a| a.status == 201).collect();
        assert!(!created.is_empty(), "no request of round {round} created the task");
        for a in &answers {
            match a.status {
                201 => assert_eq!(a.body["id"], created[0].body["id"]),
                409 => {
                    assert!(a.body["type"].as_str().unwrap().ends_with("idempotency-key-in-use"))
                }
                other => panic!("round {round}: {other} {}", a.body),
            }
        }
        assert_eq!(created.iter().filter(|a| !a.replayed).count(), 1);
        assert_eq!(app.env.count_rows("tasks").await, round + 1);
    }
}

#[tokio::test]
async fn a_malformed_key_is_a_400_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let ada = app.user("ada").await;
    for key in ["", &"k".repeat(256), "caf\u{e9}"] {
        let response = app
            .client
            .post(app.url("/api/v1/tasks/"))
            .bearer_auth(&ada.token)
            .header("Idempotency-Key", key.as_bytes())
            .json(&json!({"title": "never"}))
            .send()
            .await
            .expect("request sent");
        let answer = answer(response).await;
        assert_eq!(answer.status, 400, "{}", answer.body);
        assert!(answer.body["errors"]["Idempotency-Key"].is_array(), "{}", answer.body);
    }
    assert_eq!(app.env.count_rows("tasks").await, 0);
}

#[tokio::test]
async fn an_outcome_past_24_hours_is_forgotten() {
    let app = TestApp::spawn().await;
    let ada = app.user("ada").await;
    let body = json!({"title": "again tomorrow"});
    let first = keyed_task(&app, &ada.token, "daily", &body).await;
    app.env.execute("UPDATE idempotency_keys SET expires_at = NOW(6) - INTERVAL 1 SECOND").await;
    let later = keyed_task(&app, &ada.token, "daily", &body).await;
    assert_eq!(later.status, 201);
    assert!(!later.replayed);
    assert_ne!(later.body["id"], first.body["id"]);
    assert_eq!(app.env.count_rows("tasks").await, 2);
}

#[tokio::test]
async fn registrations_and_the_daily_mail_trigger_enqueue_one_job_per_key() {
    let app = TestApp::spawn().await;
    let registration =
        json!({"username": "once", "email": "once@example.com", "password": "once-password-1"});
    let accepted = sent_twice(&app, "/api/v1/auth/register/", None, Some(&registration), 202).await;
    assert!(accepted["job_id"].is_string());
    assert_eq!(app.env.count_matching("jobs", "kind = 'register_user'").await, 1);

    let admin = app.admin("root").await;
    sent_twice(&app, "/api/v1/admin/jobs/daily-mail/", Some(&admin.token), None, 202).await;
    assert_eq!(app.env.count_matching("jobs", "kind = 'daily_mail'").await, 1);
}

/// A keyed request whose job was stored but whose answer was lost (the database went away
/// before the outcome was kept, so the key was given back): its repeat names the same job,
/// before the job has run and after, and stores no second one.
#[tokio::test]
async fn a_repeat_of_a_registration_whose_answer_was_lost_answers_its_job() {
    let mut app = TestApp::spawn_without_worker().await;
    let registration =
        json!({"username": "lost", "email": "lost@example.com", "password": "lost-password-1"});
    let path = "/api/v1/auth/register/";
    let first = keyed(&app, path, None, "lost-answer", Some(&registration)).await;
    assert_eq!(first.status, 202, "{}", first.body);
    let job = first.body["job_id"].as_str().expect("job id").to_owned();
    let forget_the_outcome = "DELETE FROM idempotency_keys";

    app.env.execute(forget_the_outcome).await;
    let queued = keyed(&app, path, None, "lost-answer", Some(&registration)).await;
    assert_eq!((queued.status, queued.replayed), (202, false), "{}", queued.body);
    assert_eq!(queued.body["job_id"], job.as_str());
    assert_eq!(queued.location, first.location);
    assert_eq!(app.env.count_matching("jobs", "kind = 'register_user'").await, 1);

    // The job has run and the user exists: the repeat is still the registration that made
    // them, not one refused as taken.
    app.env.execute(forget_the_outcome).await;
    app.env.execute("DELETE FROM jobs").await;
    let again = keyed(&app, path, None, "lost-answer", Some(&registration)).await;
    assert_eq!(again.status, 202, "{}", again.body);
    let job = again.body["job_id"].as_str().expect("job id").to_owned();
    app.start_worker();
    assert_eq!(app.await_job(&job, None).await["status"], "succeeded");
    app.env.execute(forget_the_outcome).await;
    let after = keyed(&app, path, None, "lost-answer", Some(&registration)).await;
    assert_eq!(after.status, 202, "{}", after.body);
    assert_eq!(after.body["job_id"], job.as_str());
    assert_eq!(app.env.count_matching("jobs", "kind = 'register_user'").await, 1);
    assert_eq!(app.env.count_rows("users").await, 1);

    // Once the outcome has expired, another body under the key is another registration.
    app.env.execute("UPDATE idempotency_keys SET expires_at = NOW(6) - INTERVAL 1 SECOND").await;
    let other =
        json!({"username": "found", "email": "found@example.com", "password": "found-password-1"});
    let another = keyed(&app, path, None, "lost-answer", Some(&other)).await;
    assert_eq!(another.status, 202, "{}", another.body);
    assert_ne!(another.body["job_id"], job.as_str());
    let another = another.body["job_id"].as_str().expect("job id").to_owned();
    assert_eq!(app.await_job(&another, None).await["status"], "succeeded");
    assert_eq!(app.env.count_rows("users").await, 2);
}

#[tokio::test]
async fn assignments_categories_and_products_are_created_once_per_key() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let ada = app.user("ada").await;
    let task = app.create_task(&ada, json!({"title": "assign me"})).await;
    let assignment = json!({"task_id": task["id"], "user_id": ada.id, "date": "2026-12-24"});
    sent_twice(&app, "/api/v1/assignments/", Some(&ada.token), Some(&assignment), 201).await;
    assert_eq!(app.env.count_rows("assignments").await, 1);

    sent_twice(
        &app,
        "/api/v1/categories/",
        Some(&admin.token),
        Some(&json!({"name": "Books"})),
        201,
    )
    .await;
    assert_eq!(app.env.count_rows("categories").await, 1);
    let books = category(&app, &admin, "More books").await;
    let product = json!({"name": "Dune", "price": "12.50", "quantity": 3, "category_id": books});
    sent_twice(&app, "/api/v1/products/", Some(&admin.token), Some(&product), 201).await;
    assert_eq!(app.env.count_rows("products").await, 1);
}

#[tokio::test]
async fn cart_lines_and_checkouts_are_applied_once_per_key() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let ids = products(&app, &admin, &[("Dune", "12.50", 5)]).await;
    let ada = app.user("ada").await;
    let line = json!({"product_id": ids[0], "quantity": 2});
    let cart = sent_twice(&app, "/api/v1/cart/items/", Some(&ada.token), Some(&line), 201).await;
    assert_eq!(cart["count"], 2, "the repeat added to the line: {cart}");
    let (_, now) = app.read("/api/v1/cart/", &ada.token).await;
    assert_eq!(now["count"], 2);

    let order = sent_twice(&app, "/api/v1/cart/checkout/", Some(&ada.token), None, 201).await;
    assert_eq!(order["total"], "25.00");
    assert_eq!(app.env.count_rows("orders").await, 1);
    let (_, product) = app.read(&format!("/api/v1/products/{}/", ids[0]), &ada.token).await;
    assert_eq!(product["quantity"], 3, "stock was taken twice");
}

#[tokio::test]
async fn an_image_upload_repeated_with_a_rebuilt_form_is_stored_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let ids = products(&app, &admin, &[("Dune", "12.50", 5)]).await;
    let path = format!("/api/v1/products/{}/image/", ids[0]);
    let bytes = picture(40, 30, image::ImageFormat::Png);
    // Each form gets a boundary of its own, as a client's retry would.
    let upload = || {
        let form = Form::new().part("image", Part::bytes(bytes.clone()).file_name("cover.png"));
        app.client
            .post(app.url(&path))
            .bearer_auth(&admin.token)
            .header("Idempotency-Key", "cover-1")
            .multipart(form)
            .send()
    };
    let first = answer(upload().await.expect("upload")).await;
    assert_eq!(first.status, 202, "{}", first.body);
    let again = answer(upload().await.expect("upload")).await;
    assert_eq!(again.status, 202, "{}", again.body);
    assert!(again.replayed);
    assert_eq!(again.body["job_id"], first.body["job_id"]);
    assert_eq!(app.env.count_matching("jobs", "kind = 'resize_image'").await, 1);
}

/// A client that hangs up before its answer does not cancel the request: its retry gets
/// the outcome (after a 409 while the first is still held), and one job exists.
#[tokio::test]
async fn a_retry_after_the_client_hung_up_gets_the_first_outcome() {
    let app = TestApp::spawn_without_worker().await;
    let registration =
        json!({"username": "hasty", "email": "hasty@example.com", "password": "hasty-password-1"});
    let impatient = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(300))
        .build()
        .expect("client");
    let send = |client: &reqwest::Client| {
        client
            .post(app.url("/api/v1/auth/register/"))
            .header("Idempotency-Key", "hasty-1")
            .header("Prefer", "wait=2")
            .json(&registration)
            .send()
    };
    assert!(send(&impatient).await.is_err(), "the first request was answered in time");
    let meanwhile = answer(send(&app.client).await.expect("retry sent")).await;
    assert_eq!(meanwhile.status, 409, "{}", meanwhile.body);
    assert!(meanwhile.body["type"].as_str().unwrap().ends_with("idempotency-key-in-use"));
    let replayed = dispatch_tests::wait_until(
        std::time::Duration::from_secs(10),
        "the first request's outcome",
        || async {
            let a = answer(send(&app.client).await.ok()?).await;
            (a.status != 409).then_some(a)
        },
    )
    .await;
    assert_eq!(replayed.status, 202, "{}", replayed.body);
    assert!(replayed.replayed);
    assert_eq!(app.env.count_matching("jobs", "kind = 'register_user'").await, 1);
}

/// A claim `begin` may have stored before MySQL failed it is given back once MySQL answers,
/// by its own lease's end: an unanswered claim of another request, and a kept outcome, stay.
#[tokio::test]
async fn a_claim_left_by_a_failed_begin_is_given_back_and_no_other() {
    use dispatch_shared::idempotency::{
        begin, finish, give_back, Begin, Fingerprint, IdempotencyKey, KeyOwner, Outcome, Scope,
    };

    let app = TestApp::spawn_without_worker().await;
    let pool = dispatch_shared::db::build_pool(&app.env.database_url, 2);
    let unreachable =
        dispatch_shared::db::build_pool("mysql://root@127.0.0.1:1/nowhere?prefer_socket=false", 1);
    let key = IdempotencyKey::parse("unsettled").unwrap();
    let scope = Scope::new(KeyOwner::Address([127, 0, 0, 1].into()), "POST", "/x/", &key);
    let body = Fingerprint::of(b"secret", b"{}");

    // The request whose begin failed; meanwhile a repeat holds the key.
    let failed = begin(&unreachable, &scope, &body).await.expect_err("MySQL is not there");
    assert_eq!(begin(&pool, &scope, &body).await.unwrap(), Begin::Proceed);
    give_back(&pool, &failed.claim).await.unwrap();
    assert_eq!(app.env.count_rows("idempotency_keys").await, 1, "the repeat's claim stays");
    assert_eq!(begin(&pool, &scope, &body).await.unwrap(), Begin::InUse);

    // The failed request's own claim, as MySQL stored it before the answer was lost: the
    // row as `begin` writes it, with that request's lease.
    let lease_ends = failed.claim.lease_ends().format("%Y-%m-%d %H:%M:%S%.6f");
    app.env.execute(&format!("UPDATE idempotency_keys SET locked_until = '{lease_ends}'")).await;
    give_back(&pool, &failed.claim).await.unwrap();
    assert_eq!(app.env.count_rows("idempotency_keys").await, 0, "its own claim is given back");
    assert_eq!(begin(&pool, &scope, &body).await.unwrap(), Begin::Proceed);

    // A kept outcome is never given back.
    let kept = Outcome { status: 201, content_type: None, location: None, body: b"{}".to_vec() };
    finish(&pool, &scope, &kept).await.unwrap();
    app.env.execute(&format!("UPDATE idempotency_keys SET locked_until = '{lease_ends}'")).await;
    give_back(&pool, &failed.claim).await.unwrap();
    assert_eq!(begin(&pool, &scope, &body).await.unwrap(), Begin::Replay(kept));
}
