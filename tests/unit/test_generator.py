"""The generator is reproducible, its quirks are there, and its ground truth is exactly what the normalizers make
of what it sends: appeals, status events after replays collapse, current statuses, rejected (by reason kind),
filtered and unmapped records, appeals per region-local day."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest

from cur import settings as settings_module
from cur.pseudonymize import Pseudonymizer
from cur.schema import STATUS_RANK, Appeal, StatusEvent
from streams.control_totals import KINDS, ControlTotal
from streams.feeds import NORMALIZERS
from streams.generator import (
    FEEDS,
    NO_QUIRKS,
    RawEvent,
    Truth,
    generate_day,
    generate_days,
    publish,
)
from streams.generator.__main__ import main as cli
from streams.parsing import REASON_KINDS, reason_kind
from streams.records import Context, KafkaMeta, Rejected, normalize_record

MSK = ZoneInfo("Europe/Moscow")
PSEUDONYMIZER = Pseudonymizer(b"unit-test-key-unit-test-key")
DAY = date(2026, 11, 20)
DEFECT_KINDS = {
    "malformed",
    "unmapped_code",
    "missing_field",
    "bad_timestamp",
    "out_of_range",
    "unknown_reference",
    "outside_calendar",
}


@dataclass
class Outcome:
    """What the normalizers made of a set of raw events, collapsed as ClickHouse collapses it."""

    appeals: dict[str, dict[str, datetime]] = field(default_factory=lambda: {f: {} for f in FEEDS})
    appeal_records: dict[str, dict[str, Appeal]] = field(default_factory=lambda: {f: {} for f in FEEDS})
    events: dict[str, set[tuple[str, datetime, str]]] = field(default_factory=lambda: {f: set() for f in FEEDS})
    rejected: dict[str, Counter[str]] = field(default_factory=lambda: {f: Counter() for f in FEEDS})
    filtered: Counter[str] = field(default_factory=Counter)
    unmapped: Counter[str] = field(default_factory=Counter)
    texts: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    controls: dict[tuple[str, date], ControlTotal] = field(default_factory=dict)  # the latest per feed and day

    def current_status(self, feed: str) -> dict[str, str]:
        latest: dict[str, tuple[datetime, int, str]] = {}
        for source_id, at, status in self.events[feed]:
            if source_id not in latest or (at, STATUS_RANK[status]) > latest[source_id][:2]:
                latest[source_id] = (at, STATUS_RANK[status], status)
        return {source_id: value[2] for source_id, value in latest.items()}


def normalize_all(events: list[RawEvent]) -> Outcome:
    outcome = Outcome()
    for offset, event in enumerate(events):
        ctx = Context(KafkaMeta(f"raw.{event.feed}", 0, offset), datetime.now(UTC), MSK, PSEUDONYMIZER)
        result = normalize_record(event.feed, NORMALIZERS[event.feed], event.value, ctx, key=event.key)
        expect = event.expect
        if isinstance(result, Rejected):
            kind = reason_kind(result.reason, result.unmapped_code)
            outcome.rejected[event.feed][kind] += 1
            outcome.unmapped[event.feed] += result.unmapped_code
            if (expect.outcome, expect.reason_kind) != ("rejected", kind):
                outcome.mismatches.append(f"{event.feed} {event.kind} {expect}: rejected {result.reason}")
            continue
        if isinstance(result, ControlTotal):
            latest = outcome.controls.get((result.feed, result.export_day))
            if latest is None or result.sent_at >= latest.sent_at:
                outcome.controls[(result.feed, result.export_day)] = result
            if expect.outcome != "control" or result.feed != event.feed or result.export_day != event.export_day:
                outcome.mismatches.append(f"{event.feed} {event.kind} {expect}: a control total {result}")
            continue
        if not result:
            outcome.filtered[event.feed] += 1
            if expect.outcome != "filtered":
                outcome.mismatches.append(f"{event.feed} {event.kind} {expect}: filtered")
            continue
        keys = set()
        for record in result:
            outcome.texts += [record.text, record.address] if isinstance(record, Appeal) else [record.detail]
            if isinstance(record, Appeal):
                outcome.appeals[event.feed][record.source_id] = record.created_at
                outcome.appeal_records[event.feed][record.source_id] = record
                if record.source_id.encode() != event.key:
                    outcome.mismatches.append(f"key {event.key!r} is not the appeal's source id {record.source_id}")
            else:
                assert isinstance(record, StatusEvent)
                keys.add((record.source_id, record.event_at, record.status))
        outcome.events[event.feed] |= keys
        appeal = next(((r.source_id, r.created_at) for r in result if isinstance(r, Appeal)), None)
        if expect.outcome != "ok" or keys != expect.events or appeal != expect.appeal:
            outcome.mismatches.append(f"{event.feed} {event.kind} {expect}: got {appeal} {sorted(keys)}")
    return outcome


@pytest.fixture(scope="module")
def history() -> tuple[list[RawEvent], Truth]:
    """A few days, small: status changes of earlier days arrive among later days' records."""
    return generate_days([DAY - timedelta(days=2), DAY - timedelta(days=1), DAY], 150, 7, MSK)


