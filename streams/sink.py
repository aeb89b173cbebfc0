"""Batched, idempotent writes of canonical records and rejected records to ClickHouse.

The ingester (streams/ingest.py) owns one `ClickHouseSink` and calls `write` once per batch,
before the batch's offsets are committed.

Why a batch can never land twice:
- every insert carries `insert_deduplication_token` built from the batch's topic, partition and
  offset ranges, and the tables keep a deduplication window (migration 0004): when an insert
  times out after it landed and the retry sends it again, ClickHouse drops the second copy;
- after a crash between insert and offset commit, the records come back in a batch that may be cut
  differently; those rows then collapse by key in the ReplacingMergeTree tables (an appeal by
  source and source id, a status event by appeal, time and status, a rejected record by offset),
  so readers that use FINAL — Spark, dbt, GX, the tests — never see them twice.

ClickHouse unavailable: the insert is retried with exponential backoff (capped) until it
succeeds. The ingester does not move on meanwhile, so its offsets are not committed and nothing is
lost; the worker catches up from Kafka once ClickHouse is back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from clickhouse_driver.errors import Error as ClickHouseError

from cur.clickhouse import native_client
from cur.schema import COLUMNS, STATUS_EVENT_COLUMNS, Appeal, StatusEvent
from cur.settings import Settings
from streams.control_totals import CONTROL_COLUMNS
from streams.records import Rejected

log = logging.getLogger("streams.sink")

REJECTED_COLUMNS = (
    "feed",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
    "kafka_key",
    "raw_payload",
    "reason",
    "rejected_at",
)
BATCH_COLUMNS = (
    "stored_at",
    "worker",
    "feed",
    "events_in",
    "appeals_out",
    "status_events_out",
    "rejected",
    "filtered",
    "unmapped_codes",
    "batch_ms",
    "max_latency_ms",
)
# cur.record_outcomes (migration 0010); the rows are made by streams.ingest.normalize_batch.
OUTCOME_COLUMNS = (
    "feed",
    "export_day",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
    "outcome",
    "source_id",
    "has_appeal",
    "events",
    "stored_at",
)
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 15.0


@dataclass
class Batch:
    """What the worker took from the raw topics in one go, normalized."""

    offsets: dict[tuple[str, int], tuple[int, int]]  # (topic, partition) -> (first, last) offset
    appeals: list[Appeal] = field(default_factory=list)
    status_events: list[StatusEvent] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    filtered: int = 0  # valid records that carry no appeal (heartbeats)
    # What became of each record (cur.record_outcomes, OUTCOME_COLUMNS) and the control totals read.
    outcomes: list[tuple] = field(default_factory=list)
    control_totals: list[tuple] = field(default_factory=list)

    def token(self, table: str) -> str:
        """The same records taken again in the same cut give the same token, per target table."""
        ranges = ",".join(f"{t}:{p}:{first}-{last}" for (t, p), (first, last) in sorted(self.offsets.items()))
        return f"{table}|{ranges}"


class ClickHouseSink:
    def __init__(self, settings: Settings) -> None:
        self._client = native_client(settings, database=settings.clickhouse_database)
        db = settings.clickhouse_database
        self._tables = {
            "appeals": f"INSERT INTO {db}.appeals ({', '.join(COLUMNS)}) VALUES",
            "appeal_status_events": f"INSERT INTO {db}.appeal_status_events ({', '.join(STATUS_EVENT_COLUMNS)}) VALUES",
            "rejected_events": f"INSERT INTO {db}.rejected_events ({', '.join(REJECTED_COLUMNS)}) VALUES",
            "stream_batches": f"INSERT INTO {db}.stream_batches ({', '.join(BATCH_COLUMNS)}) VALUES",
            "feed_control_totals": f"INSERT INTO {db}.feed_control_totals ({', '.join(CONTROL_COLUMNS)}) VALUES",
            "record_outcomes": f"INSERT INTO {db}.record_outcomes ({', '.join(OUTCOME_COLUMNS)}) VALUES",
        }
        self.retries = 0  # inserts that had to be retried, for the worker's metrics page

    def write(self, batch: Batch) -> None:
        """Blocking; the ingester calls it in a worker thread. Returns only once every row is stored."""
        now = datetime.now(UTC)
        parts: list[tuple[str, Sequence[tuple]]] = [
            ("appeals", [a.as_row() for a in batch.appeals]),
            ("appeal_status_events", [e.as_row() for e in batch.status_events]),
            ("rejected_events", [r.as_row(now) for r in batch.rejected]),
            ("feed_control_totals", batch.control_totals),
            # Last: a record counts as landed only once its canonical rows are stored.
            ("record_outcomes", batch.outcomes),
        ]
        for table, rows in parts:
            if rows:
                self._insert(table, rows, batch.token(table))

    def record_batches(self, rows: list[tuple]) -> None:
        """Rows of `stream_batches`. Metrics are best effort: a failure is logged, never retried."""
        try:
            self._client.execute(self._tables["stream_batches"], rows)
        except (ClickHouseError, OSError, EOFError) as exc:
            log.warning("could not record batch metrics: %s", exc)
            self._client.disconnect()

    def _insert(self, table: str, rows: Sequence[tuple], token: str) -> None:
        backoff = FIRST_BACKOFF_S
        while True:
            try:
                self._client.execute(self._tables[table], rows, settings={"insert_deduplication_token": token})
                return
            except (ClickHouseError, OSError, EOFError) as exc:
                self.retries += 1
                log.warning("insert of %d rows into %s failed (%s); retrying in %.1fs", len(rows), table, exc, backoff)
                self._client.disconnect()
                time.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    def close(self) -> None:
        self._client.disconnect()
