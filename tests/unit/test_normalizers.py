"""Each feed's normalizer on known and hand-made records: exact canonical values, and a reason for every bad one.

The known events (tests/fixtures/known_events.py) are what the end-to-end test asserts in ClickHouse, so
their values here must not drift. Property-based tests against malformed input are in
test_feed_properties.py; the generator's ground truth in test_generator.py.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cur import sla, taxonomy
from cur.pseudonymize import Pseudonymizer
from cur.schema import STATUS_RANK, Appeal, Canonical, StatusEvent, appeal_id_for
from cur.sla import Priority
from streams.feeds import NORMALIZERS
from streams.feeds.common import EMAIL_MARK, NAME_MARK, PHONE_MARK, applicant_pseudonym, redact
from streams.feeds.safe_city.normalize import MIN_CONFIDENCE
from streams.parsing import reason_kind
from streams.records import Context, KafkaMeta, Rejected, normalize_record
from tests.fixtures import known_events as k

MSK = ZoneInfo("Europe/Moscow")
PSEUDONYMIZER = Pseudonymizer(b"unit-test-key-unit-test-key")
INGESTED = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)


def records(feed: str, payload: bytes | dict[str, Any], offset: int = 0) -> list[Canonical] | Rejected:
    if isinstance(payload, dict):
        payload = json.dumps(payload, ensure_ascii=False).encode()
    ctx = Context(KafkaMeta(f"raw.{feed}", 1, offset), INGESTED, MSK, PSEUDONYMIZER)
    return normalize_record(feed, NORMALIZERS[feed], payload, ctx)


def run(feed: str, payload: bytes | dict[str, Any], offset: int = 0) -> Appeal | Rejected:
    """The appeal a record carries (its first canonical record), or the rejection."""
    result = records(feed, payload, offset)
    return result if isinstance(result, Rejected) else result[0]  # type: ignore[return-value]


def appeal_of(feed: str, payload: dict[str, Any]) -> Appeal:
    result = run(feed, payload)
    assert isinstance(result, Appeal), result
    return result


def event_of(feed: str, payload: dict[str, Any]) -> StatusEvent:
    result = records(feed, payload)
    assert isinstance(result, list) and len(result) == 1 and isinstance(result[0], StatusEvent), result
    return result[0]


def rejected(feed: str, payload: bytes | dict[str, Any]) -> Rejected:
    result = records(feed, payload)
    assert isinstance(result, Rejected), result
    return result


def steps(feed: str, payload: dict[str, Any]) -> list[tuple[str, datetime, bool]]:
    result = records(feed, payload)
    assert not isinstance(result, Rejected)
    return [(e.status, e.event_at, e.is_response) for e in result if isinstance(e, StatusEvent)]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# --- the known events: the e2e test asserts these values -------------------------------------------------


def test_pos_appeal_fields() -> None:
    appeal = run("pos", json.dumps(k.POS_1).encode(), offset=7)
    assert isinstance(appeal, Appeal)
    assert appeal.appeal_id == appeal_id_for("pos", "5001")
    assert (appeal.source, appeal.source_id) == ("pos", "5001")
    assert appeal.created_at == utc("2026-11-20T06:00:00+00:00")
    assert (appeal.sector, appeal.subcategory) == ("roads", "roads.pothole")
    assert appeal.municipality_code == k.KALUGA
    assert (appeal.lat, appeal.lon) == (54.5138, 36.2612)
    assert appeal.address == "Калуга, ул. Ленина, д. 10"
    assert appeal.text == "Во дворе дома огромная яма."
    assert appeal.priority is Priority.NORMAL
    assert appeal.status == "answered"
    assert appeal.sla_deadline_at == utc("2026-11-20T14:00:00+00:00")
    assert appeal.first_response_at == utc("2026-11-20T09:30:00+00:00")
    assert appeal.version == 1795167000000
    assert (appeal.kafka_topic, appeal.kafka_partition, appeal.kafka_offset) == ("raw.pos", 1, 7)
    # New with deadlines_for: the pothole fast track (8 calendar days, same local time).
    assert appeal.resolve_by == utc("2026-11-28T09:00:00+03:00")
    assert appeal.applicant_pseudonym == ""  # only an ESIA id, which has no pseudonym kind yet


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
    assert appeal.text == "Карточка 112: ДТП, тяжесть 2; направлены: полиция, скорая помощь"
    assert appeal.address == "Калуга, ул. Кирова, д. 5"
    assert appeal.resolve_by is None
    assert appeal.applicant_pseudonym == PSEUDONYMIZER.phone("+79100000001")
    assert "9100000001" not in repr(appeal)  # the caller's phone stays out


def test_safe_city_epoch_and_generated_text() -> None:
    appeal = run("safe_city", json.dumps(k.SAFE_2).encode())
    assert isinstance(appeal, Appeal)
    assert appeal.created_at == utc("2026-11-20T19:00:00+00:00")
    assert (appeal.sector, appeal.priority) == ("safety", Priority.HIGH)
    assert appeal.text == "Видеоаналитика: Скопление людей (камера CAM-0042, уверенность 90%)"
    assert appeal.version == 1795201200000


def test_housing_fields() -> None:
    appeal = run("housing", json.dumps(k.HOUSING_1).encode())
    assert isinstance(appeal, Appeal)
    assert appeal.source_id == "ГЖИ-1"
    assert appeal.created_at == utc("2026-11-20T08:00:00+00:00")
    assert appeal.first_response_at == utc("2026-11-20T12:00:00+00:00")
    assert appeal.status == "answered"
    assert appeal.text == "Батареи еле тёплые. (УК: ООО «УК Центр»)"
    # A complaint to the inspectorate is a 59-FZ appeal: day 30 is Sunday 20 December -> Monday, 24:00.
    assert appeal.resolve_by == utc("2026-12-22T00:00:00+03:00")


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


def test_known_events_first_answer_deadlines() -> None:
    """The plain first-answer rule, except ГЖИ complaints: official (59-FZ), answered within the law's 30 days."""
    for feed, _key, raw in k.EVENTS:
        result = run(feed, raw)
        if not isinstance(result, Appeal):
            continue
        if feed == "housing":
            assert result.sla_deadline_at == result.resolve_by == utc("2026-12-21T21:00:00+00:00")
        else:
            assert result.sla_deadline_at == sla.first_answer_deadline(result.created_at, result.priority)


