#!/usr/bin/env bash
# Install what is missing, and nothing else: system packages (Java, Maven, PostgreSQL), the
# Python environments from the committed lock files, and the Kafka and Spark jars from Maven Central.
# Re-running it when everything is present takes seconds and changes nothing.
source "$(dirname "$0")/lib.sh"

started=$SECONDS
step() { cur_log "install: $*"; }

# --- system packages ----------------------------------------------------------------------
missing=()
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v curl >/dev/null || missing+=(curl)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
# The dashboards' browser checks and screenshots: Playwright drives this chromium, never its own.
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
# Superset's Alerts & Reports: its Celery worker screenshots dashboards with Selenium through Debian's
# chromedriver (Playwright's own browser download is unavailable), brokered by a local Redis.
[[ -x /usr/bin/chromedriver ]] || missing+=(chromium-driver)
[[ -x /usr/bin/redis-server ]] || missing+=(redis-server)
# Weekly reports (reports/): WeasyPrint's Pango, fonts with Cyrillic, pdftoppm/pdftotext for the tests.
compgen -G "/usr/lib/*/libpangoft2-1.0.so.0" >/dev/null || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
[[ -n "$(fc-list 'DejaVu Sans' 2>/dev/null)" ]] || missing+=(fonts-dejavu-core fontconfig)
command -v pdftoppm >/dev/null || missing+=(poppler-utils)
if ((${#missing[@]})); then
  [[ $EUID -eq 0 ]] || cur_die "missing system packages: ${missing[*]} (install them, or run as root)"
  step "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v "$PYTHON_BOOT" >/dev/null || cur_die "$PYTHON_BOOT not found (Python 3.11 is required)"

# --- Python environments from lock files -------------------------------------------------
TOOLS="$CUR_INSTALL_DIR/tools"
UV="$TOOLS/bin/uv"
if [[ ! -x "$UV" ]] || ! cmp -s "$REPO_ROOT/requirements/tools.txt" "$TOOLS/.installed"; then
  step "bootstrapping uv"
  "$PYTHON_BOOT" -m venv "$TOOLS"
  "$TOOLS/bin/pip" install -q --disable-pip-version-check -r "$REPO_ROOT/requirements/tools.txt"
  cp "$REPO_ROOT/requirements/tools.txt" "$TOOLS/.installed"
fi
export UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
# Bytecode compiled once, at install: uv does not compile by default, and where PYTHONDONTWRITEBYTECODE
# is set no process caches it either, so every task compiled what it imports again (about 6 s of CPU
# of a Great Expectations run; bench/RESULTS.md).
export UV_COMPILE_BYTECODE=1
for env in engine pipeline bi; do
  lock="$REPO_ROOT/requirements/$env.lock"
  venv="$VENVS_DIR/$env"
  if [[ -x "$venv/bin/python" ]] && cmp -s "$lock" "$venv/.installed.lock"; then
    if [[ ! -e "$venv/.compiled" ]]; then  # installed before bytecode was compiled at install
      step "bytecode of environment '$env'"
      "$venv/bin/python" -m compileall -q -j 0 "$venv/lib" >/dev/null || true  # a few vendored test files do not compile
      touch "$venv/.compiled"
    fi
    continue
  fi
  step "environment '$env' from requirements/$env.lock"
  [[ -x "$venv/bin/python" ]] || "$UV" venv -q --python "$(command -v "$PYTHON_BOOT")" "$venv"
  "$UV" pip sync -q --python "$venv/bin/python" "$lock"
  cp "$lock" "$venv/.installed.lock"
  touch "$venv/.compiled"
done

# --- jars from Maven Central ----------------------------------------------------------------
# maven_jars POM DIR PROBE WHAT: copy POM's runtime dependencies into DIR, unless a jar matching
# PROBE is there and POM is the one they were resolved from.
maven_jars() {
  local pom="$REPO_ROOT/$1" dir="$2" probe="$3" what="$4"
  if compgen -G "$dir/$probe" >/dev/null && cmp -s "$pom" "$dir/.installed.pom"; then return 0; fi
  step "$what from Maven Central ($1)"
  rm -rf "$dir"
  mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$dir" -DincludeScope=runtime
  cp "$pom" "$dir/.installed.pom"
}
maven_jars infra/kafka/pom.xml "$KAFKA_LIBS" "kafka_2.13-*.jar" "Kafka jars"
# The ClickHouse JDBC driver, which spark_jobs/session.py puts on spark.jars.
maven_jars infra/spark/pom.xml "$CUR_SPARK_JARS_DIR" "clickhouse-jdbc-*.jar" "Spark's ClickHouse JDBC driver"

cur_log "install: everything present ($((SECONDS - started))s)"
