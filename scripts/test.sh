#!/usr/bin/env bash
# Runs the whole test suite against real MariaDB and Redis (started here if needed). Each
# test creates and drops its own database and Redis namespace, so tests run in parallel.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services
ensure_browser

# The end-to-end tests start the real binaries as separate processes.
cargo build --bins
# The API contract test fuzzes the served OpenAPI spec with Schemathesis.
SCHEMATHESIS_BIN=$(./scripts/schemathesis.sh)
export SCHEMATHESIS_BIN
# The generated-clients test uses openapi-python-client and openapi-typescript.
./scripts/client_generators.sh >/dev/null
# The deployment test uses kubernetes-validate and promtool.
./scripts/deploy_tools.sh >/dev/null
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
