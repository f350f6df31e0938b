//! Product images (api.md §6): uploads judged by their bytes, refused early when too big or
//! too many pixels, resized by the real worker to 100 and 500 px long sides (never
//! enlarged, aspect kept, same format), served from /media with caching headers and no way
//! out of the media root.

use dispatch_tests::catalogue::{picture, products, upload_image};
use dispatch_tests::Calls;
use dispatch_tests::{TestApp, TestUser};
use image::ImageFormat;
use reqwest::multipart::Form;
use reqwest::Method;
use serde_json::json;

/// A real JPEG whose frame header claims 60000×60000 pixels: tiny on disk, 3.6 GP decoded.
fn decompression_bomb() -> Vec<u8> {
    let mut bytes = picture(16, 16, ImageFormat::Jpeg);
    let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).expect("a baseline frame header");
    let side = 60000u16.to_be_bytes();
    bytes[sof + 5..sof + 7].copy_from_slice(&side);
    bytes[sof + 7..sof + 9].copy_from_slice(&side);
    bytes
}

async fn setup() -> (TestApp, TestUser, String) {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let id = products(&app, &admin, &[("Camera", "99.00", 1)]).await.remove(0);
    (app, admin, id)
}

async fn fetch(app: &TestApp, url: &str) -> reqwest::Response {
    app.client.get(app.url(url)).send().await.expect("media request")
}

async fn dimensions(app: &TestApp, url: &str, format: ImageFormat) -> (u32, u32) {
    let response = fetch(app, url).await;
    assert_eq!(response.status(), 200, "{url}");
    let bytes = response.bytes().await.unwrap();
    let image = image::load_from_memory_with_format(&bytes, format).expect("a decodable image");
    (image.width(), image.height())
}

#[tokio::test]
async fn landscape_portrait_and_small_images_get_both_sizes_in_their_own_format() {
    let (app, admin, product) = setup().await;
    for (bytes, format, name, thumb, full) in [
        (picture(1200, 800, ImageFormat::Jpeg), ImageFormat::Jpeg, "a.jpg", (100, 67), (500, 333)),
        (picture(600, 900, ImageFormat::Png), ImageFormat::Png, "b.png", (67, 100), (333, 500)),
        (picture(80, 60, ImageFormat::WebP), ImageFormat::WebP, "c.webp", (80, 60), (80, 60)),
    ] {
        let (status, body) = upload_image(&app, &admin.token, &product, bytes, name, true).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body["image_status"], "ready", "{body}");
        let image = &body["image"];
        assert_eq!(
            dimensions(&app, image["thumb"].as_str().unwrap(), format).await,
            thumb,
            "{name}"
        );
        assert_eq!(dimensions(&app, image["full"].as_str().unwrap(), format).await, full, "{name}");
        let original = fetch(&app, image["original"].as_str().unwrap()).await;
        let content_type = original.headers()["content-type"].to_str().unwrap().to_owned();
        assert_eq!(content_type, format.to_mime_type(), "{name}");
    }
}