@pytest.fixture(scope="module")
def big_day() -> tuple[list[RawEvent], Truth]:
    """One bigger day, so that every kind of defect of every feed shows up."""
    generated = generate_day(DAY, 1500, 11, MSK)
    return generated.events, generated.truth


# --- the ground truth ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("generated", ["history", "big_day"])
def test_truth_is_exactly_what_the_normalizers_make_of_it(generated: str, request: pytest.FixtureRequest) -> None:
    events, truth = request.getfixturevalue(generated)
    outcome = normalize_all(events)
    assert outcome.mismatches == []
    for feed in FEEDS:
        expected = truth.feeds[feed]
        assert outcome.appeals[feed] == expected.appeals, feed
        assert outcome.events[feed] == expected.status_events, feed
        assert outcome.current_status(feed) == expected.current_status(), feed
        assert outcome.rejected[feed] == expected.rejected_by_kind, feed
        assert sum(outcome.rejected[feed].values()) == expected.rejected
        assert outcome.filtered[feed] == expected.filtered, feed
        assert outcome.unmapped[feed] == expected.unmapped, feed
        assert expected.records == sum(e.feed == feed for e in events)
    per_day = Counter(created.astimezone(MSK).date() for feed in FEEDS for created in outcome.appeals[feed].values())
    assert per_day == truth.appeals_per_day()


def test_no_personal_data_in_clear(history: tuple[list[RawEvent], Truth]) -> None:
    events, truth = history
    outcome = normalize_all(events)
    assert truth.personal_data
    digits = {d for d in truth.personal_data if d.isdigit()}
    words = {d.casefold() for d in truth.personal_data if not d.isdigit()}
    for text in outcome.texts:
        squeezed = re.sub(r"[\s\-()+]", "", text)
        assert not any(d in squeezed for d in digits), text
        assert not any(w in text.casefold() for w in words), text
    assert any("[номер скрыт]" in t for t in outcome.texts)  # the quirk was there and was redacted
    pseudonyms = Counter(a.applicant_pseudonym.split(":")[0] for f in FEEDS for a in outcome.appeal_records[f].values())
    assert pseudonyms["phone"] and pseudonyms[""]


def test_bursts_are_near_identical_detections_of_distinct_events(big_day: tuple[list[RawEvent], Truth]) -> None:
    events, truth = big_day
    appeals = normalize_all(events).appeal_records["safe_city"]
    assert truth.bursts
    for group in truth.bursts:
        members = [appeals[source_id] for source_id in group]
        assert len(members) >= 2 and len({m.appeal_id for m in members}) == len(members)
        assert len({m.subcategory for m in members}) == 1 and len({m.municipality_code for m in members}) == 1
        times = [m.created_at for m in members]
        assert max(times) - min(times) <= timedelta(minutes=5)
        points = [(m.lat, m.lon) for m in members if m.lat is not None and m.lon is not None]
        for (lat1, lon1), (lat2, lon2) in itertools.pairwise(points):
            metres = math.hypot((lat1 - lat2) * 111_000, (lon1 - lon2) * 111_000 * math.cos(math.radians(lat1)))
            assert metres < 100
    in_bursts = set().union(*truth.bursts)
    assert in_bursts <= set(truth.feeds["safe_city"].appeals)


# --- the quirks are really there ----------------------------------------------------------------------------


