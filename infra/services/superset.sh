#!/usr/bin/env bash
# Superset: the dashboards of superset/dashboards.py (Губернатор, Тепловая карта, Министерство,
# Муниципалитет, Качество данных) over the KPI marts, with the running PostgreSQL as metadata
# database (database `superset`).
#   infra/services/superset.sh start|stop|status
#   infra/services/superset.sh cli ARGS...   # the `superset` CLI with this stack's configuration
#
# Configuration: superset/superset_config.py. The secret key (it encrypts the stored ClickHouse
# password and signs sessions) is generated once into $SUPERSET_HOME/secret_key (owner-only).
# `start` brings the metadata database up to date, makes sure the `admin` user exists with the
# password of the settings (CUR_SUPERSET_ADMIN_PASSWORD, or the one generated on first use into
# $CUR_SUPERSET_ADMIN_PASSWORD_FILE, owner-only; printed by `start` and `status`), imports the
# assets in superset/assets/ (always: re-importing updates them in place; the ClickHouse connection
# is the read-only $CUR_CLICKHOUSE_BI_USER), sets up the roles and row-level security
# (superset/roles.py) and starts gunicorn on loopback.
source "$(dirname "$0")/../lib.sh"

NAME=superset
SUPERSET_BIN="$VENVS_DIR/bi/bin/superset"
GUNICORN_BIN="$VENVS_DIR/bi/bin/gunicorn"
URL="http://127.0.0.1:$CUR_SUPERSET_PORT"
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

# The metadata database's alembic revision and whether its access set-up is current, read directly
# (no app start): `ok` when `admin` has the password of the settings and the Public role holds
# exactly the permissions of superset/access.py, `-` otherwise.
metadata_state() {
  "$BI_PY" - "$CUR_POSTGRES_PORT" "$REPO_ROOT/superset/access.py" <<'PY'
import importlib.util
import sys
import psycopg2
from werkzeug.security import check_password_hash
from cur.settings import load
# By path: `superset` is the installed package's name, not this repository's folder.
spec = importlib.util.spec_from_file_location("cur_superset_access", sys.argv[2])
access_module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(access_module)
ADMIN, PUBLIC_PERMISSIONS = access_module.ADMIN, access_module.PUBLIC_PERMISSIONS
with psycopg2.connect(host="127.0.0.1", port=int(sys.argv[1]), user="postgres", dbname="superset") as conn:
    cur = conn.cursor()
    cur.execute("SELECT to_regclass('alembic_version') IS NOT NULL, to_regclass('ab_user') IS NOT NULL")
    has_alembic, has_users = cur.fetchone()
    revision = access = "-"
    if has_alembic:
        cur.execute("SELECT string_agg(version_num, ',' ORDER BY version_num) FROM alembic_version")
        revision = cur.fetchone()[0] or "-"
    if has_users:
        cur.execute("SELECT password FROM ab_user WHERE username = %s", (ADMIN,))
        row = cur.fetchone()
        password = load().superset_admin_password
        admin_ok = bool(row and row[0] and password and check_password_hash(row[0], password))
        cur.execute(
            "SELECT p.name, v.name FROM ab_role r"
            " JOIN ab_permission_view_role pvr ON pvr.role_id = r.id"
            " JOIN ab_permission_view pv ON pv.id = pvr.permission_view_id"
            " JOIN ab_permission p ON p.id = pv.permission_id"
            " JOIN ab_view_menu v ON v.id = pv.view_menu_id WHERE r.name = 'Public'"
        )
        public_ok = set(cur.fetchall()) == set(PUBLIC_PERMISSIONS)
        access = "ok" if admin_ok and public_ok else "-"
print(revision, access)
PY
}
# ensure_access STATE: run superset/access.py unless STATE (from metadata_state) is `ok`.
ensure_access() {
  [[ "$1" == ok ]] || step access "setting up the admin's password and the Public role" "$BI_PY" "$REPO_ROOT/superset/access.py"
}
superset_version() { "$BI_PY" -c 'from importlib.metadata import version; print(version("apache-superset"))'; }

# `db upgrade` and `init` take ~20 s even when there is nothing to do, so they are skipped when the
# stamp written after the last successful run names the installed Superset version and the
# metadata database is still at the revision recorded then (a new version or a recreated database
# runs both again). The access set-up comes after `init`, which creates the permissions it grants.
prepare_metadata() {
  local stamp="$SUPERSET_HOME/metadata.stamp" state revision access
  state="$(metadata_state)" || cur_die "cannot read the Superset metadata database"
  read -r revision access <<<"$state"
  if [[ "$(cat "$stamp" 2>/dev/null)" != "$(superset_version) $revision" ]]; then
    step upgrade "upgrading the Superset metadata database" "$SUPERSET_BIN" db upgrade
    rm -f "$stamp"
  fi
  if [[ ! -s "$stamp" ]]; then
    step init "setting up Superset roles and permissions" "$SUPERSET_BIN" init
    read -r revision access <<<"$(metadata_state)"
    echo "$(superset_version) $revision" >"$stamp"
  fi
  ensure_access "$access"
}

# The roles and row-level security read the imported datasets, so they follow the import; the users
# of the tests and the demo (one per role, generated passwords under secrets/superset-users/) too.
import_assets() {
  step import "importing the dashboard assets" "$BI_PY" "$REPO_ROOT/superset/import_assets.py" --username admin
  step roles "setting up the roles, row-level security and users per role" "$BI_PY" "$REPO_ROOT/superset/roles.py" --users
}

# A password given in the environment is not echoed into logs; a generated one is, as Airflow's.
print_login() {
  local password='$CUR_SUPERSET_ADMIN_PASSWORD'
  [[ -n "${CUR_SUPERSET_ADMIN_PASSWORD+set}" ]] ||
    password="$(cat "$CUR_SUPERSET_ADMIN_PASSWORD_FILE")  (from $CUR_SUPERSET_ADMIN_PASSWORD_FILE)"
  echo "Superset dashboards: $URL/dashboard/list/ (governor: $URL/superset/dashboard/governor/)  login: admin  password: $password"
}

start() {
  [[ -x "$SUPERSET_BIN" ]] || cur_die "bi environment not installed: run infra/install.sh"
  cur_port_open 127.0.0.1 "$CUR_POSTGRES_PORT" || cur_die "PostgreSQL is not running: infra/services/postgres.sh start"
  if cur_is_running "$NAME" && healthy; then
    cur_log "superset already running"
    local state
    state="$(metadata_state)" || cur_die "cannot read the Superset metadata database"
    ensure_access "${state#* }"
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
