#!/usr/bin/env bash
# ClickHouse on loopback: the embedded engine from PyPI `chdb-core` (see infra/clickhouse/serve.py).
# Production points CLICKHOUSE_HOST/PORT at clickhouse-server instead and never runs this script.
# Users (infra/clickhouse/users.py): the writer $CLICKHOUSE_USER and Superset's read-only
# $CUR_CLICKHOUSE_BI_USER, with the passwords of the settings (generated on first use into
# $CUR_CLICKHOUSE_PASSWORD_FILE and $CUR_CLICKHOUSE_BI_PASSWORD_FILE), stored hashed in
# users.xml, rendered on every start, so a changed password applies at the next start.
source "$(dirname "$0")/../lib.sh"

NAME=clickhouse
WORK="$DATA_DIR/clickhouse"
URL="http://$CLICKHOUSE_HOST:$CLICKHOUSE_HTTP_PORT/"
# The credentials go to curl on stdin (-K -), not on its command line, where `ps` would show them.
query() { curl -fsS --max-time 10 -K - "$URL" --data-binary "$1" <<<"user = \"$CLICKHOUSE_USER:$CLICKHOUSE_PASSWORD\""; }
ready() { [[ "$(query 'SELECT 1')" == 1 ]] && cur_port_open "$CLICKHOUSE_HOST" "$CLICKHOUSE_PORT"; }

start() {
  [[ -x "$ENGINE_PY" ]] || cur_die "ClickHouse engine not installed: run infra/install.sh"
  mkdir -p "$WORK"
  if cur_is_running "$NAME" && ! grep -qs "<$CLICKHOUSE_USER>" "$WORK/users.xml"; then
    cur_die "ClickHouse runs with other users than $CLICKHOUSE_USER (started before infra/clickhouse/users.py): restart it (infra/services/clickhouse.sh stop, then start)"
  fi
  cur_is_running "$NAME" || cur_ports_free "$NAME" "$CLICKHOUSE_PORT" "$CLICKHOUSE_HTTP_PORT"
  cur_is_running "$NAME" || "$PYTHON_BOOT" -m infra.clickhouse.users "$WORK/users.xml" ||
    cur_die "cannot render the ClickHouse users file $WORK/users.xml"
  cur_start "$NAME" "$ENGINE_PY" "$REPO_ROOT/infra/clickhouse/serve.py" "$WORK"
  cur_wait "$NAME" 120 ready
}

stop() {
  if cur_is_running "$NAME"; then
    # A clean stop lets the engine flush parts; the process group is killed only if this fails.
    query "KILL QUERY WHERE query LIKE '%cur_clickhouse_serve_idle%' AND query NOT LIKE '%KILL QUERY%' SYNC" >/dev/null 2>&1 || true
    local i
    for ((i = 0; i < 100; i++)); do cur_is_running "$NAME" || break; sleep 0.2; done
  fi
  cur_stop "$NAME" 20
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) cur_status "$NAME" ready ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