def test_known_events_give_the_expected_figures() -> None:
    """The figures the e2e test expects from ClickHouse, worked out here without services."""
    appeals: dict[str, set[str]] = {}
    events: dict[str, set[tuple[str, datetime, str]]] = {}
    reasons: dict[str, str] = {}
    unmapped = 0
    for offset, (feed, _key, raw) in enumerate(k.EVENTS + k.REPLAYS):
        result = records(feed, raw, offset)
        if isinstance(result, Rejected):
            reasons[feed] = result.reason
            unmapped += result.unmapped_code
            continue
        for record in result:
            if isinstance(record, Appeal):
                appeals.setdefault(feed, set()).add(record.source_id)
            else:
                events.setdefault(feed, set()).add((record.source_id, record.event_at, record.status))
    assert {feed: len(ids) for feed, ids in appeals.items()} == k.EXPECTED_APPEALS
    assert {feed: len(keys) for feed, keys in events.items()} == k.EXPECTED_STATUS_EVENTS
    assert set(reasons) == set(k.EXPECTED_REJECTED) and unmapped == 1
    for feed, fragment in k.EXPECTED_REJECTED.items():
        assert fragment in reasons[feed]
    state = {}
    for feed, keys in events.items():
        for source_id, _at, status in sorted(keys, key=lambda e: (e[1], STATUS_RANK[e[2]])):
            state[(feed, source_id)] = status
    assert {key: state[key] for key in k.EXPECTED_STATE} == k.EXPECTED_STATE


# --- POS: appeals and separate status changes --------------------------------------------------------------


def pos_status(status: str, at: str, **extra: Any) -> dict[str, Any]:
    return {"type": "status", "appealId": 5001, "status": status, "changedAt": at, **extra}


def test_pos_status_change_is_one_event_of_the_appeal() -> None:
    event = event_of("pos", pos_status("ASSIGNED", "2026-11-20T10:00:00+03:00", executor="Администрация МО «Калуга»"))
    assert event.appeal_id == appeal_id_for("pos", "5001")
    assert (event.source, event.source_id, event.status) == ("pos", "5001", "assigned")
    assert event.event_at == utc("2026-11-20T07:00:00+00:00")
    assert not event.is_response and event.rating is None
    assert event.detail == "исполнитель: Администрация МО «Калуга»"
    assert (event.kafka_topic, event.ingested_at) == ("raw.pos", INGESTED)


