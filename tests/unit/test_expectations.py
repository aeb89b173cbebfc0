"""The committed GX suite is what the code derives, and the checkpoint's reporting is readable."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from cur import settings as cur_settings
from expectations import context as names
from expectations.run_checkpoint import CheckResult, Failure, _utc, fetch_interval, main
from expectations.suite import build_suite


def _key(expectation_type: str, kwargs: dict) -> str:
    return json.dumps([expectation_type, kwargs], sort_keys=True, default=list)


def test_committed_suite_is_up_to_date() -> None:
    """Fails after a taxonomy or schema change until `python -m expectations.build_context` is re-run."""
    committed = json.loads((names.CONTEXT_DIR / "expectations" / f"{names.SUITE}.json").read_text(encoding="utf-8"))
    wanted = build_suite()
    assert sorted(_key(e["type"], e["kwargs"]) for e in committed["expectations"]) == sorted(
        _key(e.expectation_type, json.loads(json.dumps(e.configuration.kwargs, default=list)))
        for e in wanted.expectations
    )


def test_committed_checkpoint_points_at_the_suite() -> None:
    checkpoint = json.loads((names.CONTEXT_DIR / "checkpoints" / f"{names.CHECKPOINT}.json").read_text("utf-8"))
    assert [v["name"] for v in checkpoint["validation_definitions"]] == [names.VALIDATION_DEFINITION]
    assert "update_data_docs" in {a["type"] for a in checkpoint["actions"]}


def test_outputs_go_to_the_state_dir_not_the_repo() -> None:
    config = (names.CONTEXT_DIR / "great_expectations.yml").read_text(encoding="utf-8")
    assert f"${{{names.STATE_DIR_VARIABLE}}}/validations/" in config
    assert f"${{{names.STATE_DIR_VARIABLE}}}/data_docs/local_site/" in config


def test_interval_must_carry_a_time_zone() -> None:
    assert _utc(datetime(2026, 11, 20, tzinfo=timezone(timedelta(hours=3)))) == datetime(2026, 11, 19, 21, tzinfo=UTC)
    with pytest.raises(ValueError, match="no time zone"):
        _utc(datetime(2026, 11, 20))


def test_table_name_is_checked_before_any_query() -> None:
    with pytest.raises(ValueError, match="not a table name"):
        fetch_interval(cur_settings.load(), "cur.appeals; DROP TABLE x", datetime.now(UTC), datetime.now(UTC))


def test_summary_names_each_failed_expectation() -> None:
    start = datetime(2026, 11, 19, 21, tzinfo=UTC)
    result = CheckResult(
        success=False,
        table="cur.appeals_dedup",
        start=start,
        end=start + timedelta(days=1),
        row_count=8,
        evaluated=17,
        failures=[Failure("expect_column_values_to_be_in_set", "sector", 1, 8, examples=["aliens"])],
    )
    assert result.summary().splitlines() == [
        "FAILED: cur.appeals_dedup [2026-11-19T21:00:00+00:00, 2026-11-20T21:00:00+00:00) — 8 rows, "
        "16/17 expectations met",
        "  ✗ expect_column_values_to_be_in_set on sector: 1 of 8 rows unexpected, e.g. ['aliens']",
    ]


def test_cli_exits_2_when_it_cannot_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--start", "2026-11-19T21:00:00+00:00", "--end", "2026-11-19T21:00:00+00:00"]) == 2
    assert "COULD NOT RUN" in capsys.readouterr().err
