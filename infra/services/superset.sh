#!/usr/bin/env bash
# Superset: the dashboard «Обращения граждан и соблюдение сроков (SLA)» over analytics.appeals_sla_daily,
# with the running PostgreSQL as metadata database (database `superset`).
#   infra/services/superset.sh start|stop|status
#   infra/services/superset.sh cli ARGS...   # the `superset` CLI with this stack's configuration
#
# Configuration: superset/superset_config.py. The secret key (it encrypts the stored ClickHouse
# password and signs sessions) is generated once into $SUPERSET_HOME/secret_key (owner-only).
# `start` brings the metadata database up to date, makes sure the `admin` user exists (password
# $CUR_SUPERSET_ADMIN_PASSWORD, default `admin`), imports the assets in superset/assets/ (always:
# re-importing updates them in place) and starts gunicorn on loopback.
source "$(dirname "$0")/../lib.sh"

NAME=superset
SUPERSET_BIN="$VENVS_DIR/bi/bin/superset"
GUNICORN_BIN="$VENVS_DIR/bi/bin/gunicorn"
URL="http://127.0.0.1:$CUR_SUPERSET_PORT"
ADMIN_PASSWORD="${CUR_SUPERSET_ADMIN_PASSWORD:-admin}"
export SUPERSET_CONFIG_PATH="$REPO_ROOT/superset/superset_config.py"
export SUPERSET_HOME="$CUR_STATE_DIR/superset"

mkdir -p "$SUPERSET_HOME"
if [[ ! -s "$SUPERSET_HOME/secret_key" ]]; then
  (umask 077; "$PYTHON_BOOT" -c 'import secrets; print(secrets.token_urlsafe(48))' >"$SUPERSET_HOME/secret_key")
fi

healthy() { cur_http_ok "$URL/health"; }

# step LOG DESCRIPTION COMMAND...: run a set-up step, its output in $LOG_DIR/superset-LOG.log.
step() {
  local log="$LOG_DIR/superset-$1.log" what="$2"; shift 2
  cur_log "$what (log: $log)"
  printf '\n===== %s: %s\n' "$(date -Is)" "$what" >>"$log"  # not the command: it may hold a password
  "$@" >>"$log" 2>&1 || { tail -n 40 "$log" >&2; cur_die "$what failed"; }
}

# The metadata database's alembic revision and whether `admin` exists, read directly (no app start).
metadata_state() {
  "$BI_PY" - "$CUR_POSTGRES_PORT" <<'PY'
import sys
import psycopg2
with psycopg2.connect(host="127.0.0.1", port=int(sys.argv[1]), user="postgres", dbname="superset") as conn:
    cur = conn.cursor()
    cur.execute("SELECT to_regclass('alembic_version') IS NOT NULL, to_regclass('ab_user') IS NOT NULL")
    has_alembic, has_users = cur.fetchone()
    revision = admin = "-"
    if has_alembic:
        cur.execute("SELECT string_agg(version_num, ',' ORDER BY version_num) FROM alembic_version")
        revision = cur.fetchone()[0] or "-"
    if has_users:
        cur.execute("SELECT count(*) FROM ab_user WHERE username = 'admin'")
        admin = "yes" if cur.fetchone()[0] else "-"
print(revision, admin)
PY
}
superset_version() { "$BI_PY" -c 'from importlib.metadata import version; print(version("apache-superset"))'; }

# `db upgrade` and `init` take ~20 s even when there is nothing to do, so they are skipped when the
# stamp written after the last successful run names the installed Superset version and the
# metadata database is still at the revision recorded then (a new version or a recreated database
# runs both again).
prepare_metadata() {
  local stamp="$SUPERSET_HOME/metadata.stamp" state revision admin
  state="$(metadata_state)" || cur_die "cannot read the Superset metadata database"
  read -r revision admin <<<"$state"
  if [[ "$(cat "$stamp" 2>/dev/null)" != "$(superset_version) $revision" ]]; then
    step upgrade "upgrading the Superset metadata database" "$SUPERSET_BIN" db upgrade
    rm -f "$stamp"
  fi
  if [[ "$admin" != yes ]]; then
    step admin "creating the Superset user admin" "$SUPERSET_BIN" fab create-admin --username admin \
      --firstname Admin --lastname ЦУР --email admin@cur.local --password "$ADMIN_PASSWORD"
  fi
  if [[ ! -s "$stamp" ]]; then
    step init "setting up Superset roles and permissions" "$SUPERSET_BIN" init
    read -r revision admin <<<"$(metadata_state)"
    echo "$(superset_version) $revision" >"$stamp"
  fi
}

import_assets() { step import "importing the dashboard assets" "$BI_PY" "$REPO_ROOT/superset/import_assets.py" --username admin; }

print_login() {
  local password="admin"
  [[ -n "${CUR_SUPERSET_ADMIN_PASSWORD:-}" ]] && password='$CUR_SUPERSET_ADMIN_PASSWORD'
  echo "Superset dashboard: $URL/superset/dashboard/appeals-sla/  login: admin  password: $password"
}

start() {
  [[ -x "$SUPERSET_BIN" ]] || cur_die "bi environment not installed: run infra/install.sh"
  cur_port_open 127.0.0.1 "$CUR_POSTGRES_PORT" || cur_die "PostgreSQL is not running: infra/services/postgres.sh start"
  if cur_is_running "$NAME" && healthy; then
    cur_log "superset already running"
    import_assets
    print_login
    return 0
  fi
  cur_is_running "$NAME" || cur_ports_free superset "$CUR_SUPERSET_PORT"
  prepare_metadata
  import_assets
  # Two workers of four threads: a dashboard loads its charts in parallel; queries may take 2 min.
  if [[ -x "$GUNICORN_BIN" ]]; then
    cur_start "$NAME" "$GUNICORN_BIN" --bind "127.0.0.1:$CUR_SUPERSET_PORT" --workers 2 --worker-class gthread \
      --threads 4 --timeout 130 --graceful-timeout 20 --limit-request-line 0 --limit-request-field_size 0 \
      --access-logfile - --error-logfile - "superset.app:create_app()"
  else
    cur_start "$NAME" "$SUPERSET_BIN" run --host 127.0.0.1 --port "$CUR_SUPERSET_PORT" --with-threads
  fi
  cur_wait "$NAME" 180 healthy
  print_login
}

case "${1:-}" in
  start) start ;;
  stop) cur_stop "$NAME" 30 ;;
  status) cur_status "$NAME" healthy; if healthy 2>/dev/null; then print_login; fi ;;
  cli) shift; exec "$SUPERSET_BIN" "$@" ;;
  *) echo "usage: $0 start|stop|status|cli ARGS..." >&2; exit 2 ;;
esac
