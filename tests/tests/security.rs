//! What an attacker tries first, against the real binaries:
//! - every `{id}` operation of the served spec, as another user, must answer what an
//!   unknown id answers and change nothing (the matrix below must name every such path, so
//!   a new endpoint cannot be left out);
//! - every admin operation refuses a non-admin (403) and an anonymous caller (401) before it
//!   reads the id, the query or the body;
//! - every kind of response carries `X-Content-Type-Options: nosniff`, and pages their
//!   Content-Security-Policy.

use std::collections::BTreeMap;
use std::time::Duration;

use dispatch_tests::http::client_without_redirects;
use dispatch_tests::process::{start_api, Binary};
use dispatch_tests::remote::Api;
use dispatch_tests::ws::{self, close_code, connect};
use dispatch_tests::Calls;
use dispatch_tests::TestEnv;
use reqwest::Method;
use serde_json::{json, Value};

/// Every operation of the served spec as (method, path), paths as the spec writes them.
async fn operations(api: &Api) -> Vec<(Method, String)> {
    let spec: Value = api
        .http
        .get(format!("{}/api-docs/openapi.json", api.base))
        .send()
        .await
        .expect("spec served")
        .json()
        .await
        .expect("spec is JSON");
    let mut found = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (name, method) in [
            ("get", Method::GET),
            ("put", Method::PUT),
            ("post", Method::POST),
            ("patch", Method::PATCH),
            ("delete", Method::DELETE),
        ] {
            if item.get(name).is_some() {
                found.push((method, path.clone()));
            }
        }
    }
    found
}

/// One object owned by someone else than the stranger, and what the stranger may expect.
struct Target {
    id: String,
    /// Whoever owns or administers it, to read it back afterwards.
    owner_token: String,
    /// Where its owner reads it (to check that nothing changed).
    read_back: String,
    /// The status a stranger gets for each method: 404 for private objects, 403 for shared
    /// ones they may read but not write, 200 for shared reads.
    expected: BTreeMap<&'static str, u16>,
    /// A valid body for each method that takes one, so validation cannot mask the answer.
    bodies: BTreeMap<&'static str, Value>,
}

