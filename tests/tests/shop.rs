//! Carts, checkout and orders (api.md §6): derived counts and totals, stock checks, one
//! transaction per checkout, and concurrent checkouts never selling more than the stock.

use dispatch_tests::catalogue::products;
use dispatch_tests::Calls;
use dispatch_tests::{TestApp, TestUser};
use futures::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};

async fn add(app: &TestApp, user: &TestUser, product: &str, quantity: u32) -> (u16, Value) {
    app.send(
        Method::POST,
        "/api/v1/cart/items/",
        &user.token,
        &json!({"product_id": product, "quantity": quantity}),
    )
    .await
}

async fn checkout(app: &TestApp, user: &TestUser) -> (u16, Value) {
    app.act(Method::POST, "/api/v1/cart/checkout/", &user.token).await
}

async fn set_product(app: &TestApp, admin: &TestUser, product: &str, fields: Value) {
    let (status, body) = app
        .send(Method::PATCH, &format!("/api/v1/products/{product}/"), &admin.token, &fields)
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn stock(app: &TestApp, user: &TestUser, product: &str) -> u64 {
    let (_, p) = app.read(&format!("/api/v1/products/{product}/"), &user.token).await;
    p["quantity"].as_u64().unwrap()
}

#[tokio::test]
async fn the_cart_derives_count_and_total_and_refuses_more_than_the_stock() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let ids = products(&app, &admin, &[("Dune", "12.50", 4), ("Emma", "0.10", 100)]).await;
    let ada = app.user("ada").await;
    let bob = app.user("bob").await;

    let (status, empty) = app.read("/api/v1/cart/", &ada.token).await;
    assert_eq!(status, 200);
    assert_eq!((empty["count"].as_u64(), empty["total"].as_str()), (Some(0), Some("0.00")));
    assert!(empty["items"].as_array().unwrap().is_empty() && empty["id"].is_string());

    let (status, cart) = add(&app, &ada, &ids[0], 2).await;
    assert_eq!(status, 201, "{cart}");
    let (status, cart) = add(&app, &ada, &ids[0], 1).await;
    assert_eq!(status, 200, "the same product grows its line: {cart}");
    assert_eq!(cart["items"].as_array().unwrap().len(), 1);
    let line = &cart["items"][0];
    assert_eq!((line["quantity"].as_u64(), line["line_total"].as_str()), (Some(3), Some("37.50")));
    assert_eq!(line["product"]["price"], "12.50");
    assert_eq!(line["product"]["name"], "Dune");

    let (status, problem) = add(&app, &ada, &ids[0], 2).await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["type"].as_str().unwrap().ends_with("insufficient-stock"));
    let (status, cart) = add(&app, &ada, &ids[1], 3).await;
    assert_eq!(status, 201);
    assert_eq!((cart["count"].as_u64(), cart["total"].as_str()), (Some(6), Some("37.80")));

    let line_id = cart["items"][0]["id"].as_str().unwrap().to_owned();
    let line_path = format!("/api/v1/cart/items/{line_id}/");
    let (status, _) =
        app.send(Method::PATCH, &line_path, &ada.token, &json!({"quantity": 5})).await;
    assert_eq!(status, 409);
    for (method, body) in [(Method::PATCH, Some(json!({"quantity": 1}))), (Method::DELETE, None)] {
        let (status, _) = app.call(method, &line_path, Some(&bob.token), body.as_ref()).await;
        assert_eq!(status, 404, "another user's line does not exist for them");
    }
    let (status, cart) =
        app.send(Method::PATCH, &line_path, &ada.token, &json!({"quantity": 1})).await;
    assert_eq!(status, 200);
    assert_eq!((cart["count"].as_u64(), cart["total"].as_str()), (Some(4), Some("12.80")));

    for body in [
        json!({"product_id": ids[0], "quantity": 0}),
        json!({"product_id": uuid::Uuid::new_v4(), "quantity": 1}),
        json!({"product_id": "not-a-uuid", "quantity": 1}),
    ] {
        let (status, problem) =
            app.send(Method::POST, "/api/v1/cart/items/", &ada.token, &body).await;
        assert_eq!(status, 400, "{body}: {problem}");
    }
    let (status, cart) = app.act(Method::DELETE, &line_path, &ada.token).await;
    assert_eq!(status, 200);
    assert_eq!((cart["count"].as_u64(), cart["total"].as_str()), (Some(3), Some("0.30")));
    let (_, theirs) = app.read("/api/v1/cart/", &bob.token).await;
    assert_eq!(theirs["count"], 0);
}