def _decodes_as_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_every_quirk_shows_up(big_day: tuple[list[RawEvent], Truth], history: tuple[list[RawEvent], Truth]) -> None:
    events, truth = big_day
    kinds = Counter(event.kind for event in events)
    assert {"appeal", "update", "status", "noise", "malformed", "replay"} <= set(kinds)
    for feed in FEEDS:
        assert truth.feeds[feed].rejected, feed
    assert set().union(*(truth.feeds[f].rejected_by_kind for f in FEEDS)) == DEFECT_KINDS
    assert set(REASON_KINDS) >= DEFECT_KINDS
    assert truth.feeds["safe_city"].filtered > 0
    # Exact replays: the same bytes under the same key, sent later.
    originals = {(e.feed, e.key, e.value): e.sent_at for e in events if e.kind != "replay"}
    replays = [e for e in events if e.kind == "replay"]
    assert replays and all(originals[(e.feed, e.key, e.value)] <= e.sent_at for e in replays)
    # Windows-1251 records (which cannot be read as UTF-8), most of them from the inspectorate's exporter.
    legacy = Counter(e.feed for e in events if not _decodes_as_utf8(e.value) and e.kind != "malformed")
    assert legacy["housing"] > legacy["pos"] > 0
    # Missing optional fields.
    pos_appeals = [
        json.loads(e.value.decode("cp1251" if not _decodes_as_utf8(e.value) else "utf-8"))
        for e in events
        if e.feed == "pos" and e.kind == "appeal"
    ]
    assert any("coordinates" not in p for p in pos_appeals) and any("type" not in p for p in pos_appeals)
    # Out of order: a POS status change sent before its appeal.
    first_sent: dict[bytes, str] = {}
    for event in events:
        if event.feed == "pos" and event.kind in ("appeal", "status"):
            first_sent.setdefault(event.key, event.kind)
    assert "status" in first_sent.values()
    # Late: in a history, records of an earlier day arrive after records created on a later day.
    merged, _ = history
    created_days = [e.expect.appeal[1].astimezone(MSK).date() for e in merged if e.expect.appeal is not None]
    assert any(later < earlier for earlier, later in itertools.pairwise(created_days))
    assert [e.sent_at for e in merged] == sorted(e.sent_at for e in merged)


def test_status_changes_follow_over_the_next_days(history: tuple[list[RawEvent], Truth]) -> None:
    _, truth = history
    last_day = DAY - timedelta(days=2)
    later = [at for _id, at, _s in truth.feeds["pos"].status_events if at.astimezone(MSK).date() > last_day]
    assert later
    statuses = Counter(truth.feeds["pos"].current_status().values())
    assert {"answered", "resolved", "rejected", "returned"} & set(statuses)
    assert {"assigned", "in_progress", "resolved", "answered"} <= set().union(
        *(set(Counter(s for _i, _a, s in truth.feeds[f].status_events)) for f in FEEDS)
    )


# --- reproducibility, options, API ------------------------------------------------------------------------------


def test_same_seed_same_events_and_truth() -> None:
    a = generate_day(DAY, 200, 1, MSK)
    b = generate_day(DAY, 200, 1, MSK)
    c = generate_day(DAY, 200, 2, MSK)
    assert a.events == b.events and a.truth == b.truth
    assert a.events != c.events


def test_public_api_is_kept() -> None:
    assert list(inspect.signature(generate_day).parameters)[:4] == ["day", "appeals", "seed", "region_tz"]
    generated = generate_day(DAY, 200, 1, MSK)
    assert all(isinstance(e, RawEvent) for e in generated.events)
    # The first API's counters, still used by tests/e2e/test_stream_faults.py.
    legacy = generated.truth()
    assert set(legacy) == set(FEEDS)
    for feed, counts in legacy.items():
        expected = generated.truth.feeds[feed]
        assert (counts["appeal"], counts["malformed"]) == (len(expected.appeals), expected.rejected)
        assert counts["replay"] == sum(e.feed == feed and e.kind == "replay" for e in generated.events)


@pytest.mark.parametrize("generated", ["history", "big_day"])
def test_control_totals_count_every_record_of_their_export(generated: str, request: pytest.FixtureRequest) -> None:
    """The latest control total of each feed and day is the number of records of that export, by kind."""
    events, _truth = request.getfixturevalue(generated)
    outcome = normalize_all(events)
    sent = Counter((e.feed, e.export_day, e.sent_as) for e in events if e.kind != "control")
    days = {e.export_day for e in events}
    assert set(outcome.controls) == {(feed, day) for feed in FEEDS for day in days}
    for (feed, day), control in outcome.controls.items():
        assert control.by_kind == {kind: sent[(feed, day, kind)] for kind in KINDS}, (feed, day)
        assert control.records == sum(control.by_kind.values()) > 0
    assert sum(c.records for c in outcome.controls.values()) == sum(sent.values())


def test_control_total_as_of_until_counts_what_was_sent_by_then() -> None:
    until = datetime(2026, 11, 21, 12, 0, tzinfo=MSK)
    events = generate_day(DAY, 300, 3, MSK, until=until).events
    controls = [e for e in events if e.kind == "control"]
    assert {e.sent_at for e in controls} == {until, max(e.sent_at for e in events)}  # late records follow "now"
    outcome = normalize_all([e for e in events if e.sent_at <= until])
    for feed in FEEDS:
        control = outcome.controls[(feed, DAY)]
        assert control.records == sum(e.feed == feed and e.kind != "control" and e.sent_at <= until for e in events)


