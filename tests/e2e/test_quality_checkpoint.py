"""The Great Expectations checkpoint on the real ClickHouse, beyond the end-to-end run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cur.settings import Settings
from expectations.run_checkpoint import run

pytestmark = pytest.mark.e2e


def test_an_interval_without_appeals_fails_only_on_row_count(settings: Settings) -> None:
    start = datetime(1999, 1, 1, 21, tzinfo=UTC)
    result = run(settings, start, start + timedelta(days=1))
    assert not result.success
    assert result.row_count == 0
    assert [f.expectation for f in result.failures] == ["expect_table_row_count_to_be_between"]
