//! The OpenAPI spec as a contract a machine checks: Schemathesis generates valid and invalid
//! requests for every operation of the spec the running API serves and applies all of its
//! checks (no 5xx, documented statuses, content types and bodies, valid data accepted,
//! invalid data refused, `Allow` on 405, …) against the real binaries. Operations added
//! later are covered as soon as they are in the spec.

use std::path::PathBuf;
use std::process::Command;

use dispatch_tests::process::{installed_by, start_api, Binary};
use dispatch_tests::TestEnv;
use serde_json::Value;

fn schemathesis() -> PathBuf {
    if let Ok(path) = std::env::var("SCHEMATHESIS_BIN") {
        return PathBuf::from(path);
    }
    // Installs it when missing (what ./scripts/test.sh does first).
    installed_by("schemathesis.sh")
}

fn operations_in(spec: &Value) -> usize {
    spec["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|item| item.as_object().map_or(0, |o| o.len()))
        .sum()
}

#[tokio::test]
async fn every_operation_honours_the_served_spec() {
    let bin = schemathesis();
    let mut env = TestEnv::new();
    let admin = [
        ("DISPATCH_ADMIN_USERNAME", "contract_admin"),
        ("DISPATCH_ADMIN_EMAIL", "contract_admin@example.com"),
        ("DISPATCH_ADMIN_PASSWORD", "contract-admin-pass-1"),
    ];
    let mut api_env = vec![("RUST_LOG", "warn")];
    api_env.extend(admin);
    let (_api, base) = start_api(&mut env, &api_env).await;
    let _worker = Binary::start("dispatch-worker", &env, &[("RUST_LOG", "warn")]);
    let spec_url = format!("{base}/api-docs/openapi.json");
    let spec: Value = reqwest::get(&spec_url).await.unwrap().json().await.unwrap();
    let operations = operations_in(&spec);

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemathesis");
    let examples = std::env::var("CONTRACT_MAX_EXAMPLES").unwrap_or_else(|_| "20".into());
    let seed = std::env::var("CONTRACT_SEED").unwrap_or_else(|_| "20261123".into());
    let run = tokio::task::spawn_blocking(move || {
        Command::new(bin)
            .current_dir(&dir)
            .env("DISPATCH_CONTRACT_BASE", &base)
            .env("PYTHONPATH", &dir)
            .env("SCHEMATHESIS_HOOKS", "hooks")
            .env("NO_COLOR", "1")
            .envs(admin)
            .args(["--config-file", "schemathesis.toml", "run", &spec_url])
            .args(["--checks", "all", "--max-examples", &examples, "--seed", &seed])
            .args(["--request-timeout", "30"])
            .output()
            .expect("schemathesis runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "Schemathesis found failures:\n{stdout}\n{stderr}");
    let tested = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Tested: "))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or_else(|| panic!("no 'Tested:' line in the output:\n{stdout}"));
    assert_eq!(tested, operations, "every operation is exercised:\n{stdout}");
}
