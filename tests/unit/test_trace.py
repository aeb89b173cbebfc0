"""cur.trace reads each KPI's condition from dbt's manifest, never from code of its own."""

from __future__ import annotations

from typing import Any

import pytest

from cur.trace import TraceError, kpi_of


def _model(name: str, trace: Any, columns: dict[str, Any], parents: tuple[str, ...] = ()) -> tuple[str, dict]:
    return f"model.cur.{name}", {
        "name": name,
        "resource_type": "model",
        "config": {"meta": {"trace": trace}} if trace is not None else {"meta": {}},
        "meta": {},
        "columns": {column: {"name": column, "meta": meta} for column, meta in columns.items()},
        "depends_on": {"nodes": [f"model.cur.{p}" for p in parents]},
    }


MANIFEST = {
    "nodes": dict(
        [
            _model("fct_appeals", None, {"appeal_id": {}}),
            _model(
                "kpi_daily",
                {"from": "fct_appeals", "columns": {"report_date": "created_date"}},
                {
                    "first_answer_missed": {"trace": "first_answer_state = 'missed'"},
                    "rating_sum": {"trace": {"where": "rating is not null", "sum": "rating"}},
                    "rated_appeals": {},
                },
                ("fct_appeals",),
            ),
            _model(
                "kpi_weekly",
                {"from": "fct_appeals", "columns": {"period_start": "toMonday(created_date)"}},
                {},
                ("kpi_daily",),
            ),
            _model("backlog_daily", None, {"open_backlog": {}}, ("fct_appeals",)),
        ]
    )
}


def test_the_condition_and_the_dimensions_come_from_the_manifest() -> None:
    kpi = kpi_of(MANIFEST, "kpi_daily", "first_answer_missed")
    assert (kpi.source_model, kpi.condition, kpi.sum_of) == ("fct_appeals", "first_answer_state = 'missed'", None)
    assert kpi.dimensions == {"report_date": "created_date"}
    summed = kpi_of(MANIFEST, "kpi_daily", "rating_sum")
    assert (summed.condition, summed.sum_of) == ("rating is not null", "rating")


def test_a_rollup_takes_the_condition_of_the_model_it_sums_and_its_own_dimensions() -> None:
    kpi = kpi_of(MANIFEST, "kpi_weekly", "first_answer_missed")
    assert kpi.condition == "first_answer_state = 'missed'"
    assert kpi.dimensions == {"period_start": "toMonday(created_date)"}


@pytest.mark.parametrize(
    ("mart", "column", "message"),
    [
        ("kpi_daily", "rated_appeals", "has no meta.trace"),
        ("backlog_daily", "open_backlog", "cannot be traced"),
        ("no_such_mart", "x", "no model"),
    ],
)
def test_what_has_no_trace_is_refused_with_the_reason(mart: str, column: str, message: str) -> None:
    with pytest.raises(TraceError, match=message):
        kpi_of(MANIFEST, mart, column)
