#!/usr/bin/env bash
# The whole test suite on real services. The tests run against a stack of their own: a separate
# state directory and port range, so a running demo stack is neither used nor disturbed. The
# services this script starts are stopped again at the end, whatever the outcome.
#   infra/test.sh [pytest arguments...]
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"

# CUR_TEST_PORTS=N (2, the default, or 1 when no demo runs, 3, 4 or 5) picks the port range Nxxxx, so that two checkouts (or two
# developers on one machine) can each run the suite on a stack of their own at the same time.
source "$REPO_ROOT/infra/ports.sh" "${CUR_TEST_PORTS:-2}" || exit 2
export CUR_E2E_REQUIRED=1
source "$REPO_ROOT/infra/lib.sh"

bash "$REPO_ROOT/infra/install.sh"

started=()
cleanup() {
  local rc=$?
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do
    bash "$REPO_ROOT/infra/services/${started[i]}.sh" stop || true
  done
  exit "$rc"
}
trap cleanup EXIT INT TERM

# The Faust worker is started by the end-to-end test itself, which needs to control it.
for service in postgres smtp redis clickhouse kafka airflow superset superset_worker; do
  cur_is_running "$service" || started+=("$service")
  bash "$REPO_ROOT/infra/up.sh" "$service"
done

cd "$REPO_ROOT"
"$VENVS_DIR/pipeline/bin/ruff" check .
"$VENVS_DIR/pipeline/bin/python" -m pytest "$@"
