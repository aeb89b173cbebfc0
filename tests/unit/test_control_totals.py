"""Control records of every feed: read as the generator writes them, refused with a reason when unsound;
the closed sets of the reconciliation and the notices are the ones the migrations declare."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from cur import alerts
from cur.migrate import MIGRATIONS_DIR
from cur.pseudonymize import Pseudonymizer
from streams import control_totals
from streams.control_totals import SHAPES, ControlTotal
from streams.feeds import NORMALIZERS
from streams.records import Context, KafkaMeta, Rejected, normalize_record

MSK = ZoneInfo("Europe/Moscow")
DAY = date(2026, 11, 20)
SENT = datetime(2026, 11, 20, 21, 0, 5, tzinfo=UTC)


def _read(feed: str, record: dict) -> ControlTotal | Rejected:
    ctx = Context(KafkaMeta(f"raw.{feed}", 0, 1), SENT, MSK, Pseudonymizer(b"unit-test-key-unit-test-key"))
    result = normalize_record(feed, NORMALIZERS[feed], json.dumps(record).encode(), ctx)
    assert isinstance(result, ControlTotal | Rejected)
    return result


@pytest.mark.parametrize("feed", sorted(SHAPES))
def test_every_feed_reads_its_own_control_record(feed: str) -> None:
    counts = {"appeal": 7, "status": 3}
    result = _read(feed, control_totals.render(feed, DAY, counts, SENT, MSK))
    assert result == ControlTotal(feed, DAY, 10, {"appeal": 7, "update": 0, "status": 3, "noise": 0}, SENT)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda r, s: r.update({s.total_field: 11}), "the kinds sum to 10, the total says 11"),
        (lambda r, s: r[s.counts_field].update({"selfie": 1}), "unknown record kind 'selfie'"),
        (lambda r, s: r.pop(s.day_field), "missing required field"),
        (lambda r, s: r[s.counts_field].update({"appeal": -1}), "outside 0"),
    ],
)
@pytest.mark.parametrize("feed", sorted(SHAPES))
def test_an_unsound_control_record_is_rejected_with_the_reason(feed: str, change, reason: str) -> None:
    record = control_totals.render(feed, DAY, {"appeal": 7, "status": 3}, SENT, MSK)
    change(record, SHAPES[feed])
    result = _read(feed, record)
    assert isinstance(result, Rejected) and reason in result.reason


def test_the_generator_counts_only_known_kinds() -> None:
    with pytest.raises(ValueError, match="without a count"):
        control_totals.render("pos", DAY, {"appeal": 1, "malformed": 1}, SENT, MSK)


def test_export_day_header() -> None:
    assert control_totals.export_day_of(control_totals.header(DAY)) == DAY
    assert control_totals.export_day_of(None) == control_totals.NO_DAY
    assert control_totals.export_day_of([("export-day", b"20.11.2026")]) == control_totals.NO_DAY


def _enum(migration: str, column: str) -> list[str]:
    text = next(MIGRATIONS_DIR.glob(f"{migration}_*.sql")).read_text(encoding="utf-8")
    declared = re.search(rf"\b{column}\s+Enum8\(([^)]*)\)", text)
    assert declared, (migration, column)
    return re.findall(r"'([^']+)'\s*=", declared.group(1))


def test_closed_sets_match_their_columns() -> None:
    assert _enum("0011", "kind") == list(alerts.KINDS)
    source = (MIGRATIONS_DIR.parent.parent / "streams" / "ingest.py").read_text(encoding="utf-8")
    written = set(re.findall(r'offset, "(\w+)", ', source))
    assert written == set(_enum("0010", "outcome"))
