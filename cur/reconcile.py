"""The daily reconciliation per feed: records sent = landed + rejected + filtered, exactly.

Sent is the exporter's control total of the day (cur.feed_control_totals, streams/control_totals.py).
The other stages are counted from what is stored, per Kafka record of the day's export
(cur.record_outcomes, one row per record, written by the workers and the bulk loader with the rows
they produced):

- landed: a record whose canonical rows are all in the canonical tables (its appeal in
  `cur.appeals`, each of its status events in `cur.appeal_status_events`); a record whose rows went
  missing afterwards (deleted, a partition dropped) is counted as `landed_missing`, not landed;
- rejected: a record kept in `cur.rejected_events` (by its offset), else `rejected_missing`;
- filtered: a valid record without an appeal (a camera heartbeat).

Why per record and not by counting the canonical tables: those collapse copies by key (a replay, a
112 card re-sent on each update), so their counts never equal records sent; the per-record outcome
keeps the exact count and the canonical keys to check each one against.

A feed without a control total for the day, or one whose stages do not add up, is a mismatch: the
command exits 3 (cur.alerts.GATED_EXIT: the DAG task is gated before the marts are built). Every check is stored in
`cur.reconciliation`, balanced or not.

    python -m cur.reconcile --day 2026-11-20 [--run-id manual]
"""

from __future__ import annotations

import argparse
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from cur import settings as settings_module
from cur.alerts import GATED_EXIT
from cur.clickhouse import native_client
from cur.settings import FEEDS, Settings

RECONCILIATION_COLUMNS = (
    "run_id",
    "feed",
    "export_day",
    "checked_at",
    "has_control_total",
    "sent",
    "received",
    "landed",
    "rejected",
    "filtered",
    "landed_missing",
    "rejected_missing",
    "difference",
    "ok",
    "detail",
)
SHOWN_MISSING = 10  # offsets of missing records named in a mismatch's detail


@dataclass(frozen=True)
class FeedReconciliation:
    feed: str
    day: date
    has_control_total: bool
    sent: int
    received: int  # records of the day's export the workers stored an outcome for
    landed: int
    rejected: int
    filtered: int
    landed_missing: int
    rejected_missing: int
    missing: tuple[str, ...]  # topic:partition:offset of some records whose rows are gone

    @property
    def difference(self) -> int:
        return self.sent - (self.landed + self.rejected + self.filtered)

    @property
    def ok(self) -> bool:
        return self.has_control_total and self.difference == 0

    def detail(self) -> str:
        """For operators (Russian, as the alert mail)."""
        counts = (
            f"{self.feed}, {self.day:%d.%m.%Y}: отправлено {self.sent}, получено {self.received}, загружено"
            f" {self.landed}, отклонено {self.rejected}, отфильтровано {self.filtered}"
        )
        if not self.has_control_total:
            return f"{counts}; нет контрольной суммы источника за день"
        if self.ok:
            return f"{counts}; сходится"
        problems = [f"расхождение {self.difference:+d}"]
        if self.received != self.sent:
            problems.append(f"не дошло до хранилища {self.sent - self.received:+d}")
        if self.landed_missing:
            problems.append(f"нет в канонических таблицах {self.landed_missing}")
        if self.rejected_missing:
            problems.append(f"нет среди отклонённых {self.rejected_missing}")
        if self.missing:
            problems.append("записи " + ", ".join(self.missing))
        return f"{counts}; " + "; ".join(problems)

    def as_row(self, run_id: str, checked_at: datetime) -> tuple:
        return (
            run_id,
            self.feed,
            self.day,
            checked_at,
            self.has_control_total,
            self.sent,
            self.received,
            self.landed,
            self.rejected,
            self.filtered,
            self.landed_missing,
            self.rejected_missing,
            self.difference,
            self.ok,
            self.detail(),
        )


