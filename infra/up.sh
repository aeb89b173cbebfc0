#!/usr/bin/env bash
# Install what is missing, then start every service (or the ones named) and prepare them:
# ClickHouse schema migrated, Kafka topics created. Services already running are left as they are.
#   infra/up.sh                  # everything
#   infra/up.sh postgres kafka   # only these
source "$(dirname "$0")/lib.sh"

bash "$REPO_ROOT/infra/install.sh"
wanted=("$@")
((${#wanted[@]})) || wanted=("${CUR_SERVICES[@]}")
for service in "${CUR_SERVICES[@]}"; do
  [[ " ${wanted[*]} " == *" $service "* ]] || continue
  bash "$REPO_ROOT/infra/services/$service.sh" start
  case "$service" in
    clickhouse) "$PIPELINE_PY" -m cur.migrate ;;
    kafka) "$PIPELINE_PY" -m infra.kafka.topics ;;
  esac
done
