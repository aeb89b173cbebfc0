#!/usr/bin/env bash
# `make demo`: install what is missing, start everything, run the pipeline on demo data, and
# end with the URLs of the dashboards.
source "$(dirname "$0")/lib.sh"

started=$SECONDS
bash "$REPO_ROOT/infra/up.sh"
"$PIPELINE_PY" -m infra.demo "$@"

cat <<EOT

The platform is up ($((SECONDS - started))s). Open:
  Superset dashboard  http://127.0.0.1:$CUR_SUPERSET_PORT/superset/dashboard/appeals-sla/   (admin / ${CUR_SUPERSET_ADMIN_PASSWORD:-admin})
  Airflow             http://127.0.0.1:$CUR_AIRFLOW_PORT/
  Faust worker        http://127.0.0.1:$CUR_STREAMS_WEB_PORT/
  ClickHouse (HTTP)   http://$CLICKHOUSE_HOST:$CLICKHOUSE_HTTP_PORT/play
Stop everything with: make down
EOT
