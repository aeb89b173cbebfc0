"""Serve ClickHouse on loopback from the embedded engine (PyPI `chdb-core`), for development and CI.

Production runs `clickhouse-server`; nothing else in the project knows the difference, because
everything connects over the native and HTTP ports with settings from the environment.

How it works: clickhouse-local reads `config.xml` from its working directory (listen host and
ports) and `users.xml` next to it, which infra/services/clickhouse.sh renders from the settings
before starting this (infra/clickhouse/users.py: the writer, the read-only BI user, and `default`,
the engine's own session, with no data). `SYSTEM START LISTEN` opens real TCP and HTTP listeners
that live as long as the query that opened them runs, so the same call continues with an endless
idle query. Stopping the server is `KILL QUERY` on that query (infra/services/clickhouse.sh stop),
after which this process returns and exits. Data persists under the data path across restarts.

Unlike clickhouse-server, `file()` has no user_files restriction here: a user granted READ ON FILE
could read any local file. No user is (users.py), the engine listens on loopback only, and its
users accept only loopback clients. Reading a system table needs a grant
(`select_from_system_db_requires_grant`; `system.tables` and a few others stay open, filtered by
the user's grants), so `default` sees no query log and no running queries.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import chdb._chdb as chdb_engine

IDLE_QUERY_MARK = "cur_clickhouse_serve_idle"

CONFIG = """<clickhouse>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>{tcp_port}</tcp_port>
  <http_port>{http_port}</http_port>
  <users_config>users.xml</users_config>
  <access_control_improvements>
    <select_from_system_db_requires_grant>true</select_from_system_db_requires_grant>
    <select_from_information_schema_requires_grant>true</select_from_information_schema_requires_grant>
  </access_control_improvements>
  <logger><level>warning</level><console>1</console></logger>
</clickhouse>
"""


def main() -> None:
    work_dir = Path(sys.argv[1]).resolve()
    data_dir = work_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    if not (work_dir / "users.xml").is_file():
        sys.exit(f"{work_dir}/users.xml is missing: start ClickHouse with infra/services/clickhouse.sh")
    (work_dir / "config.xml").write_text(
        CONFIG.format(tcp_port=os.environ["CLICKHOUSE_PORT"], http_port=os.environ["CLICKHOUSE_HTTP_PORT"])
    )
    os.chdir(work_dir)
    sql = (
        "SYSTEM START LISTEN TCP; SYSTEM START LISTEN HTTP; "
        f"SELECT sleepEachRow(1), '{IDLE_QUERY_MARK}' FROM system.numbers FORMAT Null "
        "SETTINGS max_block_size = 1, function_sleep_max_microseconds_per_block = 0"
    )
    print(f"serving ClickHouse {chdb_engine.__name__} from {data_dir}", flush=True)
    # The normal way out is KILL QUERY, which cancels the idle query. The engine reports errors
    # (a port already taken, a damaged data path) either as an exception or in its result.
    try:
        result = chdb_engine.query(sql, "TabSeparated", path=str(data_dir))
        error = result.error_message() or ""
    except Exception as exc:
        error = str(exc)
    if error and "QUERY_WAS_CANCELLED" not in error:
        sys.exit(f"ClickHouse failed: {error}")
    print("ClickHouse stopped", flush=True)


if __name__ == "__main__":
    main()
