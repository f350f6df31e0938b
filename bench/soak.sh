#!/usr/bin/env bash
# The invariant soak: the design's invariants (daily assignment limit, stock, one user per
# username and per email, one welcome mail per user, one success per job) checked under
# truly concurrent requests against two API instances and two workers, 100 rounds each
# (the test suite runs the same checks 10 times).
# Usage: bench/soak.sh [rounds]      (MariaDB and Redis are started if needed)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services
rounds=${1:-100}
cargo build --bins >/dev/null
DISPATCH_SOAK_ROUNDS=$rounds cargo test -p dispatch-tests --test invariants_soak -- --nocapture
echo "invariant soak: every invariant held in each of $rounds rounds"
