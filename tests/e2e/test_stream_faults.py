"""Fault tests of the stream layer on the real services: nothing lost, nothing doubled.

Each test publishes a generated load of every feed, breaks something while the Faust workers are
storing it — a worker killed with SIGKILL mid-batch, ClickHouse stopped, the Kafka broker
restarted, a second worker joining and the first leaving — and then requires the exact figures of
the generator's ground truth in ClickHouse: every distinct canonical appeal once (read with FINAL,
as every consumer reads), every rejected record once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date

import pytest
import requests
from clickhouse_driver import Client

from cur.clickhouse import native_client
from cur.migrate import migrate
from cur.settings import REPO_ROOT, Settings
from infra.kafka.topics import RAW_PARTITIONS
from streams.generator import GeneratedDay, RawEvent, generate_day
from tests.e2e.conftest import reset_topics, run_infra, wait_for

pytestmark = pytest.mark.e2e

DAY = date(2026, 11, 18)
APPEALS = 1500  # appeal lifecycles: about 7,000 raw records with their status changes
# appeal_state_agg too: the state of the events is kept by a materialized view, which a TRUNCATE of the
# events does not reach.
TABLES = ("appeals", "appeal_status_events", "appeal_state_agg", "rejected_events", "stream_batches")


class Worker:
    """One `python -m streams worker` process of the consumer group `app_id`."""

    def __init__(
        self, settings: Settings, app_id: str, name: str, web_port: int, env: dict[str, str] | None = None
    ) -> None:
        self.log_path = settings.state_dir / "logs" / f"faults-{name}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "CUR_STREAMS_APP_ID": app_id, "CUR_STREAMS_WEB_PORT": str(web_port), **(env or {})}
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streams", "worker", "--loglevel=info"],
                cwd=REPO_ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill9(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)

    def alive(self) -> bool:
        return self.process.poll() is None


class Load:
    """Publishes events in the background at a steady pace, like the feeds do."""

    def __init__(self, settings: Settings, events: list[RawEvent], per_second: int) -> None:
        self.settings, self.events, self.per_second = settings, events, per_second
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap, acks="all", linger_ms=10)
        try:
            await producer.start()
            chunk = max(1, self.per_second // 10)
            for start in range(0, len(self.events), chunk):
                for event in self.events[start : start + chunk]:
                    await producer.send(self.settings.raw_topics[event.feed], key=event.key, value=event.value)
                await asyncio.sleep(0.1)
            await producer.flush()
        except BaseException as exc:  # reported by join()
            self.error = exc
        finally:
            await producer.stop()

    def start(self) -> Load:
        self.thread.start()
        return self

    def join(self) -> None:
        self.thread.join(timeout=600)
        assert not self.thread.is_alive(), "publishing did not finish"
        if self.error is not None:
            raise self.error


@pytest.fixture
def fresh(settings: Settings, clickhouse: Client, request: pytest.FixtureRequest) -> Iterator[tuple[Settings, str]]:
    """Empty tables and topics, and a consumer group of this test's own."""
    migrate(settings)
    for table in TABLES:
        clickhouse.execute(f"TRUNCATE TABLE {settings.clickhouse_database}.{table}")
    reset_topics(settings)
    yield settings, f"cur-faults-{request.node.name}-{int(time.time())}"


@pytest.fixture(scope="module")
def generated(settings: Settings) -> GeneratedDay:
    return generate_day(DAY, APPEALS, seed=23, region_tz=settings.tz)


def _safe_count(settings: Settings, sql: str) -> int:
    """A count that survives ClickHouse being down (then -1)."""
    client = native_client(settings, database=settings.clickhouse_database)
    try:
        return int(client.execute(sql)[0][0])
    except Exception:
        return -1
    finally:
        client.disconnect()


def expected_appeals(generated: GeneratedDay) -> int:
    return sum(len(feed.appeals) for feed in generated.truth.feeds.values())


def expected_status_events(generated: GeneratedDay) -> int:
    return sum(len(feed.status_events) for feed in generated.truth.feeds.values())


def expected_rejected(generated: GeneratedDay) -> int:
    return sum(feed.rejected for feed in generated.truth.feeds.values())


def appeals_landed(settings: Settings) -> int:
    return _safe_count(settings, "SELECT count() FROM appeals FINAL")


def wait_until_complete(settings: Settings, generated: GeneratedDay, timeout: float = 240) -> None:
    appeals, events, rejected = (
        expected_appeals(generated),
        expected_status_events(generated),
        expected_rejected(generated),
    )
    wait_for(
        lambda: (
            appeals_landed(settings) >= appeals
            and _safe_count(settings, "SELECT count() FROM appeal_status_events FINAL") >= events
            and _safe_count(settings, "SELECT count() FROM rejected_events FINAL") >= rejected
        ),
        timeout=timeout,
        what=f"{appeals} appeals, {events} status events and {rejected} rejected records",
        interval=1,
    )


def assert_exact(settings: Settings, clickhouse: Client, generated: GeneratedDay) -> None:
    """Exactly the ground truth: every appeal and every status event once, every rejected record once."""
    db = settings.clickhouse_database
    time.sleep(3)  # anything still in flight would land now and show as a surplus
    truth = generated.truth.feeds
    landed = clickhouse.execute(f"SELECT toString(source), source_id FROM {db}.appeals FINAL")
    assert len(landed) == len(set(landed)), "an appeal landed twice"
    assert set(landed) == {(feed, source_id) for feed, t in truth.items() for source_id in t.appeals}
    events = dict(
        clickhouse.execute(f"SELECT toString(source), count() FROM {db}.appeal_status_events FINAL GROUP BY source")
    )
    assert events == {feed: len(t.status_events) for feed, t in truth.items() if t.status_events}
    rejected = dict(clickhouse.execute(f"SELECT feed, count() FROM {db}.rejected_events FINAL GROUP BY feed"))
    assert rejected == {feed: t.rejected for feed, t in truth.items() if t.rejected}
    state = clickhouse.execute(f"SELECT toString(source), source_id, current_status FROM {db}.appeal_state")
    assert {(feed, source_id): status for feed, source_id, status in state} == {
        (feed, source_id): status for feed, t in truth.items() for source_id, status in t.current_status().items()
    }


