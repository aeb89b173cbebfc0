#!/usr/bin/env bash
# The documentation site on loopback: the Great Expectations Data Docs (rebuilt by every run of the
# data-quality gate, expectations/run_checkpoint.py) under /gx/ and the dbt docs under /dbt/, with a
# small index page linking both at /. A plain `python -m http.server` over $CUR_STATE_DIR/docs/,
# whose two folders are links to where the tools write:
#   /gx/   -> $CUR_STATE_DIR/gx/data_docs/local_site/   (expectations/context.py)
#   /dbt/  -> $CUR_STATE_DIR/dbt_docs/                   (dbt docs generate --target-path there)
#   infra/services/docs.sh start|stop|status
source "$(dirname "$0")/../lib.sh"

NAME=docs
SITE="$CUR_STATE_DIR/docs"
URL="http://127.0.0.1:$CUR_DOCS_PORT/"
ready() { cur_http_ok "$URL"; }

write_site() {
  mkdir -p "$SITE" "$CUR_STATE_DIR/gx/data_docs/local_site" "$CUR_STATE_DIR/dbt_docs"
  ln -sfn "$CUR_STATE_DIR/gx/data_docs/local_site" "$SITE/gx"
  ln -sfn "$CUR_STATE_DIR/dbt_docs" "$SITE/dbt"
  cat >"$SITE/index.html" <<'HTML'
<!doctype html>
<html lang="ru">
<head><meta charset="utf-8"><title>ЦУР: документация данных</title></head>
<body>
<h1>ЦУР: документация данных</h1>
<ul>
  <li><a href="gx/index.html">Качество данных (Great Expectations Data Docs)</a>: результаты проверок
      каждого дня по слоям — сырые данные по каналам, канонические обращения, проблемы, витрины KPI,
      справочники. Обновляется после каждой проверки.</li>
  <li><a href="dbt/index.html">Модели витрин (dbt docs)</a>: описание моделей, колонок и их происхождение.</li>
</ul>
<p>Результаты проверок также хранятся в ClickHouse: <code>cur.dq_results</code> (все запуски) и
<code>cur.bi_dq_latest</code> (последний результат каждой проверки).</p>
</body>
</html>
HTML
}

start() {
  cur_is_running "$NAME" || cur_ports_free "$NAME" "$CUR_DOCS_PORT"
  write_site
  cur_start "$NAME" "$PYTHON_BOOT" -m http.server --bind 127.0.0.1 --directory "$SITE" "$CUR_DOCS_PORT"
  cur_wait "$NAME" 30 ready
  cur_log "documentation: $URL"
}

case "${1:-}" in
  start) start ;;
  stop) cur_stop "$NAME" 10 ;;
  status) cur_status "$NAME" ready ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