def test_pos_answer_counts_as_response_and_rating_rides_on_confirmation_or_return() -> None:
    answer = event_of("pos", pos_status("ANSWERED", "2026-11-21T10:00:00Z", comment="Работы выполнены."))
    assert (answer.status, answer.is_response, answer.event_at) == ("answered", True, utc("2026-11-21T10:00:00+00:00"))
    returned = event_of("pos", pos_status("RETURNED", "2026-11-22T10:00:00+03:00", rating=2, comment="Яма на месте"))
    assert (returned.status, returned.rating, returned.is_response) == ("returned", 2, False)
    assert event_of("pos", pos_status("RESOLVED", "2026-11-23T10:00:00+03:00", rating="5")).rating == 5
    rejected_by_moderator = event_of("pos", pos_status("REJECTED", "2026-11-20T11:00:00+03:00", comment="Спам"))
    assert (rejected_by_moderator.status, rejected_by_moderator.detail) == ("rejected", "комментарий: Спам")


def test_pos_status_before_its_appeal_lands_on_the_same_appeal() -> None:
    early = event_of("pos", pos_status("MODERATION", "2026-11-20T09:10:00+03:00"))
    appeal = appeal_of("pos", {**k.POS_1, "type": "appeal", "status": "REGISTERED", "firstAnswerAt": None})
    assert early.appeal_id == appeal.appeal_id
    assert appeal.status == "received"


def test_pos_appeal_without_status_is_registered() -> None:
    raw = {key: value for key, value in k.POS_1.items() if key not in ("status", "firstAnswerAt")}
    assert steps("pos", raw) == [("received", utc("2026-11-20T06:00:00+00:00"), False)]


def test_pos_official_appeal_gets_the_59fz_deadline() -> None:
    appeal = appeal_of("pos", {**k.POS_1, "categoryId": 1201, "official": True})  # schools: no fast track
    # Answered within the law's 30 days (day 30 is Sunday 20 December: the end of Monday 21).
    assert appeal.sla_deadline_at == appeal.resolve_by == utc("2026-12-22T00:00:00+03:00")
    fast = appeal_of("pos", {**k.POS_1, "official": True})  # pothole: the earlier of 8 days and 59-FZ
    assert fast.resolve_by == utc("2026-11-28T09:00:00+03:00")


def test_deadline_outside_the_production_calendar_is_rejected_never_guessed() -> None:
    in_2031 = {**k.POS_1, "createdAt": "2031-06-16T10:00:00+03:00", "firstAnswerAt": None}
    result = rejected("pos", {**in_2031, "official": True})  # 59-FZ moves a non-working last day: needs 2031
    assert result.reason.startswith("OutsideCalendar: ") and "2031" in result.reason
    assert reason_kind(result.reason) == "outside_calendar"
    assert (
        reason_kind(rejected("pos", {**in_2031, "categoryId": 1602}).reason) == "outside_calendar"
    )  # snow: working days
    # Deadlines that need no calendar (first answer; potholes count plain days) are computed.
    assert isinstance(run("pos", in_2031), Appeal)


def test_pos_no_gps_fix_is_no_coordinates() -> None:
    appeal = appeal_of("pos", {**k.POS_1, "coordinates": {"lat": 0, "lon": 0}})
    assert (appeal.lat, appeal.lon) == (None, None)
    assert appeal_of("pos", {k_: v for k_, v in k.POS_1.items() if k_ != "coordinates"}).lat is None


def test_new_pos_codes_of_mapping_version_2() -> None:
    appeal = appeal_of("pos", {**k.POS_1, "categoryId": 1604})
    assert (appeal.subcategory, appeal.priority) == ("roads.open_manhole", Priority.EMERGENCY)
    assert appeal.sla_deadline_at == utc("2026-11-20T07:00:00+00:00")


# --- 112: the card re-sent on every update ---------------------------------------------------------------


CARD = {**k.CARD_1, "card_id": "112-B-1", "dispatch_time": None, "closed": False, "services": []}


