"""Batched writes of canonical appeals and rejected records to ClickHouse.

Each agent owns one `ClickHouseSink` (clickhouse-driver clients are not shared between
threads). A failed insert is retried with backoff until it succeeds: the agent does not move on
(and its offsets are not committed) while ClickHouse is unavailable, so nothing is lost.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from clickhouse_driver.errors import Error as ClickHouseError

from cur.clickhouse import native_client
from cur.schema import COLUMNS, Appeal
from cur.settings import Settings
from streams.records import Rejected

log = logging.getLogger("streams.sink")

REJECTED_COLUMNS = ("feed", "kafka_topic", "kafka_partition", "kafka_offset", "raw_payload", "reason", "rejected_at")
MAX_BACKOFF_S = 30.0


class ClickHouseSink:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client = native_client(settings, database=settings.clickhouse_database)
        db = settings.clickhouse_database
        self._insert_appeals = f"INSERT INTO {db}.appeals ({', '.join(COLUMNS)}) VALUES"
        self._insert_rejected = f"INSERT INTO {db}.rejected_events ({', '.join(REJECTED_COLUMNS)}) VALUES"

    def write(self, appeals: list[Appeal], rejected: list[Rejected]) -> None:
        """Blocking; agents call it in a worker thread."""
        if appeals:
            self._with_retry(self._insert_appeals, [a.as_row() for a in appeals])
        if rejected:
            now = datetime.now(UTC)
            self._with_retry(self._insert_rejected, [r.as_row(now) for r in rejected])

    def _with_retry(self, statement: str, rows: list[tuple]) -> None:
        backoff = 0.5
        while True:
            try:
                self._client.execute(statement, rows)
                return
            except (ClickHouseError, OSError, EOFError) as exc:
                log.warning("ClickHouse insert of %d rows failed (%s); retrying in %.1fs", len(rows), exc, backoff)
                self._client.disconnect()
                time.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    def close(self) -> None:
        self._client.disconnect()
