#!/usr/bin/env bash
# The operators' queue counts at a million job rows: the statements
# `repo::job_operations::counts_by_kind` and `finished_per_minute` send, timed on a scratch
# database holding 1,000,000 jobs (a realistic mix: almost all finished, a few thousand
# waiting; the inserts fill the minute counts through the triggers), beside the same counts
# taken from the job rows with their index and forced to read the whole table (IGNORE INDEX).
# Each statement runs 20 times; the median and the worst are printed, with the rows MariaDB
# reads for it (EXPLAIN).
# Usage: bench/queue_counts.sh      (MariaDB is started if needed)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services

db="dispatch_queues_$$"
export DATABASE_URL="mysql://root@127.0.0.1:3306/$db"
cargo build --bins -p dispatch-api >/dev/null
target/debug/dispatch-api migrate >/dev/null
trap 'mariadb -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS $db"' EXIT
sql() { mariadb -uroot -h127.0.0.1 -N -B "$db" -e "$1"; }

echo "Filling $db.jobs with 1,000,000 rows..." >&2
sql "INSERT INTO jobs (id, kind, status, attempts, owner_id, payload, result, error, error_code,
       created_at, updated_at, finished_at, enqueued_at, lease_until, request_id)
     SELECT INSERT(INSERT(INSERT(INSERT(MD5(seq), 9, 0, '-'), 14, 0, '-'), 19, 0, '-'), 24, 0, '-'),
            ELT(1 + seq % 4, 'register_user', 'resize_image', 'send_mail', 'daily_mail'),
            CASE WHEN seq % 1000 = 0 THEN 'queued' WHEN seq % 1000 = 1 THEN 'running'
                 WHEN seq % 50 = 2 THEN 'failed' ELSE 'succeeded' END,
            1, NULL, NULL, NULL, NULL, NULL,
            NOW(6) - INTERVAL (seq % 172800) SECOND, NOW(6) - INTERVAL (seq % 172800) SECOND,
            CASE WHEN seq % 1000 IN (0, 1) THEN NULL ELSE NOW(6) - INTERVAL (seq % 172800) SECOND END,
            NOW(6) - INTERVAL (seq % 172800) SECOND, NULL, NULL
     FROM seq_1_to_1000000"
sql "ANALYZE TABLE jobs" >/dev/null

waiting="SELECT status, kind, COUNT(*), MIN(enqueued_at) FROM jobs %s
         WHERE status IN ('queued', 'running') GROUP BY status, kind"
# What the API sends for the finished counts: the trigger-kept minute counts.
finished="SELECT status, kind, CAST(SUM(jobs) AS SIGNED) FROM job_finish_minutes
          WHERE minute >= DATE_FORMAT(NOW() - INTERVAL 1 DAY, '%%Y-%%m-%%d %%H:%%i:00')
          GROUP BY status, kind"
minutes="SELECT kind, minute, CAST(SUM(jobs) AS SIGNED) FROM job_finish_minutes
         WHERE minute >= DATE_FORMAT(NOW() - INTERVAL 1 HOUR, '%%Y-%%m-%%d %%H:%%i:00')
         GROUP BY kind, minute"
# The same counts taken from the job rows, with the (status, finished_at, kind) index and
# without any index: what they would cost without the minute counts.
finished_rows="SELECT status, kind, COUNT(*) FROM jobs %s
          WHERE status IN ('failed', 'succeeded') AND finished_at >= NOW(6) - INTERVAL 1 DAY
          GROUP BY status, kind"
minutes_rows="SELECT kind, CAST(DATE_FORMAT(finished_at, '%%Y-%%m-%%d %%H:%%i:00') AS DATETIME) AS minute,
                COUNT(*) FROM jobs %s
         WHERE status IN ('succeeded', 'failed') AND finished_at >= NOW(6) - INTERVAL 1 HOUR
         GROUP BY kind, minute"
whole="IGNORE INDEX (jobs_status_kind_enqueued_idx, jobs_status_finished_kind_idx, jobs_status_enqueued_idx, jobs_status_lease_idx, jobs_finished_idx)"

time_ms() {
  local query=$1 times=()
  for _ in $(seq 20); do
    local start end
    start=$(date +%s%N)
    sql "$query" >/dev/null
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median %.1f ms, worst %.1f ms", a[int((NR+1)/2)]/1000, a[NR]/1000}'
}
rows_read() {
  sql "EXPLAIN $1" | awk -F'\t' '{print $9}' | paste -sd+ | bc
}
row() {
  printf '%-58s %s, %s rows\n' "$1" "$(time_ms "$2")" "$(rows_read "$2")"
}

# The counts must agree before their times mean anything.
by_minutes=$(sql "$(printf "$finished")" | sort)
by_rows=$(sql "SELECT status, kind, COUNT(*) FROM jobs WHERE status IN ('failed', 'succeeded')
               AND finished_at >= DATE_FORMAT(NOW() - INTERVAL 1 DAY, '%Y-%m-%d %H:%i:00')
               GROUP BY status, kind" | sort)
if [[ "$by_minutes" != "$by_rows" ]]; then
  echo "minute counts disagree with the job rows:" >&2
  diff <(echo "$by_minutes") <(echo "$by_rows") >&2
  exit 1
fi

# shellcheck disable=SC2059
{
  echo "statement (1,000,000 job rows, 500,000 finished in the last 24 h)"
  row "waiting: jobs, (status, kind, enqueued_at) index *" "$(printf "$waiting" "")"
  row "waiting: jobs, whole table" "$(printf "$waiting" "$whole")"
  row "finished in 24 h: job_finish_minutes *" "$(printf "$finished")"
  row "finished in 24 h: jobs, (status, finished_at, kind) index" "$(printf "$finished_rows" "")"
  row "finished in 24 h: jobs, whole table" "$(printf "$finished_rows" "$whole")"
  row "per minute, last hour: job_finish_minutes *" "$(printf "$minutes")"
  row "per minute, last hour: jobs, (status, finished_at) index" "$(printf "$minutes_rows" "")"
  row "per minute, last hour: jobs, whole table" "$(printf "$minutes_rows" "$whole")"
}
echo "(* what the API sends. Each time includes the mariadb client's start, about 3 ms here;"
echo " the rows are EXPLAIN's estimate.)"