def test_112_updates_resend_the_card_and_collapse_to_its_history() -> None:
    first = records("112", CARD)
    dispatched = records("112", {**CARD, "dispatch_time": "20.11.2026 08:15:00", "services": ["02", "03"]})
    closed = records(
        "112",
        {**CARD, "dispatch_time": "20.11.2026 08:15:00", "closed": True, "close_time": "20.11.2026 09:40:00"},
    )
    assert isinstance(first, list) and isinstance(dispatched, list) and isinstance(closed, list)
    versions = [r[0].version for r in (first, dispatched, closed) if isinstance(r[0], Appeal)]
    assert versions == sorted(versions) and len(set(versions)) == 3  # the latest update wins in ClickHouse
    keys = {(e.status, e.event_at) for r in (closed, first, dispatched) for e in r if isinstance(e, StatusEvent)}
    assert keys == {
        ("received", utc("2026-11-20T08:05:00+03:00")),
        ("in_progress", utc("2026-11-20T08:15:00+03:00")),
        ("resolved", utc("2026-11-20T09:40:00+03:00")),
    }
    assert [a.status for a in (first[0], dispatched[0], closed[0]) if isinstance(a, Appeal)] == [
        "received",
        "in_progress",
        "resolved",
    ]


def test_112_false_call_closed_without_dispatch() -> None:
    assert steps("112", {**CARD, "closed": True, "close_time": "20.11.2026 08:12:00"}) == [
        ("received", utc("2026-11-20T08:05:00+03:00"), False),
        ("resolved", utc("2026-11-20T08:12:00+03:00"), False),
    ]


def test_112_caller_phone_is_a_pseudonym_and_cut_out_of_the_address() -> None:
    appeal = appeal_of("112", {**CARD, "caller_phone": "8 (910) 000-00-01", "address_text": "Калуга, тел. 89100000001"})
    assert appeal.applicant_pseudonym == PSEUDONYMIZER.phone("+79100000001")
    assert appeal.address == f"Калуга, тел. {PHONE_MARK}"


@pytest.mark.parametrize(
    ("phone", "expected"),
    [("112", "phone-invalid:"), ("скрыт", "phone-invalid:"), ("", ""), (None, "")],
)
def test_112_unusable_caller_phone_keeps_the_card(phone: str | None, expected: str) -> None:
    appeal = appeal_of("112", {**CARD, "caller_phone": phone})
    assert appeal.applicant_pseudonym.startswith(expected)
    assert appeal.applicant_pseudonym == "" or len(appeal.applicant_pseudonym) > len(expected)


def test_112_optional_fields_may_be_missing() -> None:
    bare = {key: value for key, value in CARD.items() if key not in ("severity", "services", "address_text")}
    appeal = appeal_of("112", bare)
    assert (appeal.text, appeal.address) == ("Карточка 112: ДТП", "")


# --- Safe City: detections, noise, thresholds -------------------------------------------------------------


@pytest.mark.parametrize(
    "ping",
    [
        {"type": "heartbeat", "cameraId": "CAM-0042", "ts": 1795158000000, "state": "online"},
        {"type": "status", "cameraId": "CAM-0042", "ts": 1795158000000, "state": "offline"},
        {"type": "HEARTBEAT"},
    ],
)
def test_safe_city_heartbeats_are_filtered(ping: dict[str, Any]) -> None:
    assert records("safe_city", ping) == []


def test_safe_city_unsure_detections_are_filtered_after_validation() -> None:
    assert records("safe_city", {**k.SAFE_1, "confidence": round(MIN_CONFIDENCE - 0.01, 2)}) == []
    assert isinstance(run("safe_city", {**k.SAFE_1, "confidence": MIN_CONFIDENCE}), Appeal)
    unknown = rejected("safe_city", {**k.SAFE_1, "confidence": 0.1, "eventType": "graffiti"})
    assert unknown.unmapped_code  # a mapping gap is reported even on an unsure detection


def test_safe_city_timestamp_in_seconds_is_refused() -> None:
    result = rejected("safe_city", {**k.SAFE_1, "ts": 1795158000})
    assert result.reason.startswith("BadTimestamp: ") and "seconds instead of milliseconds" in result.reason


