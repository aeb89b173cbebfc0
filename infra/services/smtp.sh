#!/usr/bin/env bash
# A local SMTP sink on loopback (aiosmtpd from the pipeline environment): it accepts every message
# and stores it as one .eml file under $CUR_STATE_DIR/mail/ (infra/smtp/sink.py). The demo and the
# tests point CUR_SMTP_HOST/PORT at it; production points them at a real relay and never runs this.
#   infra/services/smtp.sh start|stop|status
source "$(dirname "$0")/../lib.sh"

NAME=smtp
MAIL_DIR="$CUR_STATE_DIR/mail"
# An SMTP greeting (220) on the port: the sink is accepting connections.
ready() { "$PIPELINE_PY" -c 'import smtplib, sys; smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=3).quit()' "$CUR_SMTP_HOST" "$CUR_SMTP_PORT"; }

start() {
  [[ -x "$PIPELINE_PY" ]] || cur_die "pipeline environment not installed: run infra/install.sh"
  [[ "$CUR_SMTP_HOST" == 127.* || "$CUR_SMTP_HOST" == localhost ]] ||
    cur_die "CUR_SMTP_HOST=$CUR_SMTP_HOST is not loopback: the local sink only runs on 127.0.0.1"
  cur_is_running "$NAME" || cur_ports_free "$NAME" "$CUR_SMTP_PORT"
  mkdir -p "$MAIL_DIR"
  # -n: do not try to drop privileges to `nobody` (the sink writes into our own state directory).
  cur_start "$NAME" "$PIPELINE_PY" -m aiosmtpd -n -l "$CUR_SMTP_HOST:$CUR_SMTP_PORT" -c infra.smtp.sink.EmlSink "$MAIL_DIR"
  cur_wait "$NAME" 30 ready
  cur_log "mail received by the sink: $MAIL_DIR/*.eml"
}

case "${1:-}" in
  start) start ;;
  stop) cur_stop "$NAME" 10 ;;
  status) cur_status "$NAME" ready ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
