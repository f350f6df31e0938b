#!/usr/bin/env bash
# Measures Dispatch (release build) on this machine and prints the figures:
#   idle RSS of dispatch-api and dispatch-worker, registration (hash + job round trip),
#   login, and profile reads with and without the per-instance user cache.
# Usage: bench/run.sh            (MariaDB and Redis are started if needed)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services

cargo build --release --bins -p dispatch-api -p dispatch-worker -p dispatch-bench >/dev/null
bin=target/release
db="dispatch_bench_$$"
export DATABASE_URL="mysql://root@127.0.0.1:3306/$db"
export DISPATCH_REDIS_NAMESPACE="dispatch_bench_$$"
export DISPATCH_JWT_SECRET="bench-secret-0123456789abcdef0123456789abcdef"
export DISPATCH_WORKER_METRICS_BIND=off
export RUST_LOG=warn
port=18000
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS \`$db\`" 2>/dev/null || true
  redis-cli --scan --pattern "dispatch_bench_$$*" 2>/dev/null | xargs -r redis-cli del >/dev/null 2>&1 || true
}
trap cleanup EXIT

start_api() { # $1 = extra env assignment
  env DISPATCH_BIND="127.0.0.1:$port" $1 "$bin/dispatch-api" &
  pids+=($!)
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "API did not start" >&2; exit 1
}
rss_mib() { awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' "/proc/$1/status"; }

"$bin/dispatch-worker" & pids+=($!)
start_api ""
api_pid=${pids[-1]}
sleep 2
echo "== idle RSS"
echo "dispatch-api     $(rss_mib "$api_pid")"
echo "dispatch-worker  $(rss_mib "${pids[0]}")"
echo "== load (2 cores shared by client, API, worker, MariaDB and Redis)"
"$bin/dispatch-bench" register --base "http://127.0.0.1:$port" --requests 200 --concurrency 16
"$bin/dispatch-bench" login    --base "http://127.0.0.1:$port" --requests 200 --concurrency 16
"$bin/dispatch-bench" profile  --base "http://127.0.0.1:$port" --requests 20000 --concurrency 64
echo "dispatch-api after load  $(rss_mib "$api_pid")"
kill "$api_pid"; wait "$api_pid" 2>/dev/null || true
start_api "DISPATCH_USER_CACHE_TTL=0"
echo "== profile reads with the user cache disabled (a MySQL read per request)"
"$bin/dispatch-bench" profile  --base "http://127.0.0.1:$port" --requests 20000 --concurrency 64