#[tokio::test]
async fn an_upload_is_a_job_and_replacing_an_image_never_mixes_old_and_new() {
    let (app, admin, product) = setup().await;
    let (status, accepted) = upload_image(
        &app,
        &admin.token,
        &product,
        picture(900, 600, ImageFormat::Jpeg),
        "first.jpg",
        false,
    )
    .await;
    assert_eq!(status, 202, "{accepted}");
    let job = app.await_job(accepted["job_id"].as_str().unwrap(), Some(&admin.token)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["kind"], "resize_image");
    let (_, first) = app.read(&format!("/api/v1/products/{product}/"), &admin.token).await;
    let first_thumb = first["image"]["thumb"].as_str().unwrap().to_owned();

    let (status, second) = upload_image(
        &app,
        &admin.token,
        &product,
        picture(300, 900, ImageFormat::Png),
        "second.png",
        true,
    )
    .await;
    assert_eq!(status, 200, "{second}");
    let urls = &second["image"];
    for size in ["original", "thumb", "full"] {
        let url = urls[size].as_str().unwrap();
        assert!(url.ends_with(".png"), "{url}");
        assert_eq!(fetch(&app, url).await.status(), 200);
    }
    // All three URLs belong to the same upload, and the old set is gone.
    let stem = urls["original"].as_str().unwrap().trim_end_matches(".png").to_owned();
    assert_eq!(urls["thumb"].as_str().unwrap(), format!("{stem}-thumb.png"));
    assert_eq!(urls["full"].as_str().unwrap(), format!("{stem}-full.png"));
    assert_eq!(fetch(&app, &first_thumb).await.status(), 404);

    // A list reader sees the new image at once (the page cache was invalidated).
    let (_, page) = app.read("/api/v1/products/", &admin.token).await;
    assert_eq!(page["results"][0]["image"], second["image"]);

    // Deleting the product deletes its images.
    let (status, _) =
        app.act(Method::DELETE, &format!("/api/v1/products/{product}/"), &admin.token).await;
    assert_eq!(status, 204);
    for size in ["original", "thumb", "full"] {
        assert_eq!(fetch(&app, urls[size].as_str().unwrap()).await.status(), 404);
    }
}

#[tokio::test]
async fn bad_uploads_are_refused_with_their_status_and_change_nothing() {
    let (app, admin, product) = setup().await;
    let user = app.user("shopper").await;
    let jpeg = picture(64, 64, ImageFormat::Jpeg);

    let (status, _) = upload_image(&app, &user.token, &product, jpeg.clone(), "a.jpg", false).await;
    assert_eq!(status, 403);
    let unknown = uuid::Uuid::new_v4().to_string();
    let (status, _) =
        upload_image(&app, &admin.token, &unknown, jpeg.clone(), "a.jpg", false).await;
    assert_eq!(status, 404);

    // The name says JPEG; the bytes say text (and GIF is not taken either).
    let (status, problem) = upload_image(
        &app,
        &admin.token,
        &product,
        b"just some text, not a picture".to_vec(),
        "photo.jpg",
        false,
    )
    .await;
    assert_eq!(status, 415, "{problem}");
    let (status, _) = upload_image(
        &app,
        &admin.token,
        &product,
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(),
        "g.png",
        false,
    )
    .await;
    assert_eq!(status, 415);

    let mut huge = picture(64, 64, ImageFormat::Jpeg);
    huge.resize(11 * 1024 * 1024, 0);
    let (status, problem) =
        upload_image(&app, &admin.token, &product, huge, "big.jpg", false).await;
    assert_eq!(status, 413, "{problem}");

    let (status, problem) =
        upload_image(&app, &admin.token, &product, decompression_bomb(), "bomb.jpg", false).await;
    assert_eq!(status, 400, "{problem}");
    assert!(problem["errors"]["image"][0].as_str().unwrap().contains("pixels"), "{problem}");

    // A complete header and half the pixel data: the API takes it, the worker cannot decode it.
    let mut truncated = picture(64, 64, ImageFormat::Png);
    truncated.truncate(truncated.len() / 2);
    let (status, problem) =
        upload_image(&app, &admin.token, &product, truncated, "cut.png", true).await;
    assert_eq!(status, 400, "an image whose data cannot be decoded: {problem}");
    let (_, seen) = app.read(&format!("/api/v1/products/{product}/"), &admin.token).await;
    assert_eq!(seen["image_status"], "failed");
    assert!(seen["image"].is_null());

    let (status, _) = app
        .send(
            Method::POST,
            &format!("/api/v1/products/{product}/image/"),
            &admin.token,
            &json!({"image": "base64?"}),
        )
        .await;
    assert_eq!(status, 415);
    let form = Form::new().text("other", "value");
    let response = app
        .client
        .post(app.url(&format!("/api/v1/products/{product}/image/")))
        .bearer_auth(&admin.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // No refused upload left a file behind.
    let media = std::path::PathBuf::from(&app.env.vars()["DISPATCH_MEDIA_ROOT"]);
    let files = walk(&media);
    assert!(files.iter().all(|f| !f.to_string_lossy().contains(".upload-")), "{files:?}");
    // Only the undecodable PNG (accepted from its header, failed by the job) was stored.
    assert_eq!(files.len(), 1, "{files:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(walk(&path));
            } else {
                found.push(path);
            }
        }
    }
    found
}