def test_worker_killed_mid_batch_loses_and_doubles_nothing(
    fresh: tuple[Settings, str], clickhouse: Client, generated: GeneratedDay
) -> None:
    settings, app_id = fresh
    # Small batches under a steady load: the kill lands while batches are being stored and records
    # keep arriving, however fast the worker is.
    small_batches = {"CUR_STREAMS_BATCH_MAX": "100", "CUR_STREAMS_BATCH_WITHIN_S": "0.2"}
    worker = Worker(settings, app_id, "kill9-a", settings.streams_web_port, env=small_batches)
    load = Load(settings, generated.events, per_second=500).start()  # about 15 s of load
    try:
        total = expected_appeals(generated)
        wait_for(lambda: appeals_landed(settings) > 200, timeout=120, what="the first appeals")
        assert load.thread.is_alive(), "the load ended before the kill: make it longer"
        worker.kill9()
        landed_before_restart = appeals_landed(settings)
        assert landed_before_restart < total, "everything landed before the kill: make the load longer"
        worker = Worker(settings, app_id, "kill9-b", settings.streams_web_port, env=small_batches)
        load.join()
        wait_until_complete(settings, generated)
        assert_exact(settings, clickhouse, generated)
    finally:
        worker.stop()
        load.thread.join(timeout=120)


def test_clickhouse_down_under_load_then_caught_up(
    fresh: tuple[Settings, str], clickhouse: Client, generated: GeneratedDay
) -> None:
    settings, app_id = fresh
    worker = Worker(settings, app_id, "chdown", settings.streams_web_port)
    load = Load(settings, generated.events, per_second=500).start()  # about 15 s of load
    try:
        wait_for(lambda: appeals_landed(settings) > 200, timeout=120, what="the first appeals")
        run_infra("infra/services/clickhouse.sh", "stop")
        time.sleep(8)  # the load goes on; the worker retries its insert with backoff
        assert worker.alive(), f"the worker died while ClickHouse was down: see {worker.log_path}"
        run_infra("infra/services/clickhouse.sh", "start")
        load.join()
        wait_until_complete(settings, generated)
        clickhouse.disconnect()  # its connection was to the stopped server
        assert_exact(settings, clickhouse, generated)
        # The outage was really hit: the worker had to retry inserts, and its page says so.
        page = requests.get(f"http://127.0.0.1:{settings.streams_web_port}/metrics/", timeout=10).json()
        assert sum(feed["insert_retries"] for feed in page["feeds"].values()) > 0
    finally:
        worker.stop()
        load.thread.join(timeout=120)


def test_kafka_broker_restart_under_load(
    fresh: tuple[Settings, str], clickhouse: Client, generated: GeneratedDay
) -> None:
    settings, app_id = fresh
    worker = Worker(settings, app_id, "kafka-restart", settings.streams_web_port)
    half = len(generated.events) // 2
    try:
        Load(settings, generated.events[:half], per_second=2000).start().join()
        wait_for(lambda: appeals_landed(settings) > 500, timeout=120, what="the first appeals")
        run_infra("infra/services/kafka.sh", "stop")
        time.sleep(5)
        run_infra("infra/services/kafka.sh", "start")
        Load(settings, generated.events[half:], per_second=2000).start().join()
        assert worker.alive(), f"the worker died with the broker: see {worker.log_path}"
        wait_until_complete(settings, generated, timeout=300)
        assert_exact(settings, clickhouse, generated)
    finally:
        worker.stop()


def test_two_workers_share_partitions_through_rebalances(
    fresh: tuple[Settings, str], clickhouse: Client, generated: GeneratedDay
) -> None:
    settings, app_id = fresh
    first = Worker(settings, app_id, "pair-a", settings.streams_web_port)
    second: Worker | None = None
    load = Load(settings, generated.events, per_second=350).start()  # about 20 s of load
    try:
        wait_for(lambda: appeals_landed(settings) > 100, timeout=120, what="the first appeals")
        second = Worker(settings, app_id, "pair-b", settings.streams_web_port + 1)  # joins: rebalance
        wait_for(
            lambda: _safe_count(settings, "SELECT uniqExact(worker) FROM stream_batches") >= 2,
            timeout=120,
            what="the second worker to take partitions",
        )
        assert load.thread.is_alive(), "the load ended before the first worker left: make it longer"
        first.stop()  # leaves: rebalance again, the second takes everything over
        load.join()
        wait_until_complete(settings, generated)
        assert_exact(settings, clickhouse, generated)
        # The leader samples consumer lag into ClickHouse: every raw partition, caught up at the end.
        latest_lag = (
            "SELECT count(), sum(lag) FROM (SELECT topic, partition, argMax(lag, sampled_at) AS lag"
            f" FROM consumer_lag WHERE consumer_group = '{app_id}' GROUP BY topic, partition)"
        )
        partitions = len(settings.raw_topics) * RAW_PARTITIONS
        wait_for(
            lambda: tuple(clickhouse.execute(latest_lag)[0]) == (partitions, 0),
            timeout=60,
            what="a consumer-lag sample of every raw partition showing it caught up",
            interval=2,
        )
    finally:
        first.stop()
        if second is not None:
            second.stop()
        load.thread.join(timeout=120)
