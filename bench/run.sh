#!/usr/bin/env bash
# Run a benchmark against its own ClickHouse and Kafka (state in .state/bench, ports 3xxxx), started
# here and stopped after, so it neither uses nor disturbs a demo or test stack.
#   bash bench/run.sh [arguments of bench/stream_throughput.py]
#   bash bench/run.sh appeal_state [arguments of bench/appeal_state.py]   (ClickHouse only)
#   bash bench/run.sh dbt_kpi [arguments of bench/dbt_kpi.py]             (ClickHouse only)
#   bash bench/run.sh linkage [arguments of bench/linkage.py]             (ClickHouse only)
#   bash bench/run.sh linkage_window [arguments of bench/linkage_window.py]  (ClickHouse only)
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export CUR_STATE_DIR="${CUR_BENCH_STATE_DIR:-$REPO_ROOT/.state/bench}"
export CLICKHOUSE_PORT=39000 CLICKHOUSE_HTTP_PORT=38123
export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:39092 CUR_KAFKA_CONTROLLER_PORT=39093
export CUR_STREAMS_WEB_PORT=36066
source "$REPO_ROOT/infra/lib.sh"

bash "$REPO_ROOT/infra/install.sh"
started=()
cleanup() {
  local rc=$? i
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do bash "$REPO_ROOT/infra/services/${started[i]}.sh" stop || true; done
  exit "$rc"
}
trap cleanup EXIT INT TERM
bench=stream_throughput services=(clickhouse kafka)
if [[ "${1:-}" == appeal_state || "${1:-}" == dbt_kpi || "${1:-}" == linkage || "${1:-}" == linkage_window ]]; then
  bench=$1 services=(clickhouse)
  shift
fi
for service in "${services[@]}"; do
  cur_is_running "$service" || started+=("$service")
  bash "$REPO_ROOT/infra/up.sh" "$service"
done
"$PIPELINE_PY" -m "bench.$bench" "$@"
