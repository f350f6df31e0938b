//! `dispatch-resize-bench`: milliseconds to turn a 12-megapixel JPEG (and PNG) into the
//! thumbnail and full size, three ways in one run, and end to end through the worker.
//!
//! - `micro`: in this process. `naive` is what the `image` crate alone does (full decode,
//!   its Lanczos3 resize for each size, sequential encodes); `dispatch` is the worker's code
//!   (`imaging::both_sizes`); `decode only` is a full-size JPEG decode by the `image` crate,
//!   the floor of any approach that decodes every pixel.
//! - `worker`: uploads through the API with `Prefer: wait`, and reads the worker's own
//!   `dispatch_job_duration_seconds{kind="resize_image"}` (read, decode, resize, encode,
//!   write, and the row update).

use std::io::Cursor;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use dispatch_shared::media::{UploadFormat, FULL_SIDE, THUMB_SIDE};
use dispatch_worker::imaging;
use image::{DynamicImage, ImageFormat, RgbImage};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    Micro {
        #[arg(long, default_value_t = 7)]
        runs: usize,
    },
    Worker {
        #[arg(long, default_value = "http://127.0.0.1:8000")]
        base: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
        /// The worker's metrics URL.
        #[arg(long)]
        metrics: String,
        #[arg(long, default_value_t = 10)]
        uploads: usize,
    },
}

/// A photo-like 4000×3000 picture: smooth light over a fine random texture, which JPEG
/// cannot compress away (a flat test pattern would decode unrealistically fast).
fn photo(width: u32, height: u32) -> DynamicImage {
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261201);
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        let fx = x as f32 / width as f32;
        let fy = y as f32 / height as f32;
        let base = [180.0 * fx + 40.0, 160.0 * fy + 50.0, 120.0 * (1.0 - fx * fy) + 60.0];
        image::Rgb(base.map(|b| (b + rng.gen_range(-10.0..10.0)).clamp(0.0, 255.0) as u8))
    }))
}

fn encoded(image: &DynamicImage, format: ImageFormat) -> anyhow::Result<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    match format {
        ImageFormat::Jpeg => {
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
            image.write_with_encoder(encoder)?;
        }
        other => image.write_to(&mut out, other)?,
    }
    Ok(out.into_inner())
}

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}

fn time(runs: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    f()?; // warm-up
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        f()?;
        samples.push(started.elapsed());
    }
    Ok(median(samples))
}

/// The `image` crate alone: decode everything, resize twice from the original, encode.
fn naive(bytes: &[u8], format: ImageFormat) -> anyhow::Result<()> {
    let decoded = image::load_from_memory_with_format(bytes, format)?;
    for side in [FULL_SIDE, THUMB_SIDE] {
        let (w, h) = imaging::fitted(decoded.width(), decoded.height(), side);
        let resized = decoded.resize_exact(w, h, image::imageops::FilterType::Lanczos3);
        encoded(&resized, format)?;
    }
    Ok(())
}

fn micro(runs: usize) -> anyhow::Result<()> {
    let picture = photo(4000, 3000);
    for (format, upload) in
        [(ImageFormat::Jpeg, UploadFormat::Jpeg), (ImageFormat::Png, UploadFormat::Png)]
    {
        let bytes = encoded(&picture, format)?;
        let label = format!("{format:?} 4000×3000 ({:.1} MB)", bytes.len() as f64 / 1e6);
        let ours =
            time(runs, || imaging::both_sizes(&bytes, upload).map(|_| ()).map_err(Into::into))?;
        let floor = time(runs, || {
            image::load_from_memory_with_format(&bytes, format).map(|_| ()).map_err(Into::into)
        })?;
        let baseline = time(runs.min(3), || naive(&bytes, format))?;
        println!("{label}: both sizes");
        println!("  naive (image crate only)       {baseline:8.1} ms");
        println!("  full decode only (image crate) {floor:8.1} ms   (floor of a full decode)");
        println!(
            "  dispatch (imaging::both_sizes) {ours:8.1} ms   = {:.1}× faster than naive, {:.0} % of a full decode",
            baseline / ours,
            100.0 * ours / floor
        );
    }
    Ok(())
}

async fn worker(
    base: &str,
    username: &str,
    password: &str,
    metrics: &str,
    uploads: usize,
) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login/"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["tokens"]["access"].as_str().context("admin login")?.to_owned();
    let category: Value = client
        .post(format!("{base}/api/v1/categories/"))
        .bearer_auth(&token)
        .json(&json!({"name": format!("bench {}", uuid::Uuid::new_v4().simple())}))
        .send()
        .await?
        .json()
        .await?;
    let product: Value = client
        .post(format!("{base}/api/v1/products/"))
        .bearer_auth(&token)
        .json(&json!({"name": "bench", "price": "1.00", "category_id": category["id"]}))
        .send()
        .await?
        .json()
        .await?;
    let id = product["id"].as_str().context("product id")?;
    let bytes = encoded(&photo(4000, 3000), ImageFormat::Jpeg)?;
    let mut round_trips = Vec::new();
    for _ in 0..uploads {
        let form = reqwest::multipart::Form::new()
            .part("image", reqwest::multipart::Part::bytes(bytes.clone()).file_name("photo.jpg"));
        let started = Instant::now();
        let response = client
            .post(format!("{base}/api/v1/products/{id}/image/"))
            .bearer_auth(&token)
            .header("Prefer", "wait=30")
            .multipart(form)
            .send()
            .await?;
        if response.status() != 200 {
            bail!("upload answered {}: {}", response.status(), response.text().await?);
        }
        round_trips.push(started.elapsed());
    }
    let text = client.get(metrics).send().await?.text().await?;
    let value = |name: &str| -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(name) && l.contains("kind=\"resize_image\""))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    };
    let (sum, count) = (
        value("dispatch_job_duration_seconds_sum").context("worker metric sum")?,
        value("dispatch_job_duration_seconds_count").context("worker metric count")?,
    );
    println!(
        "12 MP JPEG through the worker: {:.1} ms per image in the worker (mean of {count}), \
         {:.0} ms upload → resized → answered (median, client side, includes the 3.4 MB upload)",
        1000.0 * sum / count,
        median(round_trips)
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().mode {
        Mode::Micro { runs } => micro(runs),
        Mode::Worker { base, username, password, metrics, uploads } => {
            worker(&base, &username, &password, &metrics, uploads).await
        }
    }
}
