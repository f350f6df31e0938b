//! The cluster files in `deploy/` hold together: every manifest validates offline against
//! Kubernetes' own schemas, every Deployment has its probes, limits, non-root and read-only
//! settings and takes its secrets from the Secret, every ScaledObject scales a Deployment
//! that exists, every metric the ScaledObjects, alert rules and dashboard use is one the real
//! binaries export, the alert rules pass promtool's checks and unit tests, and the Dockerfile
//! caches its dependencies and runs as the pods' user.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use dispatch_tests::process::{free_port, installed_by, start_api, Binary};
use dispatch_tests::remote::Api;
use dispatch_tests::ws::{self, connect};
use dispatch_tests::{wait_until, TestEnv};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `command`, which must succeed; its standard output, and both outputs together.
fn run(command: &mut Command) -> (String, String) {
    let output = command.output().expect("the command starts");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let both = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{command:?} failed:\n{both}");
    (stdout, both)
}

/// Metric names in a Prometheus text exposition.
fn exported(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(|name| {
            ["_sum", "_count", "_bucket"]
                .iter()
                .fold(name, |n, suffix| n.strip_suffix(suffix).unwrap_or(n))
                .to_owned()
        })
        .collect()
}

/// The Dockerfile, read by dockerfile-parse (building it needs a container engine and a
/// registry): the dependencies are cooked from cargo-chef's recipe and the build
/// configuration before the sources are copied, so a code change reuses that layer; the image runs as the non-root user the pods
/// ask for, checks `/healthz`, and ships both binaries, which need nothing beyond the C
/// library the slim base image has.
fn the_image_caches_dependencies_and_runs_as_the_pods_user(
    stages: &[Value],
    deployments: &[Value],
) {
    let steps = |stage: &Value| -> Vec<(String, String)> {
        stage["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|step| {
                (
                    step[0].as_str().unwrap_or_default().to_owned(),
                    step[1].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    let cooking = stages
        .iter()
        .map(steps)
        .find(|steps| steps.iter().any(|(_, v)| v.starts_with("cargo chef cook")))
        .expect("a stage cooks the dependencies with cargo-chef");
    let position = |wanted: &dyn Fn(&(String, String)) -> bool| {
        cooking.iter().position(wanted).expect("the step")
    };
    let cook = position(&|(_, v)| v.starts_with("cargo chef cook"));
    let sources = position(&|(i, v)| i == "COPY" && v == ". .");
    assert!(cook < sources, "the cook runs before the sources are copied");
    // Before the cook, only what the dependencies' build depends on: the recipe, and the
    // build configuration (the environment libsodium's configure sees).
    for (instruction, value) in &cooking[..cook] {
        if instruction == "COPY" {
            assert!(
                value.ends_with("recipe.json recipe.json") || value == ".cargo .cargo",
                "{value}"
            );
        }
    }
    assert!(
        cooking[..cook].iter().any(|(i, v)| i == "COPY" && v == ".cargo .cargo"),
        "the cook sees .cargo/config.toml"
    );

    let runtime = steps(stages.last().expect("a final stage"));
    let user = runtime
        .iter()
        .rev()
        .find(|(i, _)| i == "USER")
        .map(|(_, v)| v.clone())
        .expect("the image sets its user");
    let uid: u32 = user
        .split(':')
        .next()
        .and_then(|u| u.parse().ok())
        .expect("a numeric user, which runAsNonRoot can check");
    assert_ne!(uid, 0);
    for d in deployments {
        assert_eq!(d["pod_security"]["runAsUser"].as_u64(), Some(u64::from(uid)), "{}", d["name"]);
    }
    assert!(runtime.iter().any(|(i, v)| i == "HEALTHCHECK" && v.contains("/healthz")));
    let shipped: String = runtime
        .iter()
        .filter(|(i, v)| i == "COPY" && v.starts_with("--from="))
        .map(|(_, v)| v.as_str())
        .collect();
    for binary in ["dispatch-api", "dispatch-worker"] {
        assert!(shipped.contains(&format!("release/{binary}")), "{binary}");
        let built = root().join("target/debug").join(binary);
        let (libraries, _) = run(Command::new("ldd").arg(&built));
        for line in libraries.lines().filter(|l| l.contains("=>")) {
            let library = line.split_whitespace().next().unwrap_or_default();
            assert!(
                ["libc.so", "libm.so", "libgcc_s.so", "libdl.so", "libpthread.so"]
                    .iter()
                    .any(|base| library.starts_with(base)),
                "{binary} needs {library}, which the slim image lacks"
            );
        }
    }
    let ignored = std::fs::read_to_string(root().join(".dockerignore")).expect(".dockerignore");
    for entry in ["target", ".git", ".env"] {
        assert!(ignored.lines().any(|l| l.trim() == entry), "{entry}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_files_validate_and_refer_to_what_exists() {
    let venv = installed_by("deploy_tools.sh");
    let deploy = root().join("deploy");

    // Built-in kinds against Kubernetes' schemas; only KEDA's kind has none.
    let manifests: Vec<PathBuf> = std::fs::read_dir(deploy.join("kubernetes"))
        .expect("deploy/kubernetes")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    assert!(manifests.len() >= 8, "{manifests:?}");
    let (_, report) =
        run(Command::new(venv.join("bin/kubernetes-validate")).arg("--strict").args(&manifests));
    for line in report.lines().filter(|l| !l.contains(" passed ")) {
        assert!(
            line.contains("Couldn't find schema for kind ScaledObject"),
            "not validated: {line}"
        );
    }
    // Every file of built-in kinds was actually checked, not skipped.
    for manifest in &manifests {
        let name = manifest.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name != "keda.yaml" {
            assert!(
                report.lines().any(|l| l.contains(name) && l.contains(" passed ")),
                "{name} was not validated:\n{report}"
            );
        }
    }

    let facts: Value = serde_json::from_str(
        &run(Command::new(venv.join("bin/python"))
            .arg(root().join("tests/deploy/manifests.py"))
            .arg(&deploy))
        .0,
    )
    .expect("the manifests as JSON");
    let deployments = facts["deployments"].as_array().expect("deployments");
    let names: BTreeSet<&str> = deployments.iter().filter_map(|d| d["name"].as_str()).collect();
    for expected in [
        "dispatch-api",
        "dispatch-worker-general",
        "dispatch-worker-images",
        "dispatch-worker-mail",
    ] {
        assert!(names.contains(expected), "{expected} missing: {names:?}");
    }
    for d in deployments {
        let name = &d["name"];
        assert_eq!(d["probes"]["readinessProbe"], "/readyz", "{name}");
        assert_eq!(d["probes"]["livenessProbe"], "/healthz", "{name}");
        assert_eq!(d["pod_security"]["runAsNonRoot"], true, "{name}");
        assert_eq!(d["security"]["readOnlyRootFilesystem"], true, "{name}");
        assert_eq!(d["security"]["allowPrivilegeEscalation"], false, "{name}");
        assert!(d["resources"]["requests"]["memory"].is_string(), "{name}");
        assert!(d["resources"]["limits"]["memory"].is_string(), "{name}");
        let from_secret = d["env_from"]
            .as_array()
            .is_some_and(|e| e.iter().any(|s| s["secretRef"]["name"] == "dispatch-secrets"));
        assert!(from_secret, "{name} takes its secrets from the Secret");
        for var in d["env"].as_array().into_iter().flatten() {
            let key = var["name"].as_str().unwrap_or_default();
            assert!(
                !["SECRET", "PASSWORD", "TOKEN", "DATABASE_URL", "SMTP_URL"]
                    .iter()
                    .any(|s| key.contains(s)),
                "{name} sets {key} inline"
            );
        }
        if name.as_str().is_some_and(|n| n.contains("worker")) {
            // SIGTERM lets the jobs in hand finish for up to 120 s.
            assert!(d["grace"].as_u64().is_some_and(|g| g > 120), "{name}");
        }
        if name == "dispatch-api" || name == "dispatch-worker-images" {
            let mounts = d["mounts"].as_array().expect("mounts");
            assert!(
                mounts.iter().any(|m| m == "/var/lib/dispatch/media"),
                "{name} mounts the media volume"
            );
        }
    }
    the_image_caches_dependencies_and_runs_as_the_pods_user(
        facts["docker_stages"].as_array().expect("the Dockerfile's stages"),
        deployments,
    );
    let scaled = facts["scaled_objects"].as_array().expect("scaled objects");
    assert_eq!(scaled.len(), 3);
    for object in scaled {
        let target = object["target"].as_str().expect("a target");
        assert!(names.contains(target), "{} scales {target}, which does not exist", object["name"]);
        assert!(target.starts_with("dispatch-worker-"), "{target}");
    }

    // The metrics they use are the metrics the binaries export.
    let mut env = TestEnv::new();
    let (_api_binary, base) = start_api(&mut env, &[]).await;
    let worker_metrics = format!("127.0.0.1:{}", free_port());
    let _worker = Binary::start(
        "dispatch-worker",
        &env,
        &[("DISPATCH_WORKER_METRICS_BIND", &worker_metrics)],
    );
    let api = Api::new(base.clone());
    let (token, _) = api.account(&env, "metered", false).await;
    let socket_url = ws::url(&base, "/ws/tasks/");
    let _socket = connect(&socket_url, &[("authorization", &format!("Bearer {token}"))]).await;
    let scrape = |url: String| async move {
        reqwest::get(&url).await.ok()?.text().await.ok().map(|text| exported(&text))
    };
    reqwest::get(format!("{base}/readyz")).await.expect("readiness");
    let worker_url = format!("http://{worker_metrics}/metrics");
    let from_worker = wait_until(Duration::from_secs(20), "the worker's queue gauges", || {
        let url = worker_url.clone();
        async move {
            let names = scrape(url).await?;
            names.contains("dispatch_queue_oldest_seconds").then_some(names)
        }
    })
    .await;
    let from_api = wait_until(Duration::from_secs(10), "the API's socket gauge", || {
        let url = format!("{base}/metrics");
        async move {
            let names = scrape(url).await?;
            names.contains("dispatch_task_stream_sockets").then_some(names)
        }
    })
    .await;
    for (name, places) in facts["metrics"].as_object().expect("metrics") {
        assert!(
            from_worker.contains(name) || from_api.contains(name),
            "{name} (used by {places}) is exported by neither binary"
        );
    }

    // The alert rules.
    let observability = deploy.join("observability");
    run(Command::new("promtool").arg("check").arg("rules").arg(observability.join("alerts.yml")));
    run(Command::new("promtool")
        .current_dir(&observability)
        .arg("test")
        .arg("rules")
        .arg("alerts.test.yml"));
}

/// `.env.example` lists every variable the code reads.
#[test]
fn the_example_environment_names_every_variable() {
    let example = std::fs::read_to_string(root().join(".env.example")).expect(".env.example");
    let listed: BTreeSet<&str> = example
        .lines()
        .filter_map(|line| line.split_once('=').map(|(name, _)| name.trim()))
        .filter(|name| !name.starts_with('#'))
        .collect();
    let mut read = BTreeSet::new();
    for crate_dir in ["shared/src", "core/src", "api/src", "worker/src"] {
        let mut pending = vec![root().join(crate_dir)];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).expect("a source folder") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let source = std::fs::read_to_string(&path).expect("a source file");
                    for piece in source.split('"').skip(1).step_by(2) {
                        let is_variable = piece.starts_with("DISPATCH_")
                            && piece.chars().all(|c| c.is_ascii_uppercase() || c == '_');
                        if is_variable {
                            read.insert(piece.to_owned());
                        }
                    }
                }
            }
        }
    }
    assert!(read.len() > 25, "{read:?}");
    for variable in read.iter().chain(&["DATABASE_URL".to_owned(), "REDIS_URL".to_owned()]) {
        assert!(listed.contains(variable.as_str()), "{variable} is not in .env.example");
    }
}
