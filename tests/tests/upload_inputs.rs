//! The image upload's multipart reader under hostile bodies: random boundaries, part counts,
//! field names, file names, truncation and garbage, around real and damaged images. Every
//! answer is a 2xx or a 4xx problem within a bounded time, and no temporary file is left
//! behind.

use std::io::Cursor;
use std::time::Duration;

use dispatch_shared::media::incoming_dir;
use dispatch_tests::catalogue::products;
use dispatch_tests::TestApp;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

#[derive(Debug, Clone)]
struct Part {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

#[derive(Debug, Clone)]
struct Upload {
    boundary: String,
    /// The boundary the header announces (sometimes not the one used).
    announced: String,
    parts: Vec<Part>,
    /// Where to cut the body, as a share of its length (`None`: whole).
    cut: Option<f64>,
    trailing: Vec<u8>,
}

fn jpeg() -> Vec<u8> {
    let image = image::RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8 * 6, y as u8 * 8, 7]));
    let mut bytes = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut bytes, image::ImageFormat::Jpeg)
        .expect("encodes");
    bytes.into_inner()
}

fn part() -> impl Strategy<Value = Part> {
    let body = prop_oneof![
        Just(jpeg()),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(at, value)| {
            let mut bytes = jpeg();
            let i = at.index(bytes.len());
            bytes[i] ^= value | 1;
            bytes
        }),
        (any::<prop::sample::Index>()).prop_map(|at| {
            let bytes = jpeg();
            bytes[..at.index(bytes.len())].to_vec()
        }),
        proptest::collection::vec(any::<u8>(), 0..2048),
    ];
    (
        prop_oneof![Just("image".to_owned()), "[a-z\"\\\\]{0,12}"],
        proptest::option::of("[ -~]{0,40}"),
        proptest::option::of(prop_oneof![Just("image/jpeg".to_owned()), "[ -~]{0,30}"]),
        body,
    )
        .prop_map(|(name, file_name, content_type, body)| Part {
            name,
            file_name,
            content_type,
            body,
        })
}

fn upload() -> impl Strategy<Value = Upload> {
    (
        "[A-Za-z0-9'()+_,./:=?-]{1,70}",
        proptest::option::of("[ -~]{0,70}"),
        proptest::collection::vec(part(), 0..40),
        proptest::option::of(0.0f64..1.0),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(boundary, announced, parts, cut, trailing)| Upload {
            announced: announced.unwrap_or_else(|| boundary.clone()),
            boundary,
            parts,
            cut,
            trailing,
        })
}

fn body(upload: &Upload) -> Vec<u8> {
    let mut body = Vec::new();
    for part in &upload.parts {
        body.extend_from_slice(format!("--{}\r\n", upload.boundary).as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
        if let Some(file_name) = &part.file_name {
            disposition.push_str(&format!("; filename=\"{file_name}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(content_type) = &part.content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&part.body);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{}--\r\n", upload.boundary).as_bytes());
    if let Some(share) = upload.cut {
        body.truncate((body.len() as f64 * share) as usize);
    }
    body.extend_from_slice(&upload.trailing);
    body
}

#[test]
fn hostile_multipart_bodies_get_answers_and_leave_nothing_behind() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let (app, admin, product) = runtime.block_on(async {
        let app = TestApp::spawn().await;
        let admin = app.admin("uploader").await;
        let product = products(&app, &admin, &[("Lamp", "10.00", 1)]).await.remove(0);
        (app, admin, product)
    });
    let url = app.url(&format!("/api/v1/products/{product}/image/"));
    let mut runner = TestRunner::new(Config { cases: 96, ..Config::default() });
    runner
        .run(&upload(), |upload| {
            let (status, answer) = runtime.block_on(async {
                let response = app
                    .client
                    .post(&url)
                    .bearer_auth(&admin.token)
                    .header(
                        "content-type",
                        format!("multipart/form-data; boundary={}", upload.announced),
                    )
                    .body(body(&upload))
                    .timeout(Duration::from_secs(20))
                    .send()
                    .await
                    .expect("an answer within the time limit");
                let status = response.status().as_u16();
                (status, response.text().await.unwrap_or_default())
            });
            prop_assert!(
                (200..300).contains(&status) || (400..500).contains(&status),
                "{status}: {answer}"
            );
            Ok(())
        })
        .expect("every body answered with 2xx or 4xx");
    let incoming = incoming_dir(&app.settings().media_root);
    let left: Vec<_> = std::fs::read_dir(&incoming)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "temporary uploads left behind: {left:?}");
    runtime.block_on(async move { drop(app) });
}
