#!/usr/bin/env bash
# Screenshots of every dashboard of the running stack (make demo first), taken by headless Chromium
# from Debian's package through Playwright (superset/screenshots.py), as the admin; the run fails
# when a chart shows an error or draws nothing.
#   infra/screenshots.sh [--out DIR] [--username U] [--slug S ...]   (default: <state dir>/screenshots)
source "$(dirname "$0")/lib.sh"

URL="http://127.0.0.1:$CUR_SUPERSET_PORT"
cur_http_ok "$URL/health" || cur_die "Superset is not running at $URL: start the stack first (make demo or make up)"
[[ -x /usr/bin/chromium ]] || cur_die "no /usr/bin/chromium: run infra/install.sh (Debian package chromium)"
args=("$@")
[[ " ${args[*]} " == *" --out "* ]] || args+=(--out "$CUR_STATE_DIR/screenshots")
SUPERSET_CONFIG_PATH="$REPO_ROOT/superset/superset_config.py" exec "$BI_PY" "$REPO_ROOT/superset/screenshots.py" "${args[@]}"
