# The job drain for bench/run.sh (sourced; needs counters.sh, $bin and the running worker's
# $worker_pid): one worker empties a queue of registrations that filled while it was down.
# Prints the rate beside the statements and commands each job cost (the enqueue, then the
# run), and each process's time on a core per job.

# drain_registrations N: stops the worker, queues N registrations (dispatch-drain-bench
# fill), starts a worker and waits for all N to succeed. Leaves the new worker in
# $worker_pid.
drain_registrations() {
  local jobs=$1
  kill "$worker_pid"; wait "$worker_pid" 2>/dev/null || true
  server_counters > "$tmp/drain0"
  "$bin/dispatch-drain-bench" fill --jobs "$jobs" --run "$$-$jobs"
  server_counters > "$tmp/drain1"
  local servers=($(pgrep -x mariadbd) $(pgrep -x redis-server))
  sched_counters "${servers[@]}" > "$tmp/drain_sched0"
  echo "dispatch-worker 0 0 0" >> "$tmp/drain_sched0"
  "$bin/dispatch-worker" & pids+=($!); worker_pid=$!
  "$bin/dispatch-drain-bench" await --jobs "$jobs" --run "$$-$jobs"
  sched_counters "$worker_pid" "${servers[@]}" > "$tmp/drain_sched1"
  server_counters > "$tmp/drain2"
  "$bin/dispatch-drain-bench" sweep
  server_counters > "$tmp/drain3"
  counters_delta "$tmp/drain0" "$tmp/drain1" > "$tmp/drain_enqueue"
  counters_delta "$tmp/drain1" "$tmp/drain2" > "$tmp/drain_run"
  counters_delta "$tmp/drain2" "$tmp/drain3" > "$tmp/drain_sweep"
  counters_delta "$tmp/drain0" "$tmp/drain3" > "$tmp/drain_all"
  echo "the enqueue (a jobs row and apalis-redis's push, as the API does it):"
  drain_per_job "$tmp/drain_enqueue" "$jobs"
  echo "the run (fetch, the job's transaction, its event, the acknowledgement):"
  drain_per_job "$tmp/drain_run" "$jobs"
  echo "the sweep of the finished tasks from Redis (the worker's upkeep, each minute):"
  drain_per_job "$tmp/drain_sweep" "$jobs"
  echo "all told, per job:"
  drain_per_job "$tmp/drain_all" "$jobs"
  echo "where the time went (the worker from its start, so its start-up is in it):"
  sched_per_job "$tmp/drain_sched0" "$tmp/drain_sched1" "$jobs" | sed 's/^/  /'
}

# drain_per_job DELTA JOBS: statements and commands per job, every command named.
drain_per_job() {
  awk -v jobs="$2" '
    /^mysql\.Questions/ {q = $2 / jobs}
    /^redis\./ {r += $2; if ($2 / jobs >= 0.05) list = list sprintf(" %s %.2f", substr($1, 7), $2 / jobs)}
    /^redis\.publish / {p = $2 / jobs}
    END {
      printf "  MySQL statements per job %.2f; Redis commands per job %.2f, PUBLISH %.2f\n", q, r / jobs, p;
      printf "  (%s )\n", list;
    }' "$1"
}
