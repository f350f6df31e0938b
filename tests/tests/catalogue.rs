//! Categories and products (api.md §6): exact money, every filter and ordering, admin-only
//! writes, and the Redis page cache never serving a page from before a write.

use dispatch_tests::catalogue::{category, product};
use dispatch_tests::Calls;
use dispatch_tests::{call_at, TestApp, TestUser};
use reqwest::Method;
use serde_json::{json, Value};

fn names(page: &Value) -> Vec<&str> {
    page["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect()
}

/// Six products in two categories, one of them created "last year".
async fn seed(app: &TestApp, admin: &TestUser) -> (String, String) {
    let books = category(app, admin, "Books").await;
    let games = category(app, admin, "Games").await;
    for (name, brand, cat, price, quantity, rating) in [
        ("Dune", "Ace", &books, "12.50", 10, 4.5),
        ("Emma", "Penguin", &books, "7.99", 0, 3.9),
        ("Ulysses", "Penguin Classics", &books, "15.00", 3, 4.1),
        ("Chess", "Staunton", &games, "49.90", 2, 4.9),
        ("Go", "Kuroki", &games, "120.00", 1, 5.0),
        ("Dominoes", "Ace", &games, "7.99", 25, 2.0),
    ] {
        product(
            app,
            admin,
            json!({"name": name, "brand": brand, "category_id": cat, "price": price,
                   "quantity": quantity, "rating": rating}),
        )
        .await;
    }
    app.env
        .execute("UPDATE products SET created_at = '2020-06-01 12:00:00' WHERE name = 'Emma'")
        .await;
    (books, games)
}

#[tokio::test]
async fn reads_need_a_login_and_writes_need_an_admin() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let user = app.user("shopper").await;
    let books = category(&app, &admin, "Books").await;
    let body = json!({"name": "Dune", "category_id": books, "price": "1.00"});
    assert_eq!(app.status(Method::GET, "/api/v1/products/", None).await, 401);
    assert_eq!(app.status(Method::GET, "/api/v1/categories/", None).await, 401);
    let (status, _) = app.send(Method::POST, "/api/v1/products/", &user.token, &body).await;
    assert_eq!(status, 403);
    let (status, _) =
        app.send(Method::POST, "/api/v1/categories/", &user.token, &json!({"name": "Toys"})).await;
    assert_eq!(status, 403);
    let created = product(&app, &admin, body).await;
    let path = format!("/api/v1/products/{}/", created["id"].as_str().unwrap());
    let (status, seen) = app.read(&path, &user.token).await;
    assert_eq!((status, seen["name"].as_str()), (200, Some("Dune")));
    for method in [Method::PATCH, Method::PUT, Method::DELETE] {
        let (status, _) =
            app.call(method, &path, Some(&user.token), Some(&json!({"price": "0.50"}))).await;
        assert_eq!(status, 403);
    }
    assert_eq!(app.env.count_rows("products").await, 1);
}

