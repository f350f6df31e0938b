//! The served spec generates complete clients with the generators clients use most:
//! openapi-python-client (every operation, every schema; then one flow through it against a
//! real API) and openapi-typescript (every path, no field typed `X & unknown`).

use std::path::{Path, PathBuf};
use std::process::Command;

use dispatch_tests::catalogue::products;
use dispatch_tests::process::installed_by;
use dispatch_tests::TestApp;
use serde_json::Value;

/// The folder with both generators (installed by `scripts/client_generators.sh`).
fn generators() -> PathBuf {
    installed_by("client_generators.sh")
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("the command starts");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every operation of the spec, as (method, path).
fn operations(spec: &Value) -> Vec<(String, String)> {
    let methods = ["get", "put", "post", "patch", "delete"];
    let mut found = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in methods {
            if item.get(method).is_some() {
                found.push((method.to_owned(), path.clone()));
            }
        }
    }
    found
}

/// openapi-python-client's module name for an operation without an `operationId`.
fn python_module(method: &str, path: &str) -> String {
    let words: Vec<String> = path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    format!("{method}_{}.py", words.join("_"))
}

fn python_modules(package: &Path) -> Vec<String> {
    let mut modules = Vec::new();
    let folders = std::fs::read_dir(package.join("api")).expect("api folder");
    for tag in folders.map(|entry| entry.expect("an entry").path()) {
        if !tag.is_dir() {
            continue;
        }
        for module in std::fs::read_dir(tag).expect("a tag folder") {
            let name = module.expect("a module").file_name();
            modules.push(name.to_string_lossy().into_owned());
        }
    }
    modules
}

// The generators and the flow block their thread while the API (in this process) serves
// them from the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_generators_produce_every_operation_and_the_python_client_works() {
    let tools = generators();
    let app = TestApp::spawn().await;
    let admin = app.admin("clientadmin").await;
    products(&app, &admin, &[("Dune", "12.50", 3)]).await;
    let spec: Value = app
        .client
        .get(app.url("/api-docs/openapi.json"))
        .send()
        .await
        .expect("the spec is served")
        .json()
        .await
        .expect("the spec is JSON");
    let work = tempfile::tempdir().expect("a scratch folder");
    let spec_path = work.path().join("openapi.json");
    std::fs::write(&spec_path, spec.to_string()).expect("spec written");

    // Python: every operation has its module and no schema was dropped.
    let package = work.path().join("dispatch_client");
    let generated = run(Command::new(tools.join("venv/bin/openapi-python-client"))
        .arg("generate")
        .arg("--path")
        .arg(&spec_path)
        .arg("--output-path")
        .arg(&package)
        .arg("--meta")
        .arg("none"));
    assert!(!generated.contains("Unable to process schema"), "a schema was dropped:\n{generated}");
    let modules = python_modules(&package);
    for (method, path) in operations(&spec) {
        let module = python_module(&method, &path);
        assert!(modules.contains(&module), "{method} {path} has no client function ({module})");
    }
    for model in ["new_task.py", "task_patch.py", "product.py", "product_patch.py"] {
        assert!(package.join("models").join(model).exists(), "{model} missing");
    }

    // One flow through it against the running API.
    let seen: Value = serde_json::from_str(&run(Command::new(tools.join("venv/bin/python"))
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients/flow.py"))
        .arg(&app.address)
        .arg(work.path())))
    .expect("the flow prints JSON");
    assert_eq!(seen["job_status"], "succeeded", "{seen}");
    assert_eq!(seen["job_result_username"], seen["user"], "{seen}");
    assert_eq!(seen["task_title"], "from Python");
    assert_eq!(
        (&seen["task_status_is_enum"], &seen["task_status"]),
        (&Value::Bool(true), &Value::from("TO DO"))
    );
    assert_eq!(seen["count"], 1);
    assert_eq!(
        seen["products"][0],
        serde_json::json!({"name": "Dune", "price": "12.50", "image": null, "image_status": null})
    );

    // TypeScript: every path typed, no field left as `X & unknown`.
    let types = work.path().join("dispatch.d.ts");
    run(Command::new(tools.join("node_modules/.bin/openapi-typescript"))
        .arg(&spec_path)
        .arg("-o")
        .arg(&types));
    let typed = std::fs::read_to_string(&types).expect("types written");
    assert!(!typed.contains("& unknown"), "imprecise types:\n{typed}");
    for (_, path) in operations(&spec) {
        assert!(typed.contains(&format!("\"{path}\": {{")), "{path} is not typed");
    }
    assert!(
        typed.contains("status_task?: components[\"schemas\"][\"TaskStatusValue\"] | null;"),
        "a task change's status is not the enum"
    );
    assert!(
        typed.contains("image?: components[\"schemas\"][\"ProductImage\"] | null;"),
        "a product's image is not nullable"
    );
}
