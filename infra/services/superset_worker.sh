#!/usr/bin/env bash
# Superset's Celery worker and beat: they run Alerts & Reports (a dashboard by e-mail on a schedule).
# Beat sends `reports.scheduler` every minute; the worker finds the schedules due in that minute,
# screenshots each dashboard in headless Chromium (Selenium with Debian's chromedriver, as the
# report's owner) and mails it through the SMTP relay of the settings (CUR_SMTP_*: the local sink in
# the demo and the tests). Broker: the local Redis (infra/services/redis.sh). Configuration:
# superset/superset_config.py (CeleryConfig).
#   infra/services/superset_worker.sh start|stop|status
#
# Two processes, each with its pid file and log: superset_worker (one prefork child: a screenshot
# at a time, so a report costs one browser) and superset_beat (its schedule file in the data dir).
source "$(dirname "$0")/../lib.sh"

WORKER=superset_worker
BEAT=superset_beat
CELERY_BIN="$VENVS_DIR/bi/bin/celery"
APP=superset.tasks.celery_app:app
BEAT_DIR="$DATA_DIR/superset_beat"
export SUPERSET_CONFIG_PATH="$REPO_ROOT/superset/superset_config.py"
export SUPERSET_HOME="$CUR_STATE_DIR/superset"

# cur_start writes a line `===== <time> start: ...` into the log before each start; what the process
# logged since the last one tells whether this start is ready (celery has no cheap health probe: an
# `inspect ping` loads the whole Superset app).
logged_since_start() { tac "$LOG_DIR/$1.log" 2>/dev/null | sed '/^===== .* start: /q' | grep -q -- "$2"; }
worker_ready() { logged_since_start "$WORKER" "@[^ ]* ready\."; }
beat_ready() { logged_since_start "$BEAT" "beat: Starting\.\.\."; }
ready() { cur_is_running "$WORKER" && cur_is_running "$BEAT" && worker_ready && beat_ready; }

start() {
  [[ -x "$CELERY_BIN" ]] || cur_die "bi environment not installed: run infra/install.sh"
  [[ -x /usr/bin/chromedriver && -x /usr/bin/chromium ]] || cur_die "chromium and chromium-driver not installed: run infra/install.sh"
  [[ -s "$SUPERSET_HOME/secret_key" ]] || cur_die "Superset is not set up: infra/services/superset.sh start"
  cur_port_open "$CUR_REDIS_HOST" "$CUR_REDIS_PORT" || cur_die "Redis is not running: infra/services/redis.sh start"
  mkdir -p "$BEAT_DIR"
  # The node name carries the state directory's port range, so two stacks' workers never share a name.
  cur_start "$WORKER" "$CELERY_BIN" --app="$APP" worker --pool=prefork --concurrency=1 -O fair \
    --hostname="superset-$CUR_SUPERSET_PORT@%h" --loglevel=INFO
  cur_start "$BEAT" "$CELERY_BIN" --app="$APP" beat --schedule="$BEAT_DIR/celerybeat-schedule" \
    --pidfile="$BEAT_DIR/celerybeat.pid" --loglevel=INFO
  cur_wait "$WORKER" 180 worker_ready
  cur_wait "$BEAT" 120 beat_ready
  cur_log "Alerts & Reports: schedules at http://127.0.0.1:$CUR_SUPERSET_PORT/report/list/, mail through $CUR_SMTP_HOST:$CUR_SMTP_PORT"
}

stop() {
  cur_stop "$BEAT" 20
  cur_stop "$WORKER" 60  # a warm shutdown finishes the report it is sending
  rm -f "$BEAT_DIR/celerybeat.pid"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) cur_status "$WORKER" ready; cur_status "$BEAT" beat_ready ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