#[tokio::test]
async fn media_is_cached_validated_and_confined_to_the_media_root() {
    let (app, admin, product) = setup().await;
    let (status, body) = upload_image(
        &app,
        &admin.token,
        &product,
        picture(640, 480, ImageFormat::Jpeg),
        "a.jpg",
        true,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let thumb = body["image"]["thumb"].as_str().unwrap();
    let response = fetch(&app, thumb).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "image/jpeg");
    assert!(headers["cache-control"].to_str().unwrap().contains("max-age=31536000"));
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert!(headers.contains_key("last-modified"));
    let revalidated =
        app.client.get(app.url(thumb)).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(revalidated.status(), 304);

    // A secret next to the media root, and every way of climbing out of it.
    let media = std::path::PathBuf::from(&app.env.vars()["DISPATCH_MEDIA_ROOT"]);
    let secret = media.parent().unwrap().join(format!("{}-secret.txt", app.env.id));
    std::fs::write(&secret, "top secret").unwrap();
    let name = secret.file_name().unwrap().to_string_lossy().into_owned();
    let root_name = media.file_name().unwrap().to_string_lossy().into_owned();
    for path in [
        format!("/media/../{name}"),
        format!("/media/%2e%2e/{name}"),
        format!("/media/products/..%2f..%2f{name}"),
        format!("/media/%2e%2e%2f{name}"),
        format!("/media/..%5c{name}"),
        format!("/media/products/../../../{root_name}/../{name}"),
        "/media/.incoming/".to_owned(),
        "/media/%2eincoming/x".to_owned(),
        "/media//etc/passwd".to_owned(),
    ] {
        let response = app.client.get(format!("{}{path}", app.address)).send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        assert!(!text.contains("top secret") && !text.contains("root:"), "{path} leaked");
        assert!(matches!(status, 400 | 404), "{path}: {status}");
    }
    let _ = std::fs::remove_file(secret);
}

#[tokio::test]
async fn a_worker_without_the_apis_media_root_fails_the_job_readably() {
    let app = TestApp::spawn_without_worker().await;
    let elsewhere = std::env::temp_dir().join(format!("dispatch-other-media-{}", app.env.id));
    let mut worker = dispatch_tests::Binary::start(
        "dispatch-worker",
        &app.env,
        &[("DISPATCH_MEDIA_ROOT", elsewhere.to_str().unwrap())],
    );
    let admin = app.admin("root").await;
    let (_, category) =
        app.send(Method::POST, "/api/v1/categories/", &admin.token, &json!({"name": "C"})).await;
    let (_, product) = app
        .send(
            Method::POST,
            "/api/v1/products/",
            &admin.token,
            &json!({"name": "P", "price": "1.00", "category_id": category["id"]}),
        )
        .await;
    let id = product["id"].as_str().unwrap();
    let (status, accepted) =
        upload_image(&app, &admin.token, id, picture(200, 100, ImageFormat::Png), "p.png", false)
            .await;
    assert_eq!(status, 202);
    let job = app.await_job(accepted["job_id"].as_str().unwrap(), Some(&admin.token)).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert!(job["error"].as_str().unwrap().contains("DISPATCH_MEDIA_ROOT"), "{job}");
    let (_, seen) = app.read(&format!("/api/v1/products/{id}/"), &admin.token).await;
    assert_eq!(seen["image_status"], "failed");
    worker.kill();
    let _ = std::fs::remove_dir_all(elsewhere);
}
