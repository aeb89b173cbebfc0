# Sourced: exports the port range Nxxxx and its own state directory for a stack of its own, so that
# several stacks (the tests, a second checkout, a developer's scratch stack) run side by side.
#   source infra/ports.sh N     N = 1..5 (1xxxx is also the default demo range: a stack on 1 is for when no demo
#                               runs; 3xxxx is also the benchmarks')
cur_ports() {
  local p="$1" root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  [[ "$p" =~ ^[1-5]$ ]] || { echo "port range must be 1, 2, 3, 4 or 5 (1xxxx is also the demo's, 3xxxx is also the benchmarks' range: not while one runs)" >&2; return 2; }
  export CUR_STATE_DIR="${CUR_TEST_STATE_DIR:-$root/.state/test$([[ $p == 2 ]] || echo "-$p")}"
  export CLICKHOUSE_PORT=${p}9000 CLICKHOUSE_HTTP_PORT=${p}8123
  export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:${p}9092 CUR_KAFKA_CONTROLLER_PORT=${p}9093
  export CUR_POSTGRES_PORT=${p}5432 CUR_AIRFLOW_PORT=${p}8080 CUR_SUPERSET_PORT=${p}8088 CUR_STREAMS_WEB_PORT=${p}6066 CUR_SMTP_PORT=${p}2525 CUR_DOCS_PORT=${p}8090 CUR_REDIS_PORT=${p}6379
  export CUR_SPARK_MASTER_PORT=${p}7077 CUR_SPARK_MASTER_UI_PORT=${p}8081 CUR_SPARK_WORKER_PORT=${p}7078 CUR_SPARK_WORKER_UI_PORT=${p}8082
}
cur_ports "${1:-${CUR_TEST_PORTS:-2}}"
