#!/usr/bin/env bash
# Redis (Debian's redis-server) on loopback: the broker of Superset's Celery worker and beat, which
# run Alerts & Reports (infra/services/superset_worker.sh). Nothing is persisted: a report's state
# lives in Superset's metadata database, and a message lost with a restart is sent again by the next
# minute's scheduler tick.
#   infra/services/redis.sh start|stop|status
#
# The password is CUR_REDIS_PASSWORD or the one generated on first use into $CUR_REDIS_PASSWORD_FILE
# (owner-only). It reaches redis-server through an owner-only configuration file under the data
# directory, rendered at every start, never on its command line (which every local user may read).
source "$(dirname "$0")/../lib.sh"

NAME=redis
REDIS_BIN=/usr/bin/redis-server
CONF_DIR="$DATA_DIR/redis"

password() { "$PYTHON_BOOT" -c 'from cur.settings import load; print(load().redis_password)'; }
# A PONG to an authenticated PING: the server answers and the password of the settings is its own.
ready() {
  REDISCLI_AUTH="$(password)" redis-cli -h "$CUR_REDIS_HOST" -p "$CUR_REDIS_PORT" --no-auth-warning ping 2>/dev/null |
    grep -qx PONG
}

start() {
  [[ -x "$REDIS_BIN" ]] || cur_die "redis-server not installed: run infra/install.sh"
  [[ "$CUR_REDIS_HOST" == 127.* || "$CUR_REDIS_HOST" == localhost ]] ||
    cur_die "CUR_REDIS_HOST=$CUR_REDIS_HOST is not loopback: this script only runs a local broker"
  cur_is_running "$NAME" || cur_ports_free "$NAME" "$CUR_REDIS_PORT"
  local secret
  secret="$(password)"
  [[ -n "$secret" ]] || cur_die "no Redis password: set CUR_REDIS_PASSWORD or let cur/local_secrets.py generate $CUR_REDIS_PASSWORD_FILE"
  mkdir -p "$CONF_DIR"
  chmod 700 "$CONF_DIR"
  (
    umask 077
    cat >"$CONF_DIR/redis.conf" <<EOF
bind $CUR_REDIS_HOST
port $CUR_REDIS_PORT
protected-mode yes
daemonize no
dir $CONF_DIR
save ""
appendonly no
requirepass $secret
EOF
  )
  cur_start "$NAME" "$REDIS_BIN" "$CONF_DIR/redis.conf"
  cur_wait "$NAME" 30 ready
}

case "${1:-}" in
  start) start ;;
  stop) cur_stop "$NAME" 10 ;;
  status) cur_status "$NAME" ready ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