def _queries(db: str) -> dict[str, str]:
    outcomes = (
        "outcomes AS (SELECT feed, kafka_topic, kafka_partition, kafka_offset, outcome, source_id, has_appeal, events"
        f" FROM {db}.record_outcomes FINAL WHERE export_day = %(day)s AND outcome != 'control')"
    )
    # Records whose canonical rows are not all stored: the appeal, or any one of its status events.
    lost = f"""
        SELECT feed, kafka_topic, kafka_partition, kafka_offset FROM outcomes
        WHERE outcome = 'landed' AND has_appeal AND (feed, source_id) NOT IN (
            SELECT toString(source), source_id FROM {db}.appeals
            WHERE source_id IN (SELECT source_id FROM outcomes WHERE outcome = 'landed'))
        UNION ALL
        SELECT feed, kafka_topic, kafka_partition, kafka_offset FROM outcomes ARRAY JOIN events AS e
        WHERE outcome = 'landed' AND (feed, source_id, e.event_at, e.status) NOT IN (
            SELECT toString(source), source_id, event_at, status FROM {db}.appeal_status_events
            WHERE source_id IN (SELECT source_id FROM outcomes WHERE outcome = 'landed'))
        UNION ALL
        SELECT feed, kafka_topic, kafka_partition, kafka_offset FROM outcomes
        WHERE outcome = 'rejected' AND (kafka_topic, kafka_partition, kafka_offset) NOT IN (
            SELECT kafka_topic, kafka_partition, kafka_offset FROM {db}.rejected_events
            WHERE kafka_topic IN (SELECT kafka_topic FROM outcomes))
    """
    return {
        "control": f"SELECT feed, records FROM {db}.feed_control_totals FINAL WHERE export_day = %(day)s",
        "stages": f"""
            WITH {outcomes}
            SELECT feed, count(), countIf(outcome = 'landed'), countIf(outcome = 'rejected'),
                   countIf(outcome = 'filtered')
            FROM outcomes GROUP BY feed""",
        "lost": f"""
            WITH {outcomes}
            SELECT feed, outcome, count(), arraySlice(groupArray(concat(kafka_topic, ':', toString(kafka_partition),
                   ':', toString(kafka_offset))), 1, {SHOWN_MISSING})
            FROM (
                SELECT DISTINCT l.feed AS feed, l.kafka_topic AS kafka_topic, l.kafka_partition AS kafka_partition,
                       l.kafka_offset AS kafka_offset, o.outcome AS outcome
                FROM ({lost}) AS l
                INNER JOIN outcomes AS o USING (kafka_topic, kafka_partition, kafka_offset)
            )
            GROUP BY feed, outcome""",
    }


def reconcile(settings: Settings, day: date) -> list[FeedReconciliation]:
    """Every feed's stages for the export day `day`, from the stored rows."""
    client = native_client(settings)
    queries = _queries(settings.clickhouse_database)
    params = {"day": day}
    try:
        sent = dict(client.execute(queries["control"], params))
        stages = {row[0]: row[1:] for row in client.execute(queries["stages"], params)}
        lost: dict[tuple[str, str], tuple[int, list[str]]] = {
            (feed, outcome): (n, shown) for feed, outcome, n, shown in client.execute(queries["lost"], params)
        }
    finally:
        client.disconnect()
    results = []
    for feed in FEEDS:
        received, landed, rejected, filtered = stages.get(feed, (0, 0, 0, 0))
        landed_missing, landed_shown = lost.get((feed, "landed"), (0, []))
        rejected_missing, rejected_shown = lost.get((feed, "rejected"), (0, []))
        results.append(
            FeedReconciliation(
                feed=feed,
                day=day,
                has_control_total=feed in sent,
                sent=sent.get(feed, 0),
                received=received,
                landed=landed - landed_missing,
                rejected=rejected - rejected_missing,
                filtered=filtered,
                landed_missing=landed_missing,
                rejected_missing=rejected_missing,
                missing=tuple([*landed_shown, *rejected_shown][:SHOWN_MISSING]),
            )
        )
    return results


def store(settings: Settings, results: list[FeedReconciliation], run_id: str) -> None:
    client = native_client(settings)
    try:
        checked_at = datetime.now(UTC)
        client.execute(
            f"INSERT INTO {settings.clickhouse_database}.reconciliation ({', '.join(RECONCILIATION_COLUMNS)}) VALUES",
            [r.as_row(run_id, checked_at) for r in results],
        )
    finally:
        client.disconnect()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cur.reconcile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--day", type=date.fromisoformat, required=True, help="the export day (region-local)")
    parser.add_argument("--run-id", default="", help="stored with the counts (the DAG passes its run id)")
    args = parser.parse_args(argv)
    settings = settings_module.load()
    results = reconcile(settings, args.day)
    store(settings, results, args.run_id or f"manual-{uuid.uuid4()}")
    for result in results:
        print(("OK       " if result.ok else "MISMATCH ") + result.detail(), flush=True)
    failed = [r.feed for r in results if not r.ok]
    if failed:
        print(f"reconciliation of {args.day} failed for: {', '.join(failed)}", file=sys.stderr)
        return GATED_EXIT
    return 0


if __name__ == "__main__":
    sys.exit(main())