#[tokio::test]
async fn money_is_exact_and_bad_fields_are_field_errors_that_change_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let books = category(&app, &admin, "Books").await;
    let created =
        product(&app, &admin, json!({"name": "  Dune ", "category_id": books, "price": "12.5"}))
            .await;
    assert_eq!(created["price"], "12.50");
    assert_eq!(created["name"], "Dune");
    assert_eq!(created["rating"], 5.0);
    assert_eq!(created["quantity"], 0);
    assert_eq!(created["category_name"], "Books");
    assert!(created["image"].is_null() && created["image_status"].is_null());

    for (body, field) in [
        (json!({"name": "X", "category_id": books, "price": 12.5}), "price"),
        (json!({"name": "X", "category_id": books, "price": "-1.00"}), "price"),
        (json!({"name": "X", "category_id": books, "price": "1.005"}), "price"),
        (json!({"name": "X", "category_id": books, "price": "1e3"}), "price"),
        (json!({"name": "X", "category_id": books, "price": "100000000.00"}), "price"),
        (json!({"name": "X", "category_id": books, "price": "1", "rating": 0}), "rating"),
        (json!({"name": "X", "category_id": books, "price": "1", "rating": 5.1}), "rating"),
        (json!({"name": "X", "category_id": books, "price": "1", "quantity": -1}), "quantity"),
        (json!({"name": "x".repeat(51), "category_id": books, "price": "1"}), "name"),
        (json!({"name": "   ", "category_id": books, "price": "1"}), "name"),
        (
            json!({"name": "X", "category_id": books, "price": "1", "description": "d".repeat(201)}),
            "description",
        ),
        (json!({"name": "X", "category_id": uuid::Uuid::new_v4(), "price": "1"}), "category_id"),
        (json!({"name": "X", "price": "1"}), "category_id"),
    ] {
        let (status, problem) =
            app.send(Method::POST, "/api/v1/products/", &admin.token, &body).await;
        assert_eq!(status, 400, "{body} → {problem}");
        assert!(problem["errors"][field].is_array(), "{body} → {problem}");
    }
    assert_eq!(app.env.count_rows("products").await, 1);

    let path = format!("/api/v1/products/{}/", created["id"].as_str().unwrap());
    let (status, patched) = app
        .send(Method::PATCH, &path, &admin.token, &json!({"price": "0.10", "rating": 4.44}))
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!((patched["price"].as_str(), patched["rating"].as_f64()), (Some("0.10"), Some(4.4)));
    let (status, _) =
        app.send(Method::PATCH, &path, &admin.token, &json!({"price": "0.101"})).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn categories_are_unique_ignoring_case_filterable_and_kept_while_in_use() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let books = category(&app, &admin, "Books").await;
    category(&app, &admin, "Board Games").await;
    let (status, problem) = app
        .send(Method::POST, "/api/v1/categories/", &admin.token, &json!({"name": "books"}))
        .await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["type"].as_str().unwrap().ends_with("category-exists"));

    let (_, exact) = app.read("/api/v1/categories/?name=BOOKS", &admin.token).await;
    assert_eq!(names(&exact), ["Books"]);
    let (_, part) = app.read("/api/v1/categories/?name_contains=oar", &admin.token).await;
    assert_eq!(names(&part), ["Board Games"]);
    let (_, all) = app.read("/api/v1/categories/?ordering=-name", &admin.token).await;
    assert_eq!(names(&all), ["Books", "Board Games"]);
    assert_eq!(all["count"], 2);

    product(&app, &admin, json!({"name": "Dune", "category_id": books, "price": "1.00"})).await;
    let path = format!("/api/v1/categories/{books}/");
    let (status, problem) = app.act(Method::DELETE, &path, &admin.token).await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["type"].as_str().unwrap().ends_with("category-in-use"));
    let (status, renamed) =
        app.send(Method::PATCH, &path, &admin.token, &json!({"name": "Novels"})).await;
    assert_eq!((status, renamed["name"].as_str()), (200, Some("Novels")));
    let (status, same) =
        app.send(Method::PUT, &path, &admin.token, &json!({"name": "Novels"})).await;
    assert_eq!(status, 200, "{same}");
}

#[tokio::test]
async fn every_filter_and_ordering_works_on_seeded_products() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    seed(&app, &admin).await;
    let user = app.user("shopper").await;
    let list = |query: &'static str| {
        let app = &app;
        let token = user.token.clone();
        async move {
            let (status, page) = app.read(&format!("/api/v1/products/{query}"), &token).await;
            assert_eq!(status, 200, "{query}: {page}");
            page
        }
    };

    let page = list("").await;
    assert_eq!(names(&page), ["Chess", "Dominoes", "Dune", "Emma", "Go", "Ulysses"]);
    assert_eq!(page["count"], 6);
    for (query, expected) in [
        ("?category_name=books", vec!["Dune", "Emma", "Ulysses"]),
        ("?name=dune", vec!["Dune"]),
        ("?name_contains=O", vec!["Dominoes", "Go"]),
        ("?brand=ace", vec!["Dominoes", "Dune"]),
        ("?brand_contains=penguin", vec!["Emma", "Ulysses"]),
        ("?min_price=12.50", vec!["Chess", "Dune", "Go", "Ulysses"]),
        ("?max_price=7.99", vec!["Dominoes", "Emma"]),
        ("?min_price=10&max_price=50", vec!["Chess", "Dune", "Ulysses"]),
        ("?min_quantity=3", vec!["Dominoes", "Dune", "Ulysses"]),
        ("?max_quantity=1", vec!["Emma", "Go"]),
        ("?min_rating=4.5", vec!["Chess", "Dune", "Go"]),
        ("?max_rating=3.9", vec!["Dominoes", "Emma"]),
        ("?released_after=2021", vec!["Chess", "Dominoes", "Dune", "Go", "Ulysses"]),
        ("?released_after=2020", vec!["Chess", "Dominoes", "Dune", "Emma", "Go", "Ulysses"]),
        ("?ordering=-price,name", vec!["Go", "Chess", "Ulysses", "Dune", "Dominoes", "Emma"]),
        ("?ordering=price,-name", vec!["Emma", "Dominoes", "Dune", "Ulysses", "Chess", "Go"]),
        ("?ordering=-rating", vec!["Go", "Chess", "Dune", "Ulysses", "Emma", "Dominoes"]),
        ("?ordering=quantity", vec!["Emma", "Go", "Chess", "Ulysses", "Dune", "Dominoes"]),
        ("?ordering=-quantity", vec!["Dominoes", "Dune", "Ulysses", "Chess", "Go", "Emma"]),
        ("?ordering=created_at&name_contains=emma", vec!["Emma"]),
        ("?ordering=-name&page_size=2&page=2", vec!["Emma", "Dune"]),
    ] {
        let page = list(query).await;
        assert_eq!(names(&page), expected, "{query}");
    }
    let oldest_first = list("?ordering=created_at").await;
    assert_eq!(names(&oldest_first)[0], "Emma");
    let newest_first = list("?ordering=-created_at").await;
    assert_eq!(names(&newest_first)[5], "Emma");

    for query in [
        "?min_price=abc",
        "?min_price=1.234",
        "?min_rating=7",
        "?released_after=0",
        "?ordering=colour",
        "?min_quantity=-1",
    ] {
        let (status, problem) = app.read(&format!("/api/v1/products/{query}"), &user.token).await;
        assert_eq!(status, 400, "{query}: {problem}");
    }
}

