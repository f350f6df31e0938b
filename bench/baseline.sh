#!/usr/bin/env bash
# The CPU a registration costs outside hashing, now and at an earlier commit, on the same
# machine in the same run: machines of this kind differ by 2× between sessions, so a target
# like "halve it" compares only against a baseline measured beside it.
#
# Usage: bench/baseline.sh [COMMIT] [ROUNDS]
#   COMMIT  the baseline (default 0ab4e59, the code the performance targets were set against)
#   ROUNDS  baseline/current pairs, alternated so that drift in the machine hits both (default 5)
#
# Builds COMMIT's dispatch-api and dispatch-worker (release, from `git archive`, once, in
# $TMPDIR/dispatch-baseline/), then, for each round and each side: a fresh database and Redis
# namespace, the API and the worker, 48 registrations to warm them, then 400 registrations
# at 16 concurrent with `Prefer: wait`, counted from each process's threads' schedstat.
# Needs the repository's history (a clone has it).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services
source bench/counters.sh

baseline=${1:-0ab4e59}
rounds=${2:-5}
registrations=400
commit=$(git rev-parse --verify "$baseline^{commit}")
short=$(git rev-parse --short "$commit")
# Outside the repository: cargo reads the .cargo/config.toml of every directory above the
# build, and the current one (libsodium built without mmap) must not reach the baseline.
base_root="${TMPDIR:-/tmp}/dispatch-baseline/$short"
if [[ ! -x $base_root/target/release/dispatch-api || ! -x $base_root/target/release/dispatch-worker ]]; then
  echo "building $short's dispatch-api and dispatch-worker (release)..." >&2
  rm -rf "$base_root/src"; mkdir -p "$base_root/src"
  git archive "$commit" | tar -x -C "$base_root/src"
  (cd "$base_root/src" && CARGO_TARGET_DIR="$PWD/../target" \
    cargo build --release --bins -p dispatch-api -p dispatch-worker >/dev/null)
fi
cargo build --release --bins -p dispatch-api -p dispatch-worker -p dispatch-bench >/dev/null

export DISPATCH_JWT_SECRET="bench-secret-0123456789abcdef0123456789abcdef"
export DISPATCH_WORKER_METRICS_BIND=off
export DISPATCH_REGISTRATION_LIMIT=1000000
export RUST_LOG=warn
port=18000
tmp=$(mktemp -d)
pids=()
db=
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -n $db ]] && mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS \`$db\`" 2>/dev/null
  redis-cli --scan --pattern "dispatch_baseline_$$*" 2>/dev/null | xargs -r redis-cli del >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# measure SIDE BIN_DIR ROUND: one side's registrations; appends "side outside api worker mariadb
# redis hashing rate" to the results
measure() {
  local side=$1 dir=$2 round=$3
  db="dispatch_baseline_$$_${side}_$round"
  export DATABASE_URL="mysql://root@127.0.0.1:3306/$db?prefer_socket=false"
  export DISPATCH_REDIS_NAMESPACE="$db"
  # The API first: it applies the migrations the worker waits for.
  DISPATCH_BIND="127.0.0.1:$port" "$dir/dispatch-api" & pids+=($!); local api=$!
  local ready=
  for _ in $(seq 1 500); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && { ready=1; break; }
    sleep 0.02
  done
  [[ -n $ready ]] || { echo "the $side API did not become ready" >&2; exit 1; }
  "$dir/dispatch-worker" & pids+=($!); local worker=$!
  local servers=($(pgrep -x mariadbd) $(pgrep -x redis-server))
  target/release/dispatch-bench register --base "http://127.0.0.1:$port" --requests 48 --concurrency 16 >/dev/null
  sched_counters "$api" "$worker" "${servers[@]}" > "$tmp/s0"
  local line
  line=$(target/release/dispatch-bench register --base "http://127.0.0.1:$port" --requests "$registrations" --concurrency 16)
  sched_counters "$api" "$worker" "${servers[@]}" > "$tmp/s1"
  kill "$api" "$worker"; wait "$api" "$worker" 2>/dev/null || true
  mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS \`$db\`"
  redis-cli --scan --pattern "$db*" | xargs -r redis-cli del >/dev/null
  sched_per_job "$tmp/s0" "$tmp/s1" "$registrations" > "$tmp/per"
  awk -v side="$side" -v rate="$(rate_of "$line")" -v out="$(outside_hashing_ms "$tmp/per")" '
    {for (i = 1; i <= NF; i++) if ($i == "core") ms[$1] = $(i + 1)}
    END {
      printf "%s %.2f %.2f %.2f %.2f %.2f %.2f %.1f\n", side, out, ms["dispatch-api"],
        ms["dispatch-worker"], ms["mariadbd"], ms["redis-server"], ms["dispatch-api:hashing"], rate
    }' "$tmp/per" | tee -a "$tmp/results" | awk -v r="$round" '{
      printf "round %d  %-8s outside hashing %.2f ms (API %.2f, worker %.2f, MariaDB %.2f, Redis %.2f); hashing threads %.2f ms; %.1f registrations/s\n",
        r, $1, $2, $3, $4, $5, $6, $7, $8 }'
}

echo "== CPU per registration outside hashing: $short (baseline) against $(git describe --always --dirty) (current), $registrations registrations at c=16 per side and round"
for round in $(seq 1 "$rounds"); do
  measure baseline "$base_root/target/release" "$round"
  measure current target/release "$round"
done
awk '
  {n[$1]++; v[$1, n[$1]] = $2}
  END {
    for (s in n) {
      # median of the side'"'"'s rounds
      m = n[s]; for (i = 1; i <= m; i++) a[i] = v[s, i]
      for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      med[s] = (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    printf "median outside hashing: baseline %.2f ms, current %.2f ms = %.0f %% of the baseline\n",
      med["baseline"], med["current"], 100 * med["current"] / med["baseline"]
  }' "$tmp/results"