fn statuses(pairs: &[(&'static str, u16)]) -> BTreeMap<&'static str, u16> {
    pairs.iter().copied().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_admins_and_headers() {
    let mut env = TestEnv::new();
    let (_api, base) = start_api(&mut env, &[]).await;
    let _worker = Binary::start("dispatch-worker", &env, &[]);
    let api = Api::new(base);
    let (root, _) = api.account(&env, "root", true).await;
    let (ada, ada_id) = api.account(&env, "ada", false).await;
    let (bob, _) = api.account(&env, "bob", false).await;

    // Ada's objects, and the shared catalogue.
    let category = api
        .ok(Method::POST, "/api/v1/categories/", &root, Some(&json!({"name": "Books"})))
        .await["id"]
        .as_str()
        .expect("category id")
        .to_owned();
    let product_body =
        json!({"name": "Dune", "price": "12.50", "quantity": 10, "category_id": category});
    let product = api.ok(Method::POST, "/api/v1/products/", &root, Some(&product_body)).await["id"]
        .as_str()
        .expect("product id")
        .to_owned();
    let task = api.ok(Method::POST, "/api/v1/tasks/", &ada, Some(&json!({"title": "mine"}))).await
        ["id"]
        .as_str()
        .expect("task id")
        .to_owned();
    let assignment = api
        .ok(
            Method::POST,
            "/api/v1/assignments/",
            &ada,
            Some(&json!({"task_id": task, "user_id": ada_id, "date": "2030-01-01"})),
        )
        .await["id"]
        .as_str()
        .expect("assignment id")
        .to_owned();
    let line = json!({"product_id": product, "quantity": 1});
    api.ok(Method::POST, "/api/v1/cart/items/", &ada, Some(&line)).await;
    let order = api.ok(Method::POST, "/api/v1/cart/checkout/", &ada, None).await["id"]
        .as_str()
        .expect("order id")
        .to_owned();
    let cart = api.ok(Method::POST, "/api/v1/cart/items/", &ada, Some(&line)).await;
    let cart_line = cart["items"][0]["id"].as_str().expect("line id").to_owned();
    // Finished before the stranger starts, so its row no longer changes by itself.
    let finished: Value = api
        .http
        .post(format!("{}/api/v1/admin/jobs/daily-mail/", api.base))
        .bearer_auth(&root)
        .header("Prefer", "wait=20")
        .send()
        .await
        .expect("daily mail started")
        .json()
        .await
        .expect("a job");
    assert_eq!(finished["status"], "succeeded", "{finished}");
    let job = finished["id"].as_str().expect("job id").to_owned();

    let private = |id: &str, owner: &str, read_back: String, methods: &[&'static str]| Target {
        id: id.to_owned(),
        owner_token: owner.to_owned(),
        read_back,
        expected: methods.iter().map(|m| (*m, 404)).collect(),
        bodies: BTreeMap::new(),
    };
    let mut matrix: BTreeMap<&str, Target> = BTreeMap::new();
    let mut tasks =
        private(&task, &ada, format!("/api/v1/tasks/{task}/"), &["GET", "PUT", "PATCH", "DELETE"]);
    tasks.bodies =
        [("PUT", json!({"title": "taken"})), ("PATCH", json!({"title": "taken"}))].into();
    matrix.insert("/api/v1/tasks/{id}", tasks);
    matrix.insert(
        "/api/v1/assignments/{id}",
        private(&assignment, &ada, "/api/v1/assignments/".into(), &["DELETE"]),
    );
    let mut lines = private(&cart_line, &ada, "/api/v1/cart/".into(), &["PATCH", "DELETE"]);
    lines.bodies = [("PATCH", json!({"quantity": 2}))].into();
    matrix.insert("/api/v1/cart/items/{id}", lines);
    matrix.insert(
        "/api/v1/orders/{id}",
        private(&order, &ada, format!("/api/v1/orders/{order}/"), &["GET"]),
    );
    matrix.insert(
        "/api/v1/jobs/{id}",
        private(&job, &root, format!("/api/v1/jobs/{job}/"), &["GET", "DELETE"]),
    );
    matrix.insert("/ws/jobs/{id}", private(&job, &root, format!("/api/v1/jobs/{job}/"), &["GET"]));
    let shared = |id: &str, read_back: String, expected: &[(&'static str, u16)]| Target {
        id: id.to_owned(),
        owner_token: root.clone(),
        read_back,
        expected: statuses(expected),
        bodies: BTreeMap::new(),
    };
    let mut categories = shared(
        &category,
        format!("/api/v1/categories/{category}/"),
        &[("GET", 200), ("PUT", 403), ("PATCH", 403), ("DELETE", 403)],
    );
    categories.bodies =
        [("PUT", json!({"name": "Mine"})), ("PATCH", json!({"name": "Mine"}))].into();
    matrix.insert("/api/v1/categories/{id}", categories);
    let mut products = shared(
        &product,
        format!("/api/v1/products/{product}/"),
        &[("GET", 200), ("PUT", 403), ("PATCH", 403), ("DELETE", 403)],
    );
    products.bodies = [("PUT", product_body.clone()), ("PATCH", json!({"quantity": 0}))].into();
    matrix.insert("/api/v1/products/{id}", products);
    matrix.insert(
        "/api/v1/admin/jobs/{id}/retry",
        shared(&job, format!("/api/v1/jobs/{job}/"), &[("POST", 403)]),
    );
    matrix.insert(
        "/api/v1/products/{id}/image",
        shared(&product, format!("/api/v1/products/{product}/"), &[("POST", 403)]),
    );
    matrix.insert(
        "/api/v1/admin/users/{id}",
        shared(
            &ada_id,
            format!("/api/v1/admin/users/{ada_id}/"),
            &[("GET", 403), ("PATCH", 403), ("DELETE", 403)],
        ),
    );
    let mut admin_users = matrix.remove("/api/v1/admin/users/{id}").expect("just added");
    admin_users.bodies = [("PATCH", json!({"is_superuser": true}))].into();
    matrix.insert("/api/v1/admin/users/{id}", admin_users);

    // Every {id} operation of the spec is in the matrix, with an expectation.
    let all = operations(&api).await;
    for (method, path) in all.iter().filter(|(_, p)| p.contains('{')) {
        let target = matrix
            .get(path.as_str())
            .unwrap_or_else(|| panic!("{path} is not in the matrix: add who may do what"));
        assert!(
            target.expected.contains_key(method.as_str()),
            "{method} {path} has no expectation in the matrix"
        );
    }

    let mut before = BTreeMap::new();
    for target in matrix.values() {
        let seen = api.ok(Method::GET, &target.read_back, &target.owner_token, None).await;
        before.insert(target.read_back.clone(), seen);
    }
    for (template, target) in &matrix {
        let path = format!("{}/", template.replace("{id}", &target.id));
        for (method, expected) in &target.expected {
            if template.starts_with("/ws/") {
                let url = ws::url(&api.base, &path);
                let mut socket =
                    connect(&url, &[("authorization", &format!("Bearer {bob}"))]).await;
                assert_eq!(
                    close_code(&mut socket, Duration::from_secs(10)).await,
                    Some(4404),
                    "a stranger follows {path}"
                );
                continue;
            }
            let method = Method::from_bytes(method.as_bytes()).expect("a method");
            let body = target.bodies.get(method.as_str());
            let (status, answer) = api.call(method.clone(), &path, Some(&bob), body).await;
            assert_eq!(status, *expected, "a stranger's {method} {path}: {answer}");
            if *expected == 404 {
                // The same answer as for an id that does not exist at all.
                let unknown = format!(
                    "{}/",
                    template.replace("{id}", "00000000-0000-4000-8000-000000000000")
                );
                let (status, nothing) = api.call(method.clone(), &unknown, Some(&bob), body).await;
                assert_eq!((status, &nothing["type"]), (404, &answer["type"]), "{unknown}");
            }
        }
    }
    for target in matrix.values() {
        let after = api.ok(Method::GET, &target.read_back, &target.owner_token, None).await;
        assert_eq!(
            before[&target.read_back], after,
            "{} changed after a stranger's requests",
            target.read_back
        );
    }

    // Admin operations refuse first: a malformed id, query and body still get 403 / 401.
    let admin_operations = all.iter().filter(|(method, path)| {
        path.starts_with("/api/v1/admin/")
            || (*method != Method::GET
                && (path.starts_with("/api/v1/categories") || path.starts_with("/api/v1/products")))
    });
    let mut checked = 0;
    for (method, template) in admin_operations {
        let path = format!(
            "{}/?ordering=nope&page=0&page_size=0&search=%25",
            template.replace("{id}", "not-an-id")
        );
        for (token, expected) in [(Some(bob.as_str()), 403), (None, 401)] {
            let mut request = api
                .http
                .request(method.clone(), format!("{}{path}", api.base))
                .header("content-type", "application/json")
                .body("{\"broken");
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.expect("request sent");
            let status = response.status().as_u16();
            let problem: Value = response.json().await.unwrap_or_default();
            assert_eq!(status, expected, "{method} {path}: {problem}");
            let detail = problem["detail"].as_str().unwrap_or_default();
            for leak in ["ordering", "page", "JSON", "not-an-id", "parse", "broken"] {
                assert!(
                    !detail.contains(leak),
                    "{method} {path} answered about its input: {detail}"
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 14, "only {checked} admin operations found");

    // Every kind of response says nosniff; pages carry their policy.
    let with_token = |method: Method, path: &str, token: Option<&str>| {
        let mut request = api.http.request(method, format!("{}{path}", api.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
    };
    let no_redirects = client_without_redirects();
    let requests = [
        ("a JSON answer", with_token(Method::GET, "/api/v1/tasks/", Some(&ada))),
        (
            "a 201",
            with_token(Method::POST, "/api/v1/tasks/", Some(&ada)).json(&json!({"title": "t"})),
        ),
        ("a 400 problem", with_token(Method::POST, "/api/v1/tasks/", Some(&ada)).json(&json!({}))),
        ("a 401 problem", with_token(Method::GET, "/api/v1/tasks/", None)),
        ("a 403 problem", with_token(Method::GET, "/api/v1/admin/users/", Some(&bob))),
        ("a 404 problem", with_token(Method::GET, "/api/v1/nowhere/", Some(&ada))),
        ("a 405 problem", with_token(Method::PUT, "/api/v1/tasks/", Some(&ada))),
        ("the spec", with_token(Method::GET, "/api-docs/openapi.json", None)),
        ("Swagger UI", with_token(Method::GET, "/api-docs", None)),
        ("readiness", with_token(Method::GET, "/readyz", None)),
        ("a missing media file", with_token(Method::GET, "/media/products/none.jpg", None)),
        ("a console page", with_token(Method::GET, "/login/", None)),
        ("the console's redirect", no_redirects.get(format!("{}/", api.base))),
    ];
    for (what, request) in requests {
        let response = request.send().await.expect("request sent");
        let headers = response.headers();
        assert_eq!(
            headers.get("x-content-type-options").map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{what} ({}) lacks nosniff",
            response.status()
        );
        if what.contains("console") {
            assert!(
                headers.contains_key("content-security-policy"),
                "{what} lacks its Content-Security-Policy"
            );
        }
    }
}
