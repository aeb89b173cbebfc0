"""End-to-end fixtures: the real services of the test stack started by infra/test.sh.

Run outside infra/test.sh, these tests are skipped when the services are not reachable; inside
it (CUR_E2E_REQUIRED=1) an unreachable service is a failure, never a silent skip.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
from clickhouse_driver import Client

from cur import settings as settings_module
from cur.clickhouse import native_client
from cur.migrate import migrate
from cur.settings import REPO_ROOT, Settings
from infra.kafka.topics import recreate_topics


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def settings() -> Settings:
    s = settings_module.load()
    kafka_host, kafka_port = s.kafka_bootstrap.split(",")[0].rsplit(":", 1)
    down = [
        name
        for name, host, port in [
            ("ClickHouse", s.clickhouse_host, s.clickhouse_port),
            ("Kafka", kafka_host, int(kafka_port)),
        ]
        if not _reachable(host, port)
    ]
    if down:
        message = f"services not reachable: {', '.join(down)} (run the suite with `make test`)"
        if os.environ.get("CUR_E2E_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return s


@pytest.fixture(scope="session")
def clickhouse(settings: Settings) -> Iterator[Client]:
    client = native_client(settings, database=settings.clickhouse_database)
    yield client
    client.disconnect()


@contextmanager
def own_database(settings: Settings, name: str) -> Iterator[tuple[Settings, Client]]:
    """A database of one test module's own on the test stack's ClickHouse: fresh, migrated, dropped after,
    so that no other test's tables are touched. Yields its settings and a client using it."""
    own_settings = replace(settings, clickhouse_database=name)
    admin = native_client(own_settings)
    admin.execute(f"DROP DATABASE IF EXISTS {name} SYNC")
    migrate(own_settings)
    client = native_client(own_settings, database=name)
    try:
        yield own_settings, client
    finally:
        client.disconnect()
        admin.execute(f"DROP DATABASE IF EXISTS {name} SYNC")
        admin.disconnect()


def wait_for(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def run_infra(*args: str, env: dict[str, str] | None = None) -> None:
    """Run an infra script; on failure, show its output (it includes the service's log tail)."""
    result = subprocess.run(
        ["bash", *args], cwd=REPO_ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


def reset_topics(settings: Settings) -> None:
    """Each test starts from empty raw topics."""
    asyncio.run(recreate_topics(settings))
