"""The SQL that spark_jobs/clickhouse_io.py builds (its behaviour on ClickHouse: tests/e2e/test_spark_jobs.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from spark_jobs.clickhouse_io import spark_readable, staging_table, utc_interval

MSK = timezone(timedelta(hours=3))


def test_utc_interval_states_both_bounds_in_utc() -> None:
    condition = utc_interval("created_at", datetime(2026, 11, 1, tzinfo=MSK), datetime(2026, 11, 2, tzinfo=MSK))
    assert condition == (
        "created_at >= toDateTime64('2026-10-31 21:00:00.000000', 6, 'UTC')"
        " AND created_at < toDateTime64('2026-11-01 21:00:00.000000', 6, 'UTC')"
    )


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(2026, 11, 1), datetime(2026, 11, 2, tzinfo=UTC)),  # naive start
        (datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)),  # empty
    ],
)
def test_utc_interval_refuses_naive_or_empty_intervals(start: datetime, end: datetime) -> None:
    with pytest.raises(ValueError):
        utc_interval("created_at", start, end)


def test_staging_table_is_stable_per_interval_and_distinct_across_intervals() -> None:
    day = utc_interval("created_at", datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))
    next_day = utc_interval("created_at", datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
    assert staging_table("cur.appeals_dedup", day) == staging_table("cur.appeals_dedup", day)
    assert staging_table("cur.appeals_dedup", day) != staging_table("cur.appeals_dedup", next_day)
    assert staging_table("cur.appeals_dedup", day).startswith("cur.appeals_dedup__replace_")
    with pytest.raises(ValueError, match="qualified"):
        staging_table("appeals_dedup", day)


@pytest.mark.parametrize(
    ("clickhouse_type", "expected"),
    [
        ("UUID", "toString(a.x)"),
        ("Nullable(UUID)", "toString(a.x)"),
        ("IPv4", "toString(a.x)"),
        ("LowCardinality(String)", "a.x"),
        ("Enum8('pos' = 1)", "a.x"),
        ("Nullable(DateTime64(3, 'UTC'))", "a.x"),
        ("UInt64", "a.x"),
    ],
)
def test_spark_readable_casts_only_what_the_driver_cannot_map(clickhouse_type: str, expected: str) -> None:
    assert spark_readable("a.x", clickhouse_type) == expected
