# Server-side counters for bench/run.sh: what a run costs MariaDB and Redis, from their own
# statistics (SHOW GLOBAL STATUS, INFO commandstats), with the idle background subtracted.

# name value lines: MySQL statements by kind, and Redis calls per command.
server_counters() {
  mysql -uroot -h127.0.0.1 -N -B -e "SHOW GLOBAL STATUS WHERE Variable_name IN
    ('Questions','Com_select','Com_insert','Com_update','Com_delete','Com_stmt_prepare',
     'Com_stmt_execute','Com_stmt_close','Com_begin','Com_commit','Com_rollback','Com_set_option')" | awk '{print "mysql." $1, $2}'
  redis-cli INFO commandstats | tr -d '\r' \
    | awk -F'[:=,]' '/^cmdstat_/ {sub("cmdstat_", "", $1); print "redis." $1, $3}'
}

# counters_delta BEFORE AFTER: name delta lines (names present in AFTER).
counters_delta() {
  awk 'NR == FNR {before[$1] = $2; next} {d = $2 - before[$1]; if (d > 0) print $1, d}' "$1" "$2"
}

# per_job DELTA IDLE IDLE_SECONDS RUN_SECONDS JOBS: the run's counts per job, after taking
# away what the idle processes did over the same time.
per_job() {
  awk -v idle_s="$3" -v run_s="$4" -v jobs="$5" '
    NR == FNR {idle[$1] = $2; next}
    {net = $2 - idle[$1] * run_s / idle_s; if (net < 0) net = 0; per[$1] = net / jobs}
    END {
      for (k in per) {
        if (k == "mysql.Questions") q = per[k];
        else if (k ~ /^mysql\./) m = m sprintf(" %s %.1f", substr(k, 7), per[k]);
        else if (per[k] >= 0.05) { r = r sprintf(" %s %.1f", substr(k, 7), per[k]); rt += per[k] }
      }
      printf "MySQL statements per job: %.1f  (%s )\n", q, m;
      printf "Redis commands per job:   %.1f  (%s )\n", rt, r;
    }' "$2" "$1"
}

# sched_counters PID...: "process run_ns wait_ns slices" lines, summed over each process's
# threads from /proc/PID/task/*/schedstat (time on a core, time runnable but waiting for
# one, times scheduled in). An API's hashing threads count apart, as "<name>:hashing".
sched_counters() {
  local pid task name
  for pid in "$@"; do
    name=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
    for task in /proc/"$pid"/task/*; do
      case $(cat "$task/comm" 2>/dev/null) in
        argon2-*) printf '%s:hashing ' "$name" ;;
        *) printf '%s ' "$name" ;;
      esac
      cat "$task/schedstat" 2>/dev/null || echo "0 0 0"
    done
  done | awk '{run[$1] += $2; wait[$1] += $3; n[$1] += $4} END {for (k in run) print k, run[k], wait[k], n[k]}'
}

# sched_per_job BEFORE AFTER JOBS: each process's time on a core and time waiting for one,
# per job, between two sched_counters snapshots: where the pipeline's latency goes when the
# cores are busy.
sched_per_job() {
  awk -v jobs="$3" '
    NR == FNR {run[$1] = $2; wait[$1] = $3; n[$1] = $4; next}
    ($1 in run) {
      printf "  %-22s on a core %5.2f ms/job, waiting for one %5.2f ms/job, %5.1f wake-ups/job\n",
        $1, ($2 - run[$1]) / 1e6 / jobs, ($3 - wait[$1]) / 1e6 / jobs, ($4 - n[$1]) / jobs
    }' "$1" "$2" | sort
}

# children_cpu_ms FILE: the CPU (user + system, ms) of this shell's children that have ended,
# from bash's `times`; the difference around one command is that command's.
children_cpu_ms() {
  # Not in a pipe or $(…): a subshell's `times` would count the subshell's children.
  times > "$1"
  awk 'NR == 2 {
    for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); s += t[1] * 60 + t[2] }
    printf "%.0f\n", s * 1000 }' "$1"
}

# hashing_ticks PID: "user system" clock ticks of the process's hashing threads (argon2-*),
# from /proc/PID/task/*/stat: how much of hashing is the kernel's (mapping the memory block).
hashing_ticks() {
  local task
  for task in /proc/"$1"/task/*; do
    [[ $(cat "$task/comm" 2>/dev/null) == argon2-* ]] || continue
    # Fields after the command name, which is in parentheses: utime and stime are 12th and 13th.
    sed 's/^.*) //' "$task/stat" 2>/dev/null | awk '{print $12, $13}'
  done | awk '{u += $1; s += $2} END {print u + 0, s + 0}'
}

# outside_hashing_ms SCHED_PER_JOB_OUTPUT: the time on a core per job of every process but
# the API's hashing threads (what a registration costs outside hashing, the client apart).
outside_hashing_ms() {
  awk '!/hashing/ {for (i = 1; i <= NF; i++) if ($i == "core") s += $(i + 1)} END {printf "%.2f\n", s}' "$1"
}

# rate_of BENCH_LINE: the req/s figure of a dispatch-bench or wrk summary line.
rate_of() {
  echo "$1" | awk '{for (i = 1; i <= NF; i++) if ($(i + 1) == "req/s") print $i}'
}
