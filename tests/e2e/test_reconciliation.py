"""The daily reconciliation per feed and the operators' notices, on the real ClickHouse and SMTP sink.

A generated day goes through the bulk path (the workers' own normalization, control totals included)
into a database of this module's own (`cur_reconcile_e2e`, dropped before and after). The stream path
is covered by tests/e2e/test_platform.py (the DAG reconciles the known events landed by a worker).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from clickhouse_driver import Client

from cur import alerts, mail
from cur.clickhouse import native_client
from cur.migrate import migrate
from cur.reconcile import reconcile
from cur.settings import FEEDS, REPO_ROOT, Settings
from streams.generator import generate_day
from streams.generator.bulk import load_history

pytestmark = pytest.mark.e2e

DATABASE = "cur_reconcile_e2e"
DAY = date(2026, 10, 12)
LIVES = 300
SEED = 29
UNTIL = datetime(2026, 10, 14, 9, 0, tzinfo=UTC)  # some status changes and late records still to come


@pytest.fixture(scope="module")
def own(settings: Settings) -> Iterator[tuple[Settings, Client]]:
    own_settings = replace(settings, clickhouse_database=DATABASE)
    admin = native_client(own_settings)
    admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} SYNC")
    migrate(own_settings)
    load_history(DAY, [LIVES], SEED, own_settings, until=UNTIL, workers=1)
    client = native_client(own_settings, database=DATABASE)
    try:
        yield own_settings, client
    finally:
        client.disconnect()
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} SYNC")
        admin.disconnect()


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLICKHOUSE_DATABASE": settings.clickhouse_database}
    return subprocess.run(
        [sys.executable, "-m", "cur.reconcile", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )


def test_every_feed_balances_with_what_the_sources_sent(own: tuple[Settings, Client]) -> None:
    settings, _ = own
    # What each source sent by UNTIL, counted from the generator's records, not by the pipeline.
    events = generate_day(DAY, LIVES, SEED, settings.tz, until=UNTIL).events
    sent = Counter(e.feed for e in events if e.kind != "control" and e.sent_at <= UNTIL)
    results = {r.feed: r for r in reconcile(settings, DAY)}
    assert set(results) == set(FEEDS)
    for feed, result in results.items():
        assert result.ok, result.detail()
        assert result.sent == sent[feed] == result.received > 0
        assert result.landed + result.rejected + result.filtered == sent[feed]
        assert result.landed_missing == result.rejected_missing == 0
    assert results["safe_city"].filtered > 0 and sum(r.rejected for r in results.values()) > 0
    done = _cli(settings, "--day", DAY.isoformat(), "--run-id", "e2e-clean")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_record_deleted_from_the_canonical_table_is_caught(own: tuple[Settings, Client]) -> None:
    settings, client = own
    [(source_id, offset)] = client.execute(
        "SELECT source_id, kafka_offset FROM appeals FINAL WHERE source = 'pos' ORDER BY source_id LIMIT 1"
    )
    # Every record of that appeal that carried it (or one of its status events) no longer counts as landed.
    records = client.execute(
        "SELECT count() FROM record_outcomes FINAL WHERE feed = 'pos' AND source_id = %(id)s AND outcome = 'landed'",
        {"id": source_id},
    )[0][0]
    client.execute("DELETE FROM appeals WHERE source = 'pos' AND source_id = %(id)s", {"id": source_id})
    client.execute("DELETE FROM appeal_status_events WHERE source = 'pos' AND source_id = %(id)s", {"id": source_id})
    results = {r.feed: r for r in reconcile(settings, DAY)}
    pos = results["pos"]
    assert not pos.ok and pos.landed_missing == records >= 1
    assert pos.difference == records
    assert f"bulk.raw.pos:0:{offset}" in pos.missing
    assert all(results[feed].ok for feed in FEEDS if feed != "pos")
    failed = _cli(settings, "--day", DAY.isoformat(), "--run-id", "e2e-deleted")
    assert failed.returncode == alerts.GATED_EXIT, failed.stdout + failed.stderr
    assert "MISMATCH pos" in failed.stdout and "нет в канонических таблицах" in failed.stdout
    stored = client.execute(
        "SELECT feed, ok, difference FROM reconciliation WHERE run_id = 'e2e-deleted' ORDER BY feed"
    )
    assert dict((feed, (ok, diff)) for feed, ok, diff in stored)["pos"] == (False, records)
    assert len(stored) == len(FEEDS)


def test_a_lost_rejected_record_and_a_lost_status_event_are_caught(own: tuple[Settings, Client]) -> None:
    settings, client = own
    # pos is broken by the test above: a rejected record of another feed, a status event of a third.
    [(rejected_feed, topic, offset)] = client.execute(
        "SELECT feed, kafka_topic, kafka_offset FROM rejected_events FINAL WHERE feed != 'pos'"
        " ORDER BY feed, kafka_offset LIMIT 1"
    )
    client.execute(
        "DELETE FROM rejected_events WHERE kafka_topic = %(t)s AND kafka_offset = %(o)s", {"t": topic, "o": offset}
    )
    [(event_feed, source_id, event_at, status)] = client.execute(
        "SELECT toString(source), source_id, event_at, status FROM appeal_status_events FINAL"
        " WHERE source IN ('112', 'housing') AND toString(source) != %(r)s AND status != 'received'"
        " ORDER BY source, source_id, event_at LIMIT 1",
        {"r": rejected_feed},
    )
    client.execute(
        "DELETE FROM appeal_status_events WHERE source = %(f)s AND source_id = %(s)s AND event_at = %(e)s"
        " AND status = %(st)s",
        {"f": event_feed, "s": source_id, "e": event_at, "st": status},
    )
    results = {r.feed: r for r in reconcile(settings, DAY)}
    assert results[rejected_feed].rejected_missing == 1 and not results[rejected_feed].ok
    assert f"{topic}:0:{offset}" in results[rejected_feed].missing
    assert results[event_feed].landed_missing >= 1 and not results[event_feed].ok
    untouched = set(FEEDS) - {"pos", rejected_feed, event_feed}
    assert untouched and all(results[feed].ok for feed in untouched)


def test_a_failed_or_gated_task_mails_the_operators_and_logs_it(
    own: tuple[Settings, Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DAG's on_failure_callback with the context Airflow passes (task instance, DAG run, exception)."""
    settings, client = own
    monkeypatch.setenv("CLICKHOUSE_DATABASE", DATABASE)  # the callbacks load the settings themselves
    before = len(mail.read_sink(settings))
    start = datetime(2026, 10, 11, 21, 0, tzinfo=UTC)
    ti = SimpleNamespace(dag_id="appeals_daily", task_id="reconcile_feeds", run_id="e2e-run-1")
    dag_run = SimpleNamespace(data_interval_start=start, data_interval_end=start.replace(day=12))
    exception = alerts.Gated("the reconciliation of the feeds: critical check failed\nMISMATCH pos ...")
    dbt = SimpleNamespace(**{**vars(ti), "task_id": "dbt_build"})
    publish = SimpleNamespace(**{**vars(ti), "task_id": "publish"})
    alerts.on_task_failure({"ti": ti, "dag_run": dag_run, "exception": exception})
    alerts.on_task_failure({"ti": dbt, "dag_run": dag_run, "exception": RuntimeError("dbt build failed")})
    assert alerts.notify_recovered({"ti": publish, "dag_run": dag_run})
    assert not alerts.notify_recovered({"ti": publish, "dag_run": dag_run})  # told once
    rows = client.execute("SELECT task_id, kind, message, mailed_to, mail_error FROM operations_log ORDER BY at")
    assert [(r[0], r[1]) for r in rows] == [
        ("reconcile_feeds", "gated"),
        ("dbt_build", "failed"),
        ("publish", "recovered"),
    ]
    assert all(r[3] == settings.operators_email and r[4] == "" for r in rows)
    assert "MISMATCH pos" in rows[0][2]
    deadline = time.monotonic() + 20
    while len(mail.read_sink(settings)) < before + 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    mails = mail.read_sink(settings)[before:]
    assert [m.message["X-Cur-Notice"] for m in mails] == ["gated", "failed", "recovered"]
    assert all(m.envelope_to == [settings.operators_email] for m in mails)
    assert mails[0].subject.startswith("Публикация остановлена проверкой данных: appeals_daily, reconcile_feeds")
    assert "12.10.2026 00:00" in mails[0].subject and "MISMATCH pos" in mails[0].body
