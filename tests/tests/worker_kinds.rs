//! Workers scaled per job kind: each runs only the kinds it is given (`--kinds` or
//! `DISPATCH_WORKER_KINDS`), and an unknown kind name stops it at start.

use dispatch_tests::Calls;
use std::process::Stdio;
use std::time::Duration;

use dispatch_tests::catalogue::{picture, products, upload_image};
use dispatch_tests::process::command;
use dispatch_tests::{wait_until, Binary, TestApp, TestEnv};
use serde_json::Value;

fn logged_worker(
    env: &TestEnv,
    log: &std::path::Path,
    flag: Option<&str>,
    extra: &[(&str, &str)],
) -> Binary {
    let file = std::fs::File::create(log).unwrap();
    let mut cmd = command("dispatch-worker", env);
    cmd.env("DISPATCH_LOG_FORMAT", "json")
        .stdout(Stdio::from(file.try_clone().unwrap()))
        .stderr(Stdio::from(file));
    for (k, v) in extra {
        cmd.env(k, v);
    }
    if let Some(kinds) = flag {
        cmd.arg("--kinds").arg(kinds);
    }
    Binary { child: cmd.spawn().expect("dispatch-worker starts"), name: "dispatch-worker" }
}

/// The kinds of the jobs a worker's log says it finished.
fn finished_kinds(log: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["fields"]["message"] == "job succeeded")
        .map(|l| l["span"]["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn job_status(app: &TestApp, token: &str, id: &str) -> String {
    let (_, job) = app.read(&format!("/api/v1/jobs/{id}/"), token).await;
    job["status"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn each_kind_is_processed_only_by_the_worker_that_runs_it() {
    let app = TestApp::spawn_without_worker().await;
    let dir = std::env::temp_dir().join(format!("dispatch-kinds-{}", app.env.id));
    std::fs::create_dir_all(&dir).unwrap();
    let general_log = dir.join("general.log");
    let images_log = dir.join("images.log");
    let mut general =
        logged_worker(&app.env, &general_log, Some("register_user,send_mail,daily_mail"), &[]);

    let admin = app.admin("root").await;
    let product = products(&app, &admin, &[("P", "1.00", 0)]).await.remove(0);
    let png = picture(300, 200, image::ImageFormat::Png);
    let (status, resize) = upload_image(&app, &admin.token, &product, png, "p.png", false).await;
    assert_eq!(status, 202);

    let resize_id = resize["job_id"].as_str().unwrap().to_owned();

    // The general worker finishes a registration enqueued after the resize, and leaves
    // the resize alone.
    let later = app.user("later").await;
    assert!(!later.id.is_empty());
    assert_eq!(job_status(&app, &admin.token, &resize_id).await, "queued");

    let mut images = logged_worker(
        &app.env,
        &images_log,
        None,
        &[
            ("DISPATCH_WORKER_KINDS", "resize_image"),
            ("DISPATCH_WORKER_CONCURRENCY", "resize_image=1"),
        ],
    );
    wait_until(Duration::from_secs(30), "the image worker to resize", || async {
        (job_status(&app, &admin.token, &resize_id).await == "succeeded").then_some(())
    })
    .await;
    let second = app.user("second").await;
    assert!(!second.id.is_empty());

    let general_kinds = finished_kinds(&general_log);
    let image_kinds = finished_kinds(&images_log);
    assert!(general_kinds.len() >= 3, "{general_kinds:?}");
    assert!(general_kinds.iter().all(|k| k == "register_user"), "{general_kinds:?}");
    assert_eq!(image_kinds, ["resize_image"]);
    let started = std::fs::read_to_string(&images_log).unwrap();
    assert!(started.contains("resize_image×1"), "{started}");
    general.kill();
    images.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the worker, which must refuse to start; its error output must name each of `named`.
fn refused_start(command: &mut std::process::Command, named: &[&str]) {
    let output = command.output().expect("dispatch-worker runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for name in named {
        assert!(stderr.contains(name), "{name} not in: {stderr}");
    }
}

#[tokio::test]
async fn an_unknown_kind_is_refused_at_start() {
    let env = TestEnv::new();
    let worker = || command("dispatch-worker", &env);
    refused_start(
        worker().args(["--kinds", "resize_image,thumbnails"]),
        &["--kinds", "thumbnails"],
    );
    refused_start(
        worker().env("DISPATCH_WORKER_KINDS", "mail"),
        &["DISPATCH_WORKER_KINDS", "\"mail\""],
    );
    refused_start(
        worker().env("DISPATCH_WORKER_CONCURRENCY", "resize_image=lots"),
        &["DISPATCH_WORKER_CONCURRENCY"],
    );
}
