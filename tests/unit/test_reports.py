"""The weekly reports' configuration and closed sets, without services (tests/e2e/test_reports.py renders and sends)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cur import taxonomy
from cur.settings import REPO_ROOT
from reports import formatting as fmt
from reports import quality, render
from reports.recipients import KIND_TABLES, RecipientsError, load_recipients


def test_default_recipients_cover_every_authority_and_municipality_once() -> None:
    found = load_recipients(REPO_ROOT / "reports" / "recipients.toml")
    keys = [r.key for r in found]
    assert len(keys) == len(set(keys))
    assert {r.code for r in found if r.kind == "ministry"} == set(taxonomy.authorities())
    assert {r.code for r in found if r.kind == "municipality"} == set(taxonomy.municipalities())
    assert all(a.endswith("@cur.localhost") for r in found for a in r.addresses)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[ministries]\nminnowhere = ["a@b.c"]\n', "'minnowhere' is not a ministry code"),
        ('[municipalities]\n"29701000" = ["not an address"]\n', "expected a list of e-mail addresses"),
        ("[ministries]\nminzdrav = []\n", "expected a list of e-mail addresses"),
        ('[agencies]\ngzhi = ["a@b.c"]\n', "unknown tables ['agencies']"),
        ("[ministries\n", "Expected"),
    ],
)
def test_a_bad_recipients_file_is_refused_with_its_reason(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "recipients.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RecipientsError, match=None) as error:
        load_recipients(path)
    assert reason in str(error.value)
    assert str(path) in str(error.value)


def test_recipient_kinds_are_the_marts_cuts() -> None:
    assert set(KIND_TABLES) == set(render.RECIPIENT_KIND_LABELS) == {"ministry", "municipality"}


def test_sla_class_labels_are_the_taxonomys_classes() -> None:
    assert set(render.SLA_CLASS_LABELS) == {s.sla_class for s in taxonomy.subcategories().values()}


def test_indicator_keys_are_unique() -> None:
    keys = [i.key for i in (*render.HEADLINE, *render.REWORK)]
    assert len(keys) == len(set(keys)) == len(render.INDICATORS)
    assert {key for key, *_ in render.TRENDS} <= set(render.INDICATORS)


def test_gate_labels_cover_every_status() -> None:
    assert set(quality.LABELS) == set(quality.STATUSES)
    assert quality.Gate("failed").blocks and not any(quality.Gate(s).blocks for s in ("passed", "partial", "unknown"))
    assert quality.Gate("unknown").label == "нет данных о проверке"


def test_russian_formatting() -> None:
    assert fmt.count(12345) == "12\u00a0345"
    assert fmt.share(0.4567) == "45,7\u00a0%"
    assert fmt.share(None) == "—"
    assert fmt.change("share", 0.5, 0.45) == "+5,0\u00a0п.п."
    assert fmt.change("count", 90, 100) == "−10 (−10,0\u00a0%)"
    assert fmt.change("count", 5, 0) == "+5"
    assert fmt.change("number", 3.0, 3.0) == "±0,0"
    assert fmt.long_day(date(2026, 11, 23)) == "23 ноября 2026 г."
    assert fmt.moment(datetime(2026, 12, 1, 21, 5, tzinfo=UTC), ZoneInfo("Europe/Moscow")) == "02.12.2026 00:05"


def test_weekly_reports_dag_runs_on_published_sundays(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scheduled on the published asset; only a published Sunday completes a week to report."""
    from types import SimpleNamespace

    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    from dags import weekly_reports
    from dags.assets import PUBLISHED

    dag = weekly_reports.weekly_reports()
    assert [a.name for a in dag.timetable.asset_condition.objects] == [PUBLISHED.name]
    assert set(dag.params) == {"week", "recipients", "resend"}

    def event(day: str) -> SimpleNamespace:
        return SimpleNamespace(extra={"day": day})

    context = {"triggering_asset_events": {PUBLISHED: [event("2026-11-28"), event("2026-11-29"), event("2026-11-22")]}}
    assert weekly_reports._published_sundays(context) == [date(2026, 11, 22), date(2026, 11, 29)]
    assert weekly_reports._published_sundays({"triggering_asset_events": {PUBLISHED: [event("2026-11-27")]}}) == []
