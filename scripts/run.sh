#!/usr/bin/env bash
# Runs Dispatch: starts MariaDB/Redis if needed, builds, applies migrations (the API does
# it at start), and runs dispatch-worker and dispatch-api together until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f .env ]] && { set -a; source .env; set +a; }
source scripts/services.sh
ensure_services

cargo build --release --bins
bind=${DISPATCH_BIND:-127.0.0.1:8000}

./target/release/dispatch-worker &
worker=$!
cleanup() { kill -TERM "$worker" 2>/dev/null || true; wait "$worker" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

cat <<MSG

  Dispatch is starting:
    API         http://$bind/api/v1/
    Swagger UI  http://$bind/api-docs
    OpenAPI     http://$bind/api-docs/openapi.json
    Metrics     http://$bind/metrics (worker: ${DISPATCH_WORKER_METRICS_BIND:-127.0.0.1:9100}/metrics)
  Press Ctrl-C to stop.

MSG
./target/release/dispatch-api
