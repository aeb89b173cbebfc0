# Shared helpers for the scripts in infra/. Source it; do not run it.
#
# Every service is a plain process on loopback, started in its own session (setsid) so that
# `cur_stop` can end it and all its children by process group. Its pid file, log and data live
# under $CUR_STATE_DIR: run/<name>.pid, logs/<name>.log, data/<name>/.

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT
cd "$REPO_ROOT"

PYTHON_BOOT="${CUR_PYTHON:-python3.11}"
# One source of defaults: cur/settings.py (the environment overrides any of them). The local
# default passwords are generated first (owner-only files under the state dir), so that every
# script exports them from its first run on.
"$PYTHON_BOOT" -m cur.local_secrets
eval "$("$PYTHON_BOOT" -m cur.settings)"

export RUN_DIR="$CUR_STATE_DIR/run"
export LOG_DIR="$CUR_STATE_DIR/logs"
export DATA_DIR="$CUR_STATE_DIR/data"
# Installed software (virtual environments, Kafka jars) is shared by every state directory,
# so a test stack with its own state does not install everything again.
export CUR_INSTALL_DIR="${CUR_INSTALL_DIR:-$REPO_ROOT/.state/install}"
export VENVS_DIR="$CUR_INSTALL_DIR/venvs"
export KAFKA_LIBS="$CUR_INSTALL_DIR/kafka/libs"
export PIPELINE_PY="$VENVS_DIR/pipeline/bin/python"
export BI_PY="$VENVS_DIR/bi/bin/python"
export ENGINE_PY="$VENVS_DIR/engine/bin/python"
export SPARK_LOCAL_IP=127.0.0.1
export PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$RUN_DIR" "$LOG_DIR" "$DATA_DIR"

cur_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
cur_die() { cur_log "ERROR: $*"; exit 1; }

cur_pid() { cat "$RUN_DIR/$1.pid" 2>/dev/null || true; }

# cur_is_running NAME: true when NAME's pid file points at a live process.
cur_is_running() {
  local pid; pid="$(cur_pid "$1")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

# cur_start NAME COMMAND...: start COMMAND in the background in a new session, log to logs/NAME.log.
cur_start() {
  local name="$1"; shift
  if cur_is_running "$name"; then cur_log "$name already running (pid $(cur_pid "$name"))"; return 0; fi
  cur_log "starting $name (log: $LOG_DIR/$name.log)"
  printf '\n===== %s start: %s\n' "$(date -Is)" "$*" >>"$LOG_DIR/$name.log"
  setsid nohup "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/$name.pid"
}

# cur_stop NAME [SECONDS]: TERM the process group of NAME, KILL it after SECONDS (default 30).
# Only what our pid file names is touched.
cur_stop() {
  local name="$1" wait="${2:-30}" pid
  pid="$(cur_pid "$name")"
  if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then rm -f "$RUN_DIR/$name.pid"; return 0; fi
  cur_log "stopping $name (pid $pid)"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < wait * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    cur_log "$name did not stop in ${wait}s, killing"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$RUN_DIR/$name.pid"
}

cur_log_tail() {
  local name="$1"
  echo "----- last 40 lines of $LOG_DIR/$name.log -----" >&2
  tail -n 40 "$LOG_DIR/$name.log" >&2 2>/dev/null || true
  echo "-----" >&2
}

# cur_wait NAME SECONDS COMMAND...: poll COMMAND until it succeeds; on timeout or if NAME dies,
# print the log tail and fail loudly.
cur_wait() {
  local name="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ! cur_is_running "$name"; then
      cur_log_tail "$name"; cur_die "$name exited during start-up"
    fi
    if ((SECONDS >= deadline)); then
      cur_log_tail "$name"; cur_die "$name did not answer within ${timeout}s"
    fi
    sleep 0.5
  done
  cur_log "$name is up"
}

cur_port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# cur_ports_free NAME PORT...: fail before starting NAME when one of its loopback ports is already
# taken: otherwise the health check could be answered by a process this state directory does not
# own (another checkout's stack, a leftover) and everything after would talk to the wrong server.
cur_ports_free() {
  local name="$1" port; shift
  for port in "$@"; do
    if cur_port_open 127.0.0.1 "$port"; then
      cur_die "$name: port $port is already in use by a process not started from $CUR_STATE_DIR (see: ss -ltnp 'sport = :$port'); stop it or choose other ports"
    fi
  done
}
cur_http_ok() { curl -fsS -o /dev/null --max-time 5 "$1"; }

# cur_status NAME CHECK...: one line of status for NAME.
cur_status() {
  local name="$1"; shift
  if cur_is_running "$name"; then
    if "$@" >/dev/null 2>&1; then echo "$name: up (pid $(cur_pid "$name"))"; else echo "$name: running but not answering (pid $(cur_pid "$name"))"; fi
  else
    echo "$name: down"
  fi
}

# Start order; `down` stops in reverse.
CUR_SERVICES=(postgres smtp redis clickhouse kafka streams airflow superset superset_worker docs)
