#!/usr/bin/env bash
# The Faust stream worker: normalizes every raw feed into ClickHouse (streams/app.py).
source "$(dirname "$0")/../lib.sh"

NAME=streams
ready() { cur_http_ok "http://127.0.0.1:$CUR_STREAMS_WEB_PORT/"; }

start() {
  [[ -x "$PIPELINE_PY" ]] || cur_die "pipeline environment not installed: run infra/install.sh"
  cur_is_running "$NAME" || cur_ports_free "$NAME" "$CUR_STREAMS_WEB_PORT"
  cur_start "$NAME" "$PIPELINE_PY" -m streams worker --loglevel=info
  cur_wait "$NAME" 120 ready
}

case "${1:-}" in
  start) start ;;
  stop) cur_stop "$NAME" 60 ;;
  status) cur_status "$NAME" ready ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
