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

# An admin for the web console's dashboard, unless one is configured: created at the API's
# first start with a random password kept in .dispatch/ (ignored by git) and printed below.
admin_line="Admin       as configured by DISPATCH_ADMIN_USERNAME"
if [[ -z "${DISPATCH_ADMIN_USERNAME:-}" ]]; then
  secret_file=.dispatch/admin-password
  if [[ ! -s $secret_file ]]; then
    mkdir -p .dispatch
    (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=\n' | head -c 20 > "$secret_file")
  fi
  DISPATCH_ADMIN_PASSWORD=$(cat "$secret_file")
  export DISPATCH_ADMIN_USERNAME=admin DISPATCH_ADMIN_EMAIL=admin@example.com DISPATCH_ADMIN_PASSWORD
  admin_line="Admin       admin / $DISPATCH_ADMIN_PASSWORD (made on first start; password in $secret_file)"
fi

./target/release/dispatch-worker &
worker=$!
cleanup() { kill -TERM "$worker" 2>/dev/null || true; wait "$worker" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

cat <<MSG

  Dispatch is starting:
    Web console http://$bind/
    $admin_line
    API         http://$bind/api/v1/
    Swagger UI  http://$bind/api-docs
    OpenAPI     http://$bind/api-docs/openapi.json
    Metrics     http://$bind/metrics (worker: ${DISPATCH_WORKER_METRICS_BIND:-127.0.0.1:9100}/metrics)
  Press Ctrl-C to stop.

MSG
./target/release/dispatch-api