def test_safe_city_burst_detections_are_separate_appeals() -> None:
    burst = [
        {**k.SAFE_1, "eventId": f"sc-b-{i}", "cameraId": f"CAM-{i:04d}", "ts": k.SAFE_1["ts"] + i * 60_000}
        for i in range(3)
    ]
    appeals = [appeal_of("safe_city", raw) for raw in burst]
    assert len({a.appeal_id for a in appeals}) == 3
    assert {a.subcategory for a in appeals} == {"roads.pothole"}


# --- housing inspectorate: complaint, inspection, order, result ------------------------------------------


def housing(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "complaint_no": "ГЖИ-1", **fields}


def test_housing_case_records_become_status_events_of_the_complaint() -> None:
    inspection = event_of(
        "housing",
        housing(
            "inspection",
            inspection_no="П-7",
            inspected_at="2026-11-24 10:00:00",
            inspection_type="выездная",
            violation_found=True,
        ),
    )
    assert (inspection.status, inspection.appeal_id) == ("in_progress", appeal_id_for("housing", "ГЖИ-1"))
    assert inspection.detail == "проверка № П-7 (выездная): нарушение выявлено"
    order = event_of(
        "housing",
        housing(
            "order",
            order_no="ПР-7",
            issued_at="2026-11-25 12:00:00",
            deadline="2026-12-05",
            management_company={"name": "ООО «УК Центр»"},
            requirement="обеспечить нормативную температуру",
        ),
    )
    assert (order.status, order.event_at) == ("assigned", utc("2026-11-25T12:00:00+03:00"))
    assert (
        order.detail
        == "предписание № ПР-7 для ООО «УК Центр»: обеспечить нормативную температуру; срок исполнения до 05.12.2026"
    )
    fixed = event_of("housing", housing("result", result_at="2026-12-04 16:00:00", outcome="fixed"))
    assert (fixed.status, fixed.is_response) == ("resolved", True)
    not_confirmed = event_of("housing", housing("result", result_at="2026-12-04 16:00:00", outcome="not_confirmed"))
    assert (not_confirmed.status, not_confirmed.is_response) == ("answered", True)
    not_fixed = event_of("housing", housing("result", result_at="2026-12-06 16:00:00", outcome="not_fixed"))
    assert (not_fixed.status, not_fixed.is_response) == ("in_progress", False)


def test_housing_order_deadline_before_its_issue_is_out_of_range() -> None:
    result = rejected(
        "housing", housing("order", order_no="ПР-7", issued_at="2026-11-25 12:00:00", deadline="2026-11-20")
    )
    assert reason_kind(result.reason) == "out_of_range"


def test_housing_complaint_may_say_it_is_not_a_59fz_appeal() -> None:
    assert appeal_of("housing", {**k.HOUSING_1, "official": False}).resolve_by is None


# --- personal data -----------------------------------------------------------------------------------------


def test_pseudonym_precedence_phone_email_name() -> None:
    p = PSEUDONYMIZER
    full = {"phone": "+7 910 123-45-67", "email": "A@B.ru", "name": "Иванов Иван"}
    assert applicant_pseudonym(p, **full) == p.phone("+79101234567")
    assert applicant_pseudonym(p, email="A@B.ru", name="Иванов Иван") == p.email("a@b.ru")
    assert applicant_pseudonym(p, name="Иванов Иван") == p.name("иванов иван")
    assert applicant_pseudonym(p) == ""


def test_invalid_personal_data_keeps_the_record_with_the_first_valid_or_a_marked_pseudonym() -> None:
    p = PSEUDONYMIZER
    assert applicant_pseudonym(p, phone="12345", email="a@b.ru") == p.email("a@b.ru")
    marked = applicant_pseudonym(p, phone="12345", email="broken@")
    assert marked.startswith("phone-invalid:")
    appeal = appeal_of("pos", {**k.POS_1, "applicant": {"phone": "12345", "email": "broken@"}})
    assert appeal.applicant_pseudonym == marked


def test_personal_data_of_the_wrong_type_is_rejected_without_quoting_it() -> None:
    result = rejected("pos", {**k.POS_1, "applicant": {"phone": {"number": "89101234567"}}})
    assert result.reason == "BadValue: applicant phone must be text, got dict"