def test_until_leaves_out_what_has_not_happened_yet() -> None:
    until = datetime(2026, 11, 20, 18, 0, tzinfo=MSK)
    cut = generate_day(DAY, 300, 3, MSK, until=until)
    full = generate_day(DAY, 300, 3, MSK)
    # The same records, less those of the future (and the control totals, which count what was sent).
    assert {e for e in cut.events if e.kind != "control"} < {e for e in full.events if e.kind != "control"}
    for feed in FEEDS:
        assert all(at <= until for _i, at, _s in cut.truth.feeds[feed].status_events)
        assert all(created <= until for created in cut.truth.feeds[feed].appeals.values())
        assert cut.truth.feeds[feed].status_events <= full.truth.feeds[feed].status_events
    assert sum(cut.truth.appeals_per_day().values()) < sum(full.truth.appeals_per_day().values())


def test_without_quirks_every_record_lands() -> None:
    generated = generate_day(DAY, 300, 5, MSK, quirks=NO_QUIRKS)
    truth = generated.truth
    assert all(truth.feeds[f].rejected == 0 and truth.feeds[f].filtered == 0 for f in FEEDS)
    assert {e.kind for e in generated.events} <= {"appeal", "update", "status", "control"}
    assert truth.bursts == []
    assert normalize_all(generated.events).mismatches == []


def test_truth_of_several_days_adds_up() -> None:
    days = [DAY, DAY + timedelta(days=1)]
    events, merged = generate_days(days, 100, 9, MSK)
    singles = [generate_day(day, 100, 9, MSK).truth for day in days]
    assert merged.appeals_per_day() == singles[0].appeals_per_day() + singles[1].appeals_per_day()
    # Every day of the range has its appeals; the later reports and the recurrences of its problems fall on the
    # days after it, never before.
    assert set(days) <= set(merged.appeals_per_day()) and min(merged.appeals_per_day()) == days[0]
    assert len(events) == sum(f.records for f in merged.feeds.values())
    for feed in FEEDS:
        assert (
            merged.feeds[feed].rejected_by_kind
            == singles[0].feeds[feed].rejected_by_kind + singles[1].feeds[feed].rejected_by_kind
        )


# --- publishing and the command line -------------------------------------------------------------------------


class FakeProducer:
    sent: ClassVar[list[tuple[str, bytes, bytes]]] = []
    headers: ClassVar[list[list[tuple[str, bytes]] | None]] = []

    def __init__(self, **config: Any) -> None:
        self.config = config

    async def start(self) -> None: ...

    async def send(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]] | None = None) -> None:
        self.sent.append((topic, key, value))
        self.headers.append(headers)

    async def flush(self) -> None: ...

    async def stop(self) -> None: ...


def test_publish_keys_every_record_by_its_appeal(monkeypatch: pytest.MonkeyPatch) -> None:
    import aiokafka

    monkeypatch.setattr(aiokafka, "AIOKafkaProducer", FakeProducer)
    FakeProducer.sent, FakeProducer.headers = [], []
    settings = settings_module.load()
    events = generate_day(DAY, 40, 1, MSK).events
    asyncio.run(publish(events, settings))
    assert FakeProducer.sent == [(settings.raw_topics[e.feed], e.key, e.value) for e in events]
    assert FakeProducer.headers == [[("export-day", b"2026-11-20")]] * len(events)  # every record, its export
    by_key: dict[bytes, set[str]] = {}
    for event in events:
        if event.feed == "pos" and event.kind not in ("malformed", "control"):
            record = json.loads(event.value.decode("utf-8" if _decodes_as_utf8(event.value) else "cp1251"))
            source_id = record.get("id") or record.get("appealId")
            by_key.setdefault(event.key, set()).add(str(source_id))
    assert by_key and all(ids == {key.decode()} for key, ids in by_key.items())


def test_command_line_history_and_live_dry_runs(capsys: pytest.CaptureFixture[str]) -> None:
    cli(["--days", "2", "--appeals-per-day", "30", "--end", "2026-11-20", "--dry-run"])
    out = capsys.readouterr().out
    assert "for 2026-11-19..2026-11-20" in out and "appeals created on 2026-11-20" in out
    cli(["--rate", "100", "--duration", "1.2", "--speedup", "100000", "--dry-run"])
    out = capsys.readouterr().out
    assert "appeals started" in out and "records sent" in out and "stopped after" in out
    sent = int(re.search(r"(\d+) records sent", out).group(1))  # type: ignore[union-attr]
    assert sent > 100


def test_source_ids_are_unique_across_days() -> None:
    """Appeals of different days never share an id: the platform keys appeals by (source, source_id),
    so a repeated id would make one day's appeal replace another's (the demo once lost POS appeals so)."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Europe/Moscow")
    seen: dict[str, set[str]] = {}
    for n in range(3):
        generated = generate_day(date(2026, 11, 20) + timedelta(days=n), 300, 7, tz)
        for feed, truth in generated.truth.feeds.items():
            ids = set(truth.appeals)
            assert not ids & seen.setdefault(feed, set()), f"{feed} reuses ids of an earlier day"
            seen[feed] |= ids
