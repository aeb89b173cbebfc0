"""The committed GX context is what the code derives, its thresholds are the code's, and the gate's
reporting is readable."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from cur import sla, taxonomy
from cur.schema import SOURCES
from expectations import context as names
from expectations import suite as suites
from expectations.frames import utc
from expectations.run_checkpoint import CheckResult, Failure, SuiteOutcome, layers_of, main


def _key(expectation_type: str, kwargs: dict, severity: str) -> str:
    return json.dumps([expectation_type, kwargs, severity], sort_keys=True, default=list)


def _committed(kind: str, name: str) -> dict:
    return json.loads((names.CONTEXT_DIR / kind / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", suites.SUITE_NAMES)
def test_committed_suite_is_up_to_date(name: str) -> None:
    """Fails after a taxonomy, SLA, rules or schema change until `python -m expectations.build_context` is re-run:
    the committed JSON repeats the closed sets of the code, this checks each repetition."""
    committed = _committed("expectations", name)
    wanted = suites.build_suite(name)
    assert sorted(_key(e["type"], e["kwargs"], e["severity"]) for e in committed["expectations"]) == sorted(
        _key(
            e.expectation_type,
            json.loads(json.dumps(e.configuration.kwargs, default=list)),
            str(getattr(e.severity, "value", e.severity)),
        )
        for e in wanted.expectations
    )


def test_every_expectation_has_a_severity_and_a_layer() -> None:
    for name in suites.SUITE_NAMES:
        layer = suites.spec(name).layer
        for e in _committed("expectations", name)["expectations"]:
            assert e["severity"] in (suites.CRITICAL, suites.WARNING), (name, e["type"])
            assert e["meta"]["layer"] == layer and e["meta"]["why"], (name, e["type"])


def test_only_the_suites_of_the_code_are_committed() -> None:
    for kind in ("expectations", "checkpoints", "validation_definitions"):
        assert sorted(p.stem for p in (names.CONTEXT_DIR / kind).glob("*.json")) == sorted(suites.SUITE_NAMES), kind


@pytest.mark.parametrize("name", suites.SUITE_NAMES)
def test_each_checkpoint_stores_its_results_in_clickhouse(name: str) -> None:
    """Data Docs are updated by the gate once per run, not by each checkpoint."""
    checkpoint = _committed("checkpoints", name)
    assert [v["name"] for v in checkpoint["validation_definitions"]] == [name]
    assert [a["type"] for a in checkpoint["actions"]] == ["clickhouse_results"]
    assert _committed("validation_definitions", name)["suite"]["name"] == name


def test_every_layer_has_a_suite_and_a_reader() -> None:
    from expectations.frames import READERS

    assert set(READERS) == set(suites.SUITE_NAMES)
    assert {s.layer for s in suites.SUITES} == set(suites.LAYERS)
    assert {s.name for s in suites.SUITES if s.layer == "raw"} >= {f"raw_{feed}" for feed in SOURCES}


def test_rules_name_every_feed_and_a_region_that_holds_its_municipalities() -> None:
    rules = tomllib.loads(suites.RULES_PATH.read_text(encoding="utf-8"))
    assert set(rules["times"]["feed_started"]) == set(SOURCES)
    from streams.generator.places import CENTRES

    assert set(CENTRES) == set(taxonomy.municipalities())
    region = rules["region"]
    for lat, lon in CENTRES.values():
        assert region["lat_min"] < lat < region["lat_max"] and region["lon_min"] < lon < region["lon_max"]


def test_calendar_thresholds_fire_today_as_intended() -> None:
    """The calendar ends in 2027: more than the critical horizon ahead, less than the warning one."""
    calendar = suites.rules()["calendar"]
    ends = datetime(max(sla.CALENDAR.years), 12, 31, tzinfo=UTC)
    ahead = (ends - datetime(2026, 12, 2, tzinfo=UTC)).days
    assert calendar["critical_days"] <= ahead < calendar["warning_days"]


def test_outputs_go_to_the_state_dir_not_the_repo() -> None:
    config = (names.CONTEXT_DIR / "great_expectations.yml").read_text(encoding="utf-8")
    assert f"${{{names.STATE_DIR_VARIABLE}}}/validations/" in config
    assert f"${{{names.STATE_DIR_VARIABLE}}}/data_docs/local_site/" in config


def test_interval_must_carry_a_time_zone() -> None:
    assert utc(datetime(2026, 11, 20, tzinfo=timezone(timedelta(hours=3)))) == datetime(2026, 11, 19, 21, tzinfo=UTC)
    with pytest.raises(ValueError, match="no time zone"):
        utc(datetime(2026, 11, 20))


def test_layer_groups() -> None:
    assert layers_of("source") == ("reference", "raw", "canonical", "problems")
    assert layers_of("marts") == ("marts",)
    assert layers_of("raw,canonical") == ("raw", "canonical")
    with pytest.raises(ValueError, match="unknown layers"):
        layers_of("raw,bogus")


def test_summary_names_each_failure_with_its_severity() -> None:
    start = datetime(2026, 11, 19, 21, tzinfo=UTC)
    result = CheckResult(
        run_id="r1",
        start=start,
        end=start + timedelta(days=1),
        layers=("canonical",),
        outcomes=[
            SuiteOutcome(
                "canonical_appeals",
                "canonical",
                8,
                17,
                [
                    Failure(
                        "expect_column_values_to_be_in_set",
                        "sector",
                        1,
                        8,
                        examples=["aliens"],
                        suite="canonical_appeals",
                    )
                ],
                0.5,
            )
        ],
    )
    assert not result.success
    assert result.summary().splitlines()[-1] == (
        "  ✗ [critical] canonical_appeals: expect_column_values_to_be_in_set on sector: 1 of 8 rows unexpected,"
        " e.g. ['aliens']"
    )
    result.outcomes[0].failures[0].severity = suites.WARNING
    assert result.success and result.summary().startswith("PASSED")


def test_cli_exits_2_when_it_cannot_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--start", "2026-11-19T21:00:00+00:00", "--end", "2026-11-19T21:00:00+00:00"]) == 2
    assert "COULD NOT RUN" in capsys.readouterr().err


# What an applicant wrote, where they live and who they are: a failed expectation's examples land in
# `cur.dq_results` (and `bi_dq_latest`, which analysts and auditors read), so no suite may check these.
PERSONAL_COLUMNS = {"text", "address", "applicant_pseudonym", "detail", "payload", "raw"}


@pytest.mark.parametrize("name", suites.SUITE_NAMES)
def test_no_expectation_reads_personal_data(name: str) -> None:
    """The unexpected examples stored with each result are values of the columns an expectation reads."""
    read: set[str] = set()
    for expectation in _committed("expectations", name)["expectations"]:
        kwargs = expectation["kwargs"]
        read |= {kwargs[key] for key in ("column", "column_A", "column_B") if key in kwargs}
        read |= set(kwargs.get("column_list", []))
    assert read, f"{name} reads no column"
    assert not read & PERSONAL_COLUMNS, f"{name} checks {sorted(read & PERSONAL_COLUMNS)}"
