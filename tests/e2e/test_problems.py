"""The problem linkage on the real ClickHouse and Spark, against the generator's truth.

A generated history (bulk path) is linked in one run and scored by the evaluation command's own code;
the floors below sit under the figures measured on other seeds (bench/RESULTS.md), so a change that
makes the linkage clearly worse fails here. Then one day is linked again: its problems keep their ids.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

import h3
import pytest
from clickhouse_driver import Client

from cur.settings import Settings

pytestmark = pytest.mark.e2e

DATABASE = "cur_problems_e2e"
START_DAY = date(2026, 9, 1)
DAYS = 35  # long enough for problems that come back 14-42 days after their resolution


@pytest.fixture(scope="module")
def evaluated(settings: Settings) -> dict:
    from spark_jobs.problems.evaluate import evaluate

    return evaluate(DATABASE, seed=31, days=DAYS, appeals_per_day=150, start_day=START_DAY)


def test_every_appeal_is_linked_to_a_problem(evaluated: dict) -> None:
    assert evaluated["missing_from_links"] == 0
    assert evaluated["job"]["appeals_linked"] == evaluated["appeals"] > 4000


def test_quality_floors(evaluated: dict) -> None:
    pairs, cubed, repeats = evaluated["pairwise"]["all"], evaluated["b_cubed"], evaluated["repeats"]
    assert pairs["precision"] >= 0.90 and pairs["f1"] >= 0.75, pairs
    assert cubed["precision"] >= 0.97 and cubed["f1"] >= 0.90, cubed
    assert repeats["actual"] > 0, "the history must hold repeats for this floor to mean anything"
    assert repeats["precision"] >= 0.3 and repeats["recall"] >= 0.5, repeats


def test_clickhouse_h3_cells_agree_with_the_h3_package(settings: Settings, clickhouse: Client) -> None:
    rows = clickhouse.execute(f"SELECT lat, lon, h3_cell FROM {DATABASE}.problem_links WHERE h3_cell != '' LIMIT 200")
    assert len(rows) == 200
    assert all(h3.latlng_to_cell(lat, lon, 9) == cell for lat, lon, cell in rows)


def test_linking_a_day_again_keeps_its_problem_ids(settings: Settings, clickhouse: Client, evaluated: dict) -> None:
    from spark_jobs.problems import job

    own = replace(settings, clickhouse_database=DATABASE)
    day = START_DAY + timedelta(days=DAYS - 3)
    start = datetime.combine(day, time(0), tzinfo=settings.tz)
    end = start + timedelta(days=1)
    query = (
        f"SELECT toString(source), source_id, toString(problem_id), is_repeat FROM {DATABASE}.problem_links"
        " WHERE created_at >= %(start)s AND created_at < %(end)s ORDER BY 1, 2"
    )
    before = clickhouse.execute(query, {"start": start, "end": end})
    counts = job.run(own, start, end)
    after = clickhouse.execute(query, {"start": start, "end": end})
    assert counts["appeals_linked"] == len(before) > 0
    assert [row[:3] for row in after] == [row[:3] for row in before]
    # A daily rerun reads earlier problems from cur.problems instead of from its own run: same marks.
    assert sum(row[3] for row in after) == sum(row[3] for row in before)
