#!/usr/bin/env bash
# A Spark standalone cluster on loopback: one master and one worker, from the Spark that PySpark
# bundles (its bin/spark-class). Not part of the demo stack (jobs default to CUR_SPARK_MASTER=local[*]);
# point a job at it with CUR_SPARK_MASTER=spark://127.0.0.1:$CUR_SPARK_MASTER_PORT. The worker offers
# CUR_SPARK_EXECUTOR_CORES cores and CUR_SPARK_EXECUTOR_MEMORY, so one executor of the configured size.
# `start` returns once the worker has registered with the master. Used by tests/e2e/test_spark_jobs.py.
source "$(dirname "$0")/../lib.sh"

MASTER=spark-master
WORKER=spark-worker
MASTER_URL="spark://127.0.0.1:$CUR_SPARK_MASTER_PORT"
MASTER_UI="http://127.0.0.1:$CUR_SPARK_MASTER_UI_PORT"
WORKER_DIR="$DATA_DIR/spark-worker"
# The master and worker daemons themselves are small; executors get their own JVM and memory.
export SPARK_DAEMON_MEMORY=256m SPARK_NO_DAEMONIZE=1
export PYSPARK_PYTHON="$PIPELINE_PY"

spark_home() { "$PIPELINE_PY" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'; }
master_ready() { cur_http_ok "$MASTER_UI/json/"; }
# The master lists our worker (by its port) as ALIVE.
worker_registered() {
  curl -fsS --max-time 5 "$MASTER_UI/json/" | "$PYTHON_BOOT" -c '
import json, sys
port = int(sys.argv[1])
workers = json.load(sys.stdin).get("workers", [])
sys.exit(0 if any(w.get("port") == port and w.get("state") == "ALIVE" for w in workers) else 1)
' "$CUR_SPARK_WORKER_PORT"
}

start() {
  [[ -x "$PIPELINE_PY" ]] || cur_die "pipeline environment not installed: run infra/install.sh"
  local home; home="$(spark_home)"
  [[ -x "$home/bin/spark-class" ]] || cur_die "no bin/spark-class in $home"
  export SPARK_HOME="$home"
  if ! cur_is_running "$MASTER"; then
    cur_ports_free "$MASTER" "$CUR_SPARK_MASTER_PORT" "$CUR_SPARK_MASTER_UI_PORT"
    cur_start "$MASTER" "$home/bin/spark-class" org.apache.spark.deploy.master.Master \
      --host 127.0.0.1 --port "$CUR_SPARK_MASTER_PORT" --webui-port "$CUR_SPARK_MASTER_UI_PORT"
  fi
  cur_wait "$MASTER" 60 master_ready
  if ! cur_is_running "$WORKER"; then
    cur_ports_free "$WORKER" "$CUR_SPARK_WORKER_PORT" "$CUR_SPARK_WORKER_UI_PORT"
    mkdir -p "$WORKER_DIR/local"
    SPARK_LOCAL_DIRS="$WORKER_DIR/local" cur_start "$WORKER" "$home/bin/spark-class" \
      org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --port "$CUR_SPARK_WORKER_PORT" \
      --webui-port "$CUR_SPARK_WORKER_UI_PORT" --cores "$CUR_SPARK_EXECUTOR_CORES" \
      --memory "$CUR_SPARK_EXECUTOR_MEMORY" --work-dir "$WORKER_DIR" "$MASTER_URL"
  fi
  cur_wait "$WORKER" 60 worker_registered
  cur_log "Spark standalone cluster at $MASTER_URL (UI $MASTER_UI)"
}

stop() {
  # The worker first, so that its executors end with it (they share its process group).
  cur_stop "$WORKER" 30
  cur_stop "$MASTER" 30
}

status() {
  cur_status "$MASTER" master_ready
  cur_status "$WORKER" worker_registered
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
