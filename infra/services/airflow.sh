#!/usr/bin/env bash
# Airflow 3: scheduler (LocalExecutor), DAG processor and API server (UI + REST + the execution
# API the tasks report to), with the running PostgreSQL as metadata database.
#   infra/services/airflow.sh start|stop|status
#   infra/services/airflow.sh cli ARGS...   # the `airflow` CLI with this stack's configuration,
#                                           # e.g. `cli dags test appeals_daily 2026-11-21T00:00:00+03:00`
#
# All configuration is in the AIRFLOW__* variables below (the airflow.cfg Airflow writes on first
# use only holds defaults; never edit it). Secrets that every component must share (JWT secret,
# API secret key, Fernet key) are generated once into $AIRFLOW_HOME/secrets.env (owner-only).
#
# Login: SimpleAuthManager (Airflow's default) with one user, `admin`, role admin. Its password is
# generated once into $AIRFLOW_HOME/passwords.json (the manager's own file format) and printed by
# `start` and `status`. The API listens on loopback only.
source "$(dirname "$0")/../lib.sh"

AIRFLOW_BIN="$VENVS_DIR/pipeline/bin/airflow"
API_URL="http://127.0.0.1:$CUR_AIRFLOW_PORT"
export AIRFLOW_HOME="$CUR_STATE_DIR/airflow"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://postgres@127.0.0.1:$CUR_POSTGRES_PORT/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$REPO_ROOT/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__DEFAULT_TIMEZONE=UTC
# Two cores shared with ClickHouse, Kafka and Spark: at most two task processes at a time.
export AIRFLOW__CORE__PARALLELISM=2
export AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG=2
export AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES=1
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=60
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT="$CUR_AIRFLOW_PORT"
export AIRFLOW__API__WORKERS=1
export AIRFLOW__API__BASE_URL="$API_URL"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="$API_URL/execution/"
export AIRFLOW__CORE__AUTH_MANAGER=airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$AIRFLOW_HOME/passwords.json"

mkdir -p "$AIRFLOW_HOME"
if [[ ! -s "$AIRFLOW_HOME/secrets.env" ]]; then
  (
    umask 077
    "$PIPELINE_PY" - >"$AIRFLOW_HOME/secrets.env" <<'PY'
import secrets
from cryptography.fernet import Fernet
print(f"export AIRFLOW__API_AUTH__JWT_SECRET={secrets.token_urlsafe(32)}")
print(f"export AIRFLOW__API__SECRET_KEY={secrets.token_urlsafe(32)}")
print(f"export AIRFLOW__CORE__FERNET_KEY={Fernet.generate_key().decode()}")
PY
  )
fi
source "$AIRFLOW_HOME/secrets.env"
if [[ ! -s "$AIRFLOW_HOME/passwords.json" ]]; then
  (umask 077; "$PIPELINE_PY" -c 'import json, secrets; print(json.dumps({"admin": secrets.token_urlsafe(12)}))' >"$AIRFLOW_HOME/passwords.json")
fi

COMPONENTS=(airflow-scheduler airflow-dag-processor airflow-api-server)
healthy() { cur_http_ok "$API_URL/api/v2/monitor/health"; }
# component_healthy KEY: the API's health report says the scheduler / dag_processor heartbeats.
component_healthy() {
  curl -fsS --max-time 5 "$API_URL/api/v2/monitor/health" | "$PIPELINE_PY" -c \
    'import json, sys; sys.exit(json.load(sys.stdin)[sys.argv[1]]["status"] != "healthy")' "$1"
}
password() { "$PIPELINE_PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["admin"])' "$AIRFLOW_HOME/passwords.json"; }
print_login() { echo "Airflow UI: $API_URL  login: admin  password: $(password)  (from $AIRFLOW_HOME/passwords.json)"; }

start() {
  [[ -x "$AIRFLOW_BIN" ]] || cur_die "pipeline environment not installed: run infra/install.sh"
  cur_port_open 127.0.0.1 "$CUR_POSTGRES_PORT" || cur_die "PostgreSQL is not running: infra/services/postgres.sh start"
  local name all_up=1
  for name in "${COMPONENTS[@]}"; do cur_is_running "$name" || all_up=0; done
  if ((all_up)) && healthy; then cur_log "airflow already running"; print_login; return 0; fi

  cur_is_running airflow-api-server || cur_ports_free airflow "$CUR_AIRFLOW_PORT"
  cur_log "migrating the Airflow metadata database"
  "$AIRFLOW_BIN" db migrate >>"$LOG_DIR/airflow-migrate.log" 2>&1 ||
    { tail -n 40 "$LOG_DIR/airflow-migrate.log" >&2; cur_die "airflow db migrate failed"; }
  cur_start airflow-api-server "$AIRFLOW_BIN" api-server
  # Tasks run on this machine, so the API server reads their log files directly: no log server
  # (it would listen on every interface).
  cur_start airflow-scheduler "$AIRFLOW_BIN" scheduler --skip-serve-logs
  cur_start airflow-dag-processor "$AIRFLOW_BIN" dag-processor
  cur_wait airflow-api-server 180 healthy
  for name in airflow-scheduler airflow-dag-processor; do
    cur_is_running "$name" || { cur_log_tail "$name"; cur_die "$name exited during start-up"; }
  done
  print_login
}

stop() {
  local i
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do cur_stop "${COMPONENTS[i]}" 60; done
}

status() {
  cur_status airflow-api-server healthy
  cur_status airflow-scheduler component_healthy scheduler
  cur_status airflow-dag-processor component_healthy dag_processor
  if healthy 2>/dev/null; then print_login; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  cli) shift; exec "$AIRFLOW_BIN" "$@" ;;
  *) echo "usage: $0 start|stop|status|cli ARGS..." >&2; exit 2 ;;
esac
