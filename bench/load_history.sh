#!/usr/bin/env bash
# A large generated history straight into the benchmarks' own ClickHouse (state .state/bench, ports
# 39000/38123), for the benchmarks that need 100 k to 10 M appeals (python -m streams.generator.bulk).
# Starts and migrates ClickHouse when it is not running, loads, then reports the tables' size on disk
# (system.parts) and the engine's peak memory. ClickHouse is stopped at the end if this run started it,
# unless --keep is given (then it stays up for the next benchmark; stop it with
# `CUR_STATE_DIR=.state/bench CLICKHOUSE_PORT=39000 CLICKHOUSE_HTTP_PORT=38123 bash infra/services/clickhouse.sh stop`).
#   bash bench/load_history.sh [--keep] [--fresh] ARGUMENTS OF python -m streams.generator.bulk
#   bash bench/load_history.sh --fresh --keep --days 100 --appeals 1000000 --seed 7
# --fresh empties appeals, appeal_status_events and rejected_events first (a measured load starts empty).
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export CUR_STATE_DIR="${CUR_BENCH_STATE_DIR:-$REPO_ROOT/.state/bench}"
export CLICKHOUSE_PORT=39000 CLICKHOUSE_HTTP_PORT=38123
source "$REPO_ROOT/infra/lib.sh"

keep=0 fresh=0 args=()
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    --fresh) fresh=1 ;;
    *) args+=("$arg") ;;
  esac
done

bash "$REPO_ROOT/infra/install.sh"
started=0
cleanup() {
  local rc=$?
  if ((started && !keep)); then bash "$REPO_ROOT/infra/services/clickhouse.sh" stop || true; fi
  exit "$rc"
}
trap cleanup EXIT INT TERM
cur_is_running clickhouse || started=1
bash "$REPO_ROOT/infra/up.sh" clickhouse

query() {
  curl -fsS --max-time 600 -u "$CLICKHOUSE_USER:$CLICKHOUSE_PASSWORD" \
    "http://$CLICKHOUSE_HOST:$CLICKHOUSE_HTTP_PORT/?database=$CLICKHOUSE_DATABASE" --data-binary "$1"
}
tables="'appeals', 'appeal_status_events', 'rejected_events'"
if ((fresh)); then
  for table in appeals appeal_status_events rejected_events; do query "TRUNCATE TABLE $table"; done
fi

generator="$(git -C "$REPO_ROOT" log -1 --format=%h -- streams/generator)"
[[ -z "$(git -C "$REPO_ROOT" status --porcelain -- streams/generator)" ]] || generator+=" with uncommitted changes"
cur_log "generator: streams/generator at $generator"
cur_log "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared: compare appeals_per_cpu_s too)"
"$PIPELINE_PY" -m streams.generator.bulk "${args[@]}"
cur_log "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

cur_log "ClickHouse $CLICKHOUSE_DATABASE after the load (active parts; merges may still be running):"
query "SELECT table, sum(rows) AS rows, count() AS parts, formatReadableSize(sum(bytes_on_disk)) AS on_disk,
         formatReadableSize(sum(data_uncompressed_bytes)) AS uncompressed
       FROM system.parts WHERE database = currentDatabase() AND active AND table IN ($tables)
       GROUP BY table WITH TOTALS ORDER BY table FORMAT PrettyCompactMonoBlock" >&2
pid="$(cur_pid clickhouse)"
if [[ -n "$pid" && -r "/proc/$pid/status" ]]; then
  cur_log "ClickHouse engine (pid $pid) peak RSS since it started: $(awk '/VmHWM/ {printf "%.0f MiB", $2 / 1024}' "/proc/$pid/status")"
fi
