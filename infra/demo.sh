#!/usr/bin/env bash
# `make demo`: install what is missing, start everything, run the pipeline on demo data, and
# end with the URLs of the dashboards.
source "$(dirname "$0")/lib.sh"

started=$SECONDS
bash "$REPO_ROOT/infra/up.sh"
"$PIPELINE_PY" -m infra.demo "$@"
# The weekly reports of the last complete week, as the weekly_reports DAG sends them (a week sent
# already, e.g. by the DAG itself, is not sent again), then what the local SMTP sink received.
echo "weekly reports of the last complete week (reports/deliver.py) ..."
"$PIPELINE_PY" -m reports.deliver --run-id demo >/dev/null
"$PIPELINE_PY" -m cur.mail 25

# The passwords of the settings: generated on first use (owner-only files under the state dir)
# unless the environment sets them.
{ read -r superset_password; read -r bi_password; } < <("$PYTHON_BOOT" -c \
  'from cur.settings import load; s = load(); print(s.superset_admin_password); print(s.clickhouse_bi_password)')
airflow_password="$("$PYTHON_BOOT" -c 'import json, sys; print(json.load(open(sys.argv[1]))["admin"])' "$CUR_STATE_DIR/airflow/passwords.json")"

cat <<EOT

The platform is up ($((SECONDS - started))s). Open:
  Superset dashboards http://127.0.0.1:$CUR_SUPERSET_PORT/dashboard/list/   login admin, password $superset_password
  Airflow             http://127.0.0.1:$CUR_AIRFLOW_PORT/   login admin, password $airflow_password
  Faust worker        http://127.0.0.1:$CUR_STREAMS_WEB_PORT/
  Data docs           http://127.0.0.1:$CUR_DOCS_PORT/   (quality checks: /gx/, KPI models and their formulas: /dbt/)
  Weekly reports      $CUR_STATE_DIR/reports/<week start>/<recipient>.pdf|xlsx
  Mail received       $CUR_STATE_DIR/mail/*.eml   (local SMTP sink on $CUR_SMTP_HOST:$CUR_SMTP_PORT; list: $PIPELINE_PY -m cur.mail)
  ClickHouse (HTTP)   http://$CLICKHOUSE_HOST:$CLICKHOUSE_HTTP_PORT/play   writer $CLICKHOUSE_USER, password $CLICKHOUSE_PASSWORD
                      read-only (Superset's) $CUR_CLICKHOUSE_BI_USER, password $bi_password
Generated passwords are kept in ${CUR_CLICKHOUSE_PASSWORD_FILE%/*}/ and $CUR_STATE_DIR/airflow/passwords.json (owner-only).
Stop everything with: make down
EOT
