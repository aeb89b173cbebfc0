"""Each feed's normalizer on known records: exact canonical values, and a reason for every bad one."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cur.pseudonymize import Pseudonymizer
from cur.schema import Appeal, Canonical, StatusEvent, appeal_id_for
from cur.sla import Priority
from streams.feeds import NORMALIZERS
from streams.records import Context, KafkaMeta, Rejected, normalize_record
from tests.fixtures import known_events as k

MSK = ZoneInfo("Europe/Moscow")
PSEUDONYMIZER = Pseudonymizer(b"unit-test-key-unit-test-key")
INGESTED = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)


def records(feed: str, payload: bytes, offset: int = 0) -> list[Canonical] | Rejected:
    ctx = Context(KafkaMeta(f"raw.{feed}", 1, offset), INGESTED, MSK, PSEUDONYMIZER)
    return normalize_record(feed, NORMALIZERS[feed], payload, ctx)


def run(feed: str, payload: bytes, offset: int = 0) -> Appeal | Rejected:
    """The appeal a record carries (its first canonical record), or the rejection."""
    result = records(feed, payload, offset)
    return result if isinstance(result, Rejected) else result[0]


def steps(feed: str, payload: dict) -> list[tuple[str, datetime, bool]]:
    result = records(feed, json.dumps(payload).encode())
    assert not isinstance(result, Rejected)
    return [(e.status, e.event_at, e.is_response) for e in result if isinstance(e, StatusEvent)]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_pos_appeal_fields() -> None:
    appeal = run("pos", json.dumps(k.POS_1).encode(), offset=7)
    assert isinstance(appeal, Appeal)
    assert appeal.appeal_id == appeal_id_for("pos", "5001")
    assert (appeal.source, appeal.source_id) == ("pos", "5001")
    assert appeal.created_at == utc("2026-11-20T06:00:00+00:00")
    assert (appeal.sector, appeal.subcategory) == ("roads", "roads.pothole")
    assert appeal.municipality_code == k.KALUGA
    assert (appeal.lat, appeal.lon) == (54.5138, 36.2612)
    assert appeal.priority is Priority.NORMAL
    assert appeal.status == "answered"
    assert appeal.sla_deadline_at == utc("2026-11-20T14:00:00+00:00")
    assert appeal.first_response_at == utc("2026-11-20T09:30:00+00:00")
    assert (appeal.kafka_topic, appeal.kafka_partition, appeal.kafka_offset) == ("raw.pos", 1, 7)


def test_pos_public_resonance_is_high_priority_with_three_hours() -> None:
    appeal = run("pos", json.dumps(k.POS_3).encode())
    assert isinstance(appeal, Appeal)
    assert appeal.priority is Priority.HIGH
    assert appeal.sla_deadline_at == utc("2026-11-20T14:00:00+00:00")  # created 11:00 UTC + 3 h
    assert appeal.first_response_at is None
    assert appeal.status == "in_progress"


def test_112_local_time_without_zone_is_moscow_and_emergency() -> None:
    appeal = run("112", json.dumps(k.CARD_1).encode())
    assert isinstance(appeal, Appeal)
    assert appeal.created_at == utc("2026-11-20T05:05:00+00:00")
    assert appeal.priority is Priority.EMERGENCY
    assert appeal.sla_deadline_at == utc("2026-11-20T06:05:00+00:00")
    assert appeal.first_response_at == utc("2026-11-20T05:15:00+00:00")
    assert appeal.municipality_code == k.KALUGA
    assert appeal.status == "resolved"
    assert "+7910" not in appeal.text and "+7910" not in appeal.address  # the caller's phone stays out


def test_safe_city_epoch_and_generated_text() -> None:
    appeal = run("safe_city", json.dumps(k.SAFE_2).encode())
    assert isinstance(appeal, Appeal)
    assert appeal.created_at == utc("2026-11-20T19:00:00+00:00")
    assert (appeal.sector, appeal.priority) == ("safety", Priority.HIGH)
    assert appeal.text == "Видеоаналитика: Скопление людей (камера CAM-0042, уверенность 90%)"


def test_housing_fields() -> None:
    appeal = run("housing", json.dumps(k.HOUSING_1).encode())
    assert isinstance(appeal, Appeal)
    assert appeal.source_id == "ГЖИ-1"
    assert appeal.created_at == utc("2026-11-20T08:00:00+00:00")
    assert appeal.first_response_at == utc("2026-11-20T12:00:00+00:00")
    assert appeal.status == "answered"
    assert appeal.text == "Батареи еле тёплые. (УК: ООО «УК Центр»)"


def test_snapshots_carry_their_status_history() -> None:
    assert steps("pos", k.POS_1) == [
        ("received", utc("2026-11-20T06:00:00+00:00"), False),
        ("answered", utc("2026-11-20T09:30:00+00:00"), True),
    ]
    assert steps("pos", k.POS_3) == [
        ("received", utc("2026-11-20T11:00:00+00:00"), False),
        ("in_progress", utc("2026-11-20T11:00:00+00:00"), False),
    ]
    # 112: the dispatch of services is the first response; a closed card is resolved.
    assert steps("112", k.CARD_1) == [
        ("received", utc("2026-11-20T05:05:00+00:00"), False),
        ("in_progress", utc("2026-11-20T05:15:00+00:00"), True),
        ("resolved", utc("2026-11-20T05:15:00+00:00"), False),
    ]
    assert steps("safe_city", k.SAFE_1) == [("received", utc("2026-11-20T07:00:00+00:00"), False)]


def test_unmapped_codes_are_marked_for_counting() -> None:
    result = run("pos", json.dumps(k.POS_BAD).encode())
    assert isinstance(result, Rejected) and result.unmapped_code
    malformed = run("112", json.dumps(k.CARD_1).encode()[:-9])
    assert isinstance(malformed, Rejected) and not malformed.unmapped_code


def test_windows_1251_payload_is_accepted() -> None:
    appeal = run("housing", json.dumps(k.HOUSING_1, ensure_ascii=False).encode("cp1251"))
    assert isinstance(appeal, Appeal)
    assert appeal.source_id == "ГЖИ-1"


@pytest.mark.parametrize(
    ("feed", "payload", "reason"),
    [
        ("pos", json.dumps(k.POS_BAD).encode(), "code '9999' is not in the taxonomy mapping"),
        ("112", json.dumps(k.CARD_1).encode()[:-9], "malformed JSON"),
        ("housing", json.dumps(k.HOUSING_BAD).encode(), "missing required field 'complaint_no'"),
        ("safe_city", json.dumps({**k.SAFE_1, "confidence": 3}).encode(), "confidence 3.0 is outside 0..1"),
        ("pos", json.dumps({**k.POS_1, "oktmo": "45000000"}).encode(), "OKTMO '45000000' is not a municipality"),
        ("112", json.dumps({**k.CARD_1, "call_time": "yesterday"}).encode(), "Invalid isoformat string"),
        ("pos", b"[1, 2]", "expected a JSON object"),
        ("pos", b"", "empty message"),
    ],
)
def test_bad_records_are_rejected_with_reason(feed: str, payload: bytes, reason: str) -> None:
    result = run(feed, payload, offset=3)
    assert isinstance(result, Rejected)
    assert reason in result.reason
    assert result.raw_payload == payload
    assert (result.feed, result.meta.offset) == (feed, 3)


@settings(max_examples=200, deadline=None)
@given(feed=st.sampled_from(sorted(NORMALIZERS)), payload=st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(feed: str, payload: bytes) -> None:
    result = run(feed, payload)
    assert isinstance(result, Rejected) and result.reason


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(feed=st.sampled_from(sorted(NORMALIZERS)), mutation=st.dictionaries(st.text(max_size=15), JSON_VALUES))
def test_mutated_records_either_normalize_or_carry_a_reason(feed: str, mutation: dict) -> None:
    base = {"pos": k.POS_1, "112": k.CARD_1, "safe_city": k.SAFE_1, "housing": k.HOUSING_1}[feed]
    result = run(feed, json.dumps({**base, **mutation}).encode())
    assert isinstance(result, Appeal) or (isinstance(result, Rejected) and result.reason)