def test_free_text_is_redacted() -> None:
    text = (
        "Яма у дома 5, кв. 12 с 20.11.2026. Звоните +7 (910) 123-45-67 или 89101234567, "
        "пишите ivan.ivanov@mail.ru. Иванов И."
    )
    assert redact(text, ["Иванов Иван Иванович"]) == (
        f"Яма у дома 5, кв. 12 с 20.11.2026. Звоните {PHONE_MARK} или {PHONE_MARK}, пишите {EMAIL_MARK}. {NAME_MARK} И."
    )
    assert redact("Ивановой Алёне, дом 5", ["Иванова Алена"]) == f"{NAME_MARK} {NAME_MARK}, дом 5"


def test_applicant_data_never_reaches_the_canonical_records() -> None:
    raw = {
        **k.POS_1,
        "text": "Яма. Мой телефон 8-910-765-43-21, почта petrov@yandex.ru. С уважением, Петров Пётр Петрович",
        "address": "Калуга, ул. Ленина, д. 10, тел. +79107654321",
        "applicant": {"esiaId": "1000000777", "fullName": "Петров Пётр Петрович", "phone": "+79107654321"},
    }
    appeal = appeal_of("pos", raw)
    assert appeal.applicant_pseudonym == PSEUDONYMIZER.phone("89107654321")
    assert (
        appeal.text
        == f"Яма. Мой телефон {PHONE_MARK}, почта {EMAIL_MARK}. С уважением, {NAME_MARK} {NAME_MARK} {NAME_MARK}"
    )
    dump = repr(records("pos", raw))
    for datum in ("9107654321", "petrov@", "Петров", "Пётр", "1000000777"):
        assert datum not in dump
    status = event_of("pos", pos_status("RETURNED", "2026-11-22T10:00:00+03:00", comment="звоните 89107654321"))
    assert status.detail == f"комментарий: звоните {PHONE_MARK}"


# --- reasons -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("feed", "payload", "reason", "kind"),
    [
        ("pos", json.dumps(k.POS_BAD).encode(), "code '9999' is not in the taxonomy mapping", "unmapped_code"),
        ("112", json.dumps(k.CARD_1).encode()[:-9], "malformed JSON", "malformed"),
        ("housing", json.dumps(k.HOUSING_BAD).encode(), "missing required field 'complaint_no'", "missing_field"),
        (
            "safe_city",
            json.dumps({**k.SAFE_1, "confidence": 3}).encode(),
            "confidence 3.0 is outside 0..1",
            "out_of_range",
        ),
        (
            "pos",
            json.dumps({**k.POS_1, "oktmo": "45000000"}).encode(),
            "OKTMO '45000000' is not a municipality",
            "unknown_reference",
        ),
        (
            "112",
            json.dumps({**k.CARD_1, "call_time": "yesterday"}).encode(),
            "'yesterday' is not a timestamp (DD.MM.YYYY HH:MM:SS or ISO 8601)",
            "bad_timestamp",
        ),
        (
            "112",
            json.dumps({**k.CARD_1, "municipality": "Тула"}).encode(),
            "municipality 'Тула' is not in the region",
            "unknown_reference",
        ),
        ("112", json.dumps({**k.CARD_1, "severity": 7}).encode(), "severity 7 is outside 1..3", "out_of_range"),
        ("pos", json.dumps({**k.POS_1, "id": None}).encode(), "required field 'id' is empty", "missing_field"),
        ("pos", json.dumps({**k.POS_1, "id": [1]}).encode(), "must be a string or an integer id", "bad_value"),
        (
            "pos",
            json.dumps({**k.POS_1, "coordinates": {"lat": 95, "lon": 36}}).encode(),
            "latitude 95.0 is outside -90..90",
            "out_of_range",
        ),
        (
            "pos",
            json.dumps({**k.POS_1, "createdAt": "1970-01-01T00:00:00Z"}).encode(),
            "outside the years 2000..2100",
            "bad_timestamp",
        ),
        (
            "pos",
            json.dumps({**k.POS_1, "urgent": "maybe"}).encode(),
            "field 'urgent' must be true or false",
            "bad_value",
        ),
        (
            "pos",
            json.dumps({**k.POS_1, "status": "ARCHIVED"}).encode(),
            "unknown POS status 'ARCHIVED'",
            "unknown_reference",
        ),
        (
            "pos",
            json.dumps(pos_status("ANSWERED", "2026-11-21T10:00:00Z", rating=7)).encode(),
            "rating 7 is outside 1..5",
            "out_of_range",
        ),
        (
            "pos",
            json.dumps({"type": "comment", "appealId": 1}).encode(),
            "unknown pos record type 'comment'",
            "unknown_reference",
        ),
        ("pos", b'{"id": "\\ud800"}', "is not valid Unicode text", "bad_value"),
        ("safe_city", json.dumps({**k.SAFE_1, "ts": "soon"}).encode(), "is not epoch milliseconds", "bad_timestamp"),
        (
            "housing",
            json.dumps(housing("result", result_at="2026-12-04 16:00:00", outcome="maybe")).encode(),
            "unknown inspection outcome 'maybe'",
            "unknown_reference",
        ),
        (
            "housing",
            json.dumps({**k.HOUSING_1, "registered_at": "2026-02-30 10:00:00"}).encode(),
            "is not a timestamp (YYYY-MM-DD HH:MM:SS or ISO 8601)",
            "bad_timestamp",
        ),
        ("pos", b"[1, 2]", "expected a JSON object", "malformed"),
        ("pos", b"", "empty message", "malformed"),
        ("pos", b"\x98\x98", "UnicodeDecodeError", "malformed"),
    ],
)
def test_bad_records_are_rejected_with_reason(feed: str, payload: bytes, reason: str, kind: str) -> None:
    result = run(feed, payload, offset=3)
    assert isinstance(result, Rejected)
    assert reason in result.reason
    assert reason_kind(result.reason, result.unmapped_code) == kind
    assert result.raw_payload == payload
    assert (result.feed, result.meta.offset) == (feed, 3)


