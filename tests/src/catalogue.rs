//! Catalogue fixtures: categories, products and product images made through the API.

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::{TestApp, TestUser};

/// A new category's id.
pub async fn category(app: &TestApp, admin: &TestUser, name: &str) -> String {
    let body = app.created("/api/v1/categories/", &admin.token, &json!({ "name": name })).await;
    body["id"].as_str().expect("a category id").to_owned()
}

/// A new product (its JSON), from `fields` as the API takes them.
pub async fn product(app: &TestApp, admin: &TestUser, fields: Value) -> Value {
    app.created("/api/v1/products/", &admin.token, &fields).await
}

/// The ids of new products `(name, price, quantity)` in a new category.
pub async fn products(app: &TestApp, admin: &TestUser, items: &[(&str, &str, u32)]) -> Vec<String> {
    let category = category(app, admin, &format!("c-{}", uuid::Uuid::new_v4().simple())).await;
    let mut ids = Vec::with_capacity(items.len());
    for (name, price, quantity) in items {
        let created = product(
            app,
            admin,
            json!({"name": name, "price": price, "quantity": quantity, "category_id": category}),
        )
        .await;
        ids.push(created["id"].as_str().expect("a product id").to_owned());
    }
    ids
}

/// A picture in `format`: RGB for JPEG, RGBA (with transparency) otherwise.
pub fn picture(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let image = if format == image::ImageFormat::Jpeg {
        image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 251) as u8, (y % 241) as u8, 128])
        }))
    } else {
        image::DynamicImage::ImageRgba8(image::RgbaImage::from_fn(width, height, |x, y| {
            image::Rgba([(x % 251) as u8, (y % 241) as u8, 64, 200])
        }))
    };
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encodable");
    out.into_inner()
}

/// `POST /api/v1/products/{product}/image/` with `bytes` as the `image` field; `wait` adds
/// `Prefer: wait=30`. Returns the status and the JSON body.
pub async fn upload_image(
    app: &TestApp,
    token: &str,
    product: &str,
    bytes: Vec<u8>,
    file_name: &str,
    wait: bool,
) -> (u16, Value) {
    let form = Form::new().part("image", Part::bytes(bytes).file_name(file_name.to_owned()));
    let mut request = app
        .client
        .post(app.url(&format!("/api/v1/products/{product}/image/")))
        .bearer_auth(token)
        .multipart(form);
    if wait {
        request = request.header("Prefer", "wait=30");
    }
    let response = request.send().await.expect("upload");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}
