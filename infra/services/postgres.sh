#!/usr/bin/env bash
# PostgreSQL: the metadata database of Airflow and Superset (databases `airflow` and `superset`).
# Debian's server binaries; the cluster lives in $CUR_STATE_DIR/data/postgres, on loopback only.
source "$(dirname "$0")/../lib.sh"

NAME=postgres
PGDATA="$DATA_DIR/postgres"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[[ -x "$PG_BIN/postgres" ]] || cur_die "PostgreSQL server not installed: run infra/install.sh"

# The server refuses to run as root: as root, run it as the `postgres` system user.
as_pg() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
psql_pg() { as_pg "$PG_BIN/psql" -h "$RUN_DIR" -p "$CUR_POSTGRES_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
ready() { as_pg "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$CUR_POSTGRES_PORT"; }

start() {
  if [[ $EUID -eq 0 ]]; then chown postgres "$RUN_DIR"; chmod 755 "$RUN_DIR"; fi
  if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
    cur_log "initialising PostgreSQL cluster in $PGDATA"
    mkdir -p "$PGDATA"
    [[ $EUID -eq 0 ]] && chown postgres "$PGDATA"
    as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >>"$LOG_DIR/$NAME.log" 2>&1
  fi
  cur_is_running "$NAME" || cur_ports_free "$NAME" "$CUR_POSTGRES_PORT"
  cur_start "$NAME" bash -c "$(declare -f as_pg); as_pg '$PG_BIN/postgres' -D '$PGDATA' -p '$CUR_POSTGRES_PORT' \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories='$RUN_DIR' -c max_connections=200"
  cur_wait "$NAME" 60 ready
  local db
  for db in airflow superset; do
    if [[ "$(psql_pg -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]]; then
      psql_pg -c "CREATE DATABASE $db"
      cur_log "created database $db"
    fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) cur_stop "$NAME" 60 ;;
  status) cur_status "$NAME" ready ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