#[tokio::test]
async fn no_instance_serves_a_cached_page_from_before_a_write() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let (books, _) = seed(&app, &admin).await;
    let second = app.spawn_second_instance().await;
    let client = reqwest::Client::new();
    let read = |base: String, query: &'static str| {
        let client = client.clone();
        let token = admin.token.clone();
        async move {
            let (status, page) = call_at(
                &client,
                &format!("{base}/api/v1/products/{query}"),
                Method::GET,
                Some(&token),
                None,
            )
            .await;
            assert_eq!(status, 200);
            page
        }
    };
    let price_of = |page: &Value, name: &str| {
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["price"].as_str().unwrap().to_owned())
    };

    // Both instances have the page cached.
    for _ in 0..2 {
        assert_eq!(
            price_of(&read(second.clone(), "?category_name=books").await, "Dune").as_deref(),
            Some("12.50")
        );
        assert_eq!(
            price_of(&read(app.address.clone(), "?category_name=books").await, "Dune").as_deref(),
            Some("12.50")
        );
    }
    let mut cached = app.env.redis().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}:products:page:*", app.env.namespace))
        .query_async(&mut cached)
        .await
        .unwrap();
    assert!(!keys.is_empty(), "the page is cached in Redis");

    // A price change on the first instance is seen on the second at once.
    let (_, page) = app.read("/api/v1/products/?name=dune", &admin.token).await;
    let dune = page["results"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/products/{dune}/"),
            &admin.token,
            &json!({"price": "13.75"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        price_of(&read(second.clone(), "?category_name=books").await, "Dune").as_deref(),
        Some("13.75")
    );

    // A category rename, a new product and a deletion, each seen at once.
    let (status, _) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/categories/{books}/"),
            &admin.token,
            &json!({"name": "Novels"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(read(second.clone(), "?category_name=books").await["count"], 0);
    assert_eq!(read(second.clone(), "?category_name=novels").await["count"], 3);
    product(&app, &admin, json!({"name": "Aeneid", "category_id": books, "price": "3.00"})).await;
    assert_eq!(names(&read(second.clone(), "?category_name=novels").await)[0], "Aeneid");
    let (status, _) =
        app.act(Method::DELETE, &format!("/api/v1/products/{dune}/"), &admin.token).await;
    assert_eq!(status, 204);
    assert_eq!(read(second.clone(), "?category_name=novels").await["count"], 3);
    assert!(price_of(&read(second, "?category_name=novels").await, "Dune").is_none());
}

#[tokio::test]
async fn filters_accept_exactly_what_their_schema_allows() {
    let app = TestApp::spawn().await;
    let admin = app.admin("boss").await;
    seed(&app, &admin).await;
    let status_of = |query: &'static str| {
        let app = &app;
        let token = admin.token.clone();
        async move {
            let (status, body) = app.read(&format!("/api/v1/products/?{query}"), &token).await;
            (status, body)
        }
    };
    // The published pattern forbids an empty amount, a sign, a third decimal and spaces.
    for query in ["min_price=", "max_price=", "min_price=-1", "min_price=1.005", "max_price=%201"] {
        let (status, problem) = status_of(query).await;
        assert_eq!(status, 400, "{query}: {problem}");
        let field = query.split('=').next().unwrap_or_default();
        assert!(
            problem["detail"].as_str().unwrap_or_default().contains(field),
            "{query}: the problem names the parameter: {problem}"
        );
    }
    // Every amount and quantity the schema allows is a filter, up to its published maximum.
    for query in
        ["min_price=0", "max_price=99999999.99", "max_quantity=4294967295", "min_quantity=0"]
    {
        let (status, page) = status_of(query).await;
        assert_eq!(status, 200, "{query}: {page}");
    }
    let (status, problem) = status_of("max_quantity=4294967296").await;
    assert_eq!(status, 400, "{problem}");
}
