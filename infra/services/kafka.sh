#!/usr/bin/env bash
# Apache Kafka broker, KRaft mode, single node, from the jars infra/install.sh resolved with Maven
# (infra/kafka/pom.xml). Storage is formatted on first start; topics come from infra/kafka/topics.py.
source "$(dirname "$0")/../lib.sh"

NAME=kafka
KAFKA_HOME="$DATA_DIR/kafka-home"
KAFKA_PORT="${KAFKA_BOOTSTRAP_SERVERS##*:}"
KAFKA_CONTROLLER_PORT="${CUR_KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_DATA="$DATA_DIR/kafka"
CONF="$KAFKA_HOME/server.properties"
JAVA_OPTS=(-Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true
  "-Dlog4j.configuration=file:$REPO_ROOT/infra/kafka/log4j.properties")
kafka_java() { java "${JAVA_OPTS[@]}" -cp "$KAFKA_LIBS/*" "$@"; }
ready() { cur_port_open 127.0.0.1 "$KAFKA_PORT" && grep -q "Kafka Server started" "$LOG_DIR/$NAME.log"; }

start() {
  compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null || cur_die "Kafka jars missing: run infra/install.sh"
  if cur_is_running "$NAME"; then cur_log "$NAME already running"; return 0; fi
  cur_ports_free "$NAME" "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"
  mkdir -p "$KAFKA_DATA" "$KAFKA_HOME"
  KAFKA_PORT="$KAFKA_PORT" KAFKA_CONTROLLER_PORT="$KAFKA_CONTROLLER_PORT" KAFKA_DATA="$KAFKA_DATA" \
    "$PYTHON_BOOT" -c 'import os, string, sys; print(string.Template(sys.stdin.read()).substitute(os.environ))' \
    <"$REPO_ROOT/infra/kafka/server.properties.template" >"$CONF"
  if [[ ! -f "$KAFKA_DATA/meta.properties" ]]; then
    local cluster_id; cluster_id="$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    cur_log "formatting Kafka storage (cluster $cluster_id)"
    kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$CONF" >>"$LOG_DIR/$NAME.log" 2>&1
  fi
  # The log is appended to; mark where this start begins so `ready` reads only this start's lines.
  : >"$LOG_DIR/$NAME.log.prev"; mv "$LOG_DIR/$NAME.log" "$LOG_DIR/$NAME.log.prev" 2>/dev/null || true
  cur_start "$NAME" java "${JAVA_OPTS[@]}" -cp "$KAFKA_LIBS/*" kafka.Kafka "$CONF"
  cur_wait "$NAME" 120 ready
}

case "${1:-}" in
  start) start ;;
  stop) cur_stop "$NAME" 60 ;;
  status) cur_status "$NAME" ready ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
