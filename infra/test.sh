#!/usr/bin/env bash
# The whole test suite on real services. The tests run against a stack of their own: a separate
# state directory and port range, so a running demo stack is neither used nor disturbed. The
# services this script starts are stopped again at the end, whatever the outcome.
#   infra/test.sh [pytest arguments...]
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"

# CUR_TEST_PORTS=N (2, the default, 4 or 5) picks the port range Nxxxx, so that two checkouts (or two
# developers on one machine) can each run the suite on a stack of their own at the same time.
p="${CUR_TEST_PORTS:-2}"
[[ "$p" =~ ^[245]$ ]] || { echo "CUR_TEST_PORTS must be 2, 4 or 5 (3xxxx is the benchmarks' range)" >&2; exit 2; }
export CUR_STATE_DIR="${CUR_TEST_STATE_DIR:-$REPO_ROOT/.state/test$([[ $p == 2 ]] || echo "-$p")}"
export CLICKHOUSE_PORT=${p}9000 CLICKHOUSE_HTTP_PORT=${p}8123
export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:${p}9092 CUR_KAFKA_CONTROLLER_PORT=${p}9093
export CUR_POSTGRES_PORT=${p}5432 CUR_AIRFLOW_PORT=${p}8080 CUR_SUPERSET_PORT=${p}8088 CUR_STREAMS_WEB_PORT=${p}6066
export CUR_SPARK_MASTER_PORT=${p}7077 CUR_SPARK_MASTER_UI_PORT=${p}8081 CUR_SPARK_WORKER_PORT=${p}7078 CUR_SPARK_WORKER_UI_PORT=${p}8082
export CUR_E2E_REQUIRED=1
source "$REPO_ROOT/infra/lib.sh"

bash "$REPO_ROOT/infra/install.sh"

started=()
cleanup() {
  local rc=$?
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do
    bash "$REPO_ROOT/infra/services/${started[i]}.sh" stop || true
  done
  exit "$rc"
}
trap cleanup EXIT INT TERM

# The Faust worker is started by the end-to-end test itself, which needs to control it.
for service in postgres clickhouse kafka airflow superset; do
  cur_is_running "$service" || started+=("$service")
  bash "$REPO_ROOT/infra/up.sh" "$service"
done

cd "$REPO_ROOT"
"$VENVS_DIR/pipeline/bin/ruff" check .
"$VENVS_DIR/pipeline/bin/python" -m pytest "$@"