#[tokio::test]
async fn checkout_takes_the_stock_records_the_prices_and_empties_the_cart_or_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let ids = products(&app, &admin, &[("Dune", "12.50", 5), ("Emma", "7.99", 2)]).await;
    let ada = app.user("ada").await;
    let bob = app.user("bob").await;

    let (status, problem) = checkout(&app, &ada).await;
    assert_eq!(status, 409);
    assert!(problem["type"].as_str().unwrap().ends_with("empty-cart"));

    add(&app, &ada, &ids[0], 2).await;
    add(&app, &ada, &ids[1], 2).await;
    // Someone else bought Emma meanwhile: the checkout is refused and nothing changes.
    set_product(&app, &admin, &ids[1], json!({"quantity": 1})).await;
    let (status, problem) = checkout(&app, &ada).await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["errors"][&ids[1]].is_array(), "{problem}");
    assert!(problem["errors"].get(&ids[0]).is_none(), "{problem}");
    assert_eq!(stock(&app, &ada, &ids[0]).await, 5);
    assert_eq!(app.env.count_rows("orders").await, 0);
    let (_, cart) = app.read("/api/v1/cart/", &ada.token).await;
    assert_eq!(cart["count"], 4);

    set_product(&app, &admin, &ids[1], json!({"quantity": 2})).await;
    let (status, order) = checkout(&app, &ada).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["total"], "40.98");
    assert_eq!(order["items"][0]["name"], "Dune");
    assert_eq!(order["items"][0]["unit_price"], "12.50");
    assert_eq!(order["items"][0]["line_total"], "25.00");
    assert_eq!(order["items"][1]["quantity"], 2);
    assert_eq!((stock(&app, &ada, &ids[0]).await, stock(&app, &ada, &ids[1]).await), (3, 0));
    let (_, cart) = app.read("/api/v1/cart/", &ada.token).await;
    assert_eq!((cart["count"].as_u64(), cart["total"].as_str()), (Some(0), Some("0.00")));

    // The order keeps the price of its moment.
    set_product(&app, &admin, &ids[0], json!({"price": "99.00"})).await;
    let path = format!("/api/v1/orders/{}/", order["id"].as_str().unwrap());
    let (status, again) = app.read(&path, &ada.token).await;
    assert_eq!(status, 200);
    assert_eq!(again["items"][0]["unit_price"], "12.50");
    assert_eq!(app.read(&path, &bob.token).await.0, 404);
    assert_eq!(app.read(&path, &admin.token).await.0, 200);
    let (_, mine) = app.read("/api/v1/orders/", &ada.token).await;
    assert_eq!(mine["count"], 1);
    let (_, theirs) = app.read("/api/v1/orders/", &bob.token).await;
    assert_eq!(theirs["count"], 0);
    let (_, all) = app.read("/api/v1/orders/", &admin.token).await;
    assert_eq!(all["count"], 1);
}

#[tokio::test]
async fn twenty_concurrent_checkouts_of_a_stock_of_ten_sell_exactly_ten() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let ids = products(&app, &admin, &[("Scarce", "5.00", 10)]).await;
    let buyers = app.users("buyer", 20).await;
    for buyer in &buyers {
        let (status, _) = add(&app, buyer, &ids[0], 1).await;
        assert_eq!(status, 201);
    }
    let outcomes = join_all(buyers.iter().map(|buyer| checkout(&app, buyer))).await;
    let placed = outcomes.iter().filter(|(s, _)| *s == 201).count();
    let refused = outcomes.iter().filter(|(s, _)| *s == 409).count();
    assert_eq!((placed, refused), (10, 10), "{outcomes:?}");
    assert_eq!(stock(&app, &admin, &ids[0]).await, 0);
    assert_eq!(app.env.count_rows("orders").await, 10);
}

#[tokio::test]
async fn checkouts_sharing_products_in_opposite_orders_never_deadlock() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let ids = products(&app, &admin, &[("Left", "1.00", 1000), ("Right", "2.00", 1000)]).await;
    let buyers = app.users("pair", 8).await;
    for round in 0..3 {
        for (i, buyer) in buyers.iter().enumerate() {
            let (first, second) = if i % 2 == 0 { (0, 1) } else { (1, 0) };
            add(&app, buyer, &ids[first], 1).await;
            add(&app, buyer, &ids[second], 1).await;
        }
        let outcomes = join_all(buyers.iter().map(|buyer| checkout(&app, buyer))).await;
        assert!(outcomes.iter().all(|(s, _)| *s == 201), "round {round}: {outcomes:?}");
    }
    assert_eq!(stock(&app, &admin, &ids[0]).await, 1000 - 24);
    assert_eq!(stock(&app, &admin, &ids[1]).await, 1000 - 24);
}

/// Any price times any quantity the stock allows can pass what an order's columns hold: the
/// line is refused where it enters (400 naming `quantity`), and a checkout whose lines add up
/// to more is a 409 naming `total` that changes nothing. Never a 500.
#[tokio::test]
async fn amounts_an_order_cannot_hold_are_refused_where_they_enter() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let ids =
        products(&app, &admin, &[("Yacht", "99999999.99", 1000), ("Jet", "99999999.99", 1000)])
            .await;
    let ada = app.user("ada").await;

    let (status, problem) = add(&app, &ada, &ids[0], 200).await;
    assert_eq!(status, 400, "{problem}");
    assert!(problem["errors"]["quantity"].is_array(), "{problem}");
    let (_, cart) = app.read("/api/v1/cart/", &ada.token).await;
    assert_eq!(cart["count"], 0);

    // Each line fits; together they do not.
    assert_eq!(add(&app, &ada, &ids[0], 100).await.0, 201);
    assert_eq!(add(&app, &ada, &ids[1], 100).await.0, 201);
    let (status, problem) = checkout(&app, &ada).await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["type"].as_str().unwrap().ends_with("order-total-too-large"));
    assert!(problem["errors"]["total"].is_array(), "{problem}");
    assert_eq!(stock(&app, &ada, &ids[0]).await, 1000);
    assert_eq!(stock(&app, &ada, &ids[1]).await, 1000);
    assert_eq!(app.env.count_rows("orders").await, 0);

    // Raising a line past the bound is refused the same way.
    let (_, cart) = app.read("/api/v1/cart/", &ada.token).await;
    let line = cart["items"][0]["id"].as_str().unwrap().to_owned();
    let (status, problem) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/cart/items/{line}/"),
            &ada.token,
            &json!({"quantity": 150}),
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    assert!(problem["errors"]["quantity"].is_array(), "{problem}");
}