def test_unmapped_codes_are_marked_for_counting() -> None:
    result = run("pos", json.dumps(k.POS_BAD).encode())
    assert isinstance(result, Rejected) and result.unmapped_code
    malformed = run("112", json.dumps(k.CARD_1).encode()[:-9])
    assert isinstance(malformed, Rejected) and not malformed.unmapped_code


def test_windows_1251_payload_is_accepted() -> None:
    for feed, raw in (("housing", k.HOUSING_1), ("112", k.CARD_1), ("pos", k.POS_1)):
        legacy = records(feed, json.dumps(raw, ensure_ascii=False).encode("cp1251"))
        assert legacy == records(feed, json.dumps(raw, ensure_ascii=False).encode("utf-8"))
    appeal = run("housing", json.dumps(k.HOUSING_1, ensure_ascii=False).encode("cp1251"))
    assert isinstance(appeal, Appeal) and appeal.source_id == "ГЖИ-1"


# --- taxonomy mapping versions -----------------------------------------------------------------------------


def test_mapping_versions() -> None:
    v2 = {"1103", "1405", "1604", "2201"}
    assert taxonomy.latest_mapping_version() == 2
    assert set(taxonomy.feed_codes("pos")) - set(taxonomy.feed_codes("pos", version=1)) == v2
    assert {taxonomy.mapping_version("pos", code) for code in v2} == {2}
    assert taxonomy.mapping_version("112", "FIRE") == 1
    with pytest.raises(taxonomy.UnmappedCode):
        taxonomy.mapping_version("pos", "9999")


def test_a_newer_mapping_version_remaps_a_code(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = (
        taxonomy.FeedCode("pos", "1601", "roads.pothole", 1),
        taxonomy.FeedCode("pos", "1601", "roads.open_manhole", 3),
    )
    monkeypatch.setattr(taxonomy, "_mapping_rows", lambda: rows)
    assert taxonomy._mapping(None)[("pos", "1601")].subcategory_code == "roads.open_manhole"
    assert taxonomy._mapping(2)[("pos", "1601")].subcategory_code == "roads.pothole"


def test_every_release_of_the_mapping_is_consistent() -> None:
    counts = Counter((row.feed, row.code, row.mapping_version) for row in taxonomy._mapping_rows())
    assert max(counts.values()) == 1
    assert all(row.subcategory_code in taxonomy.subcategories() for row in taxonomy._mapping_rows())


def test_late_event_of_an_earlier_day_keeps_its_own_time() -> None:
    """A status change sent days late is stored at the time it happened, not when it arrived."""
    event = event_of("pos", pos_status("ANSWERED", "2026-11-18T10:00:00+03:00"))
    assert event.event_at == utc("2026-11-18T07:00:00+00:00") and event.ingested_at - event.event_at > timedelta(days=2)
