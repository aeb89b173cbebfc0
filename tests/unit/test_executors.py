"""The executor of a status event per feed, and lifecycles in the generator that KPIs can be computed on.

The normalizers put the organisation or service a step names as responsible into `StatusEvent.executor`
(besides the free-text detail, which stays as it was). The generator's lives must be plausible for the
KPI models: executors are organisations, answers mostly meet their deadlines, Safe City detections get a
service and a resolution.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cur import taxonomy
from cur.pseudonymize import Pseudonymizer
from cur.schema import Appeal, StatusEvent
from streams.feeds import NORMALIZERS
from streams.feeds.emergency_112.normalize import SERVICES_RU, executor_of
from streams.feeds.safe_city.normalize import SERVICES
from streams.generator import generate_days, safe_city, texts
from streams.records import Context, KafkaMeta, Rejected, normalize_record

MSK = ZoneInfo("Europe/Moscow")
PSEUDONYMIZER = Pseudonymizer(b"unit-test-key-unit-test-key")
INGESTED = datetime(2026, 11, 21, tzinfo=UTC)


def events(feed: str, payload: dict[str, Any]) -> list[StatusEvent]:
    ctx = Context(KafkaMeta(f"raw.{feed}", 0, 0), INGESTED, MSK, PSEUDONYMIZER)
    result = normalize_record(feed, NORMALIZERS[feed], json.dumps(payload, ensure_ascii=False).encode(), ctx)
    assert not isinstance(result, Rejected), result
    return [r for r in result if isinstance(r, StatusEvent)]


def rejection(feed: str, payload: dict[str, Any]) -> str:
    ctx = Context(KafkaMeta(f"raw.{feed}", 0, 0), INGESTED, MSK, PSEUDONYMIZER)
    result = normalize_record(feed, NORMALIZERS[feed], json.dumps(payload, ensure_ascii=False).encode(), ctx)
    assert isinstance(result, Rejected), result
    return result.reason


def test_pos_executor_of_a_status_change() -> None:
    change = {"type": "status", "appealId": 7, "status": "ASSIGNED", "changedAt": "2026-11-20T10:00:00+03:00"}
    (assigned,) = events("pos", {**change, "executor": "  ООО  «УК Центр» ", "comment": "в работу"})
    assert assigned.executor == "ООО «УК Центр»"  # blanks made one: one executor however it was typed
    assert assigned.detail == "исполнитель: ООО  «УК Центр»; комментарий: в работу"  # the detail as before
    (moderated,) = events("pos", {**change, "status": "MODERATION"})
    assert moderated.executor == ""


def test_housing_executor_is_the_management_company_of_the_order() -> None:
    order = {
        "type": "order",
        "complaint_no": "ГЖИ-1",
        "order_no": "ПР-7",
        "issued_at": "2026-11-25 12:00:00",
        "deadline": "2026-12-05",
        "management_company": {"name": "ООО «УК Центр»", "inn": "4027000001"},
    }
    (assigned,) = events("housing", order)
    assert (assigned.status, assigned.executor) == ("assigned", "ООО «УК Центр»")
    assert assigned.detail == "предписание № ПР-7 для ООО «УК Центр»; срок исполнения до 05.12.2026"
    (unnamed,) = events("housing", {k: v for k, v in order.items() if k != "management_company"})
    assert unnamed.executor == "" and "управляющая компания не указана" in unnamed.detail
    inspection = {
        "type": "inspection",
        "complaint_no": "ГЖИ-1",
        "inspection_no": "П-7",
        "inspected_at": "2026-11-24 10:00:00",
    }
    assert [e.executor for e in events("housing", inspection)] == [""]


def test_housing_answer_to_the_applicant_is_the_first_response() -> None:
    answer = {"type": "answer", "complaint_no": "ГЖИ-1", "answer_no": "О-7/1", "answered_at": "2026-11-26 09:00:00"}
    (answered,) = events("housing", {**answer, "summary": "выдано предписание"})
    assert (answered.status, answered.is_response, answered.executor) == ("answered", True, "")
    assert answered.detail == "ответ заявителю № О-7/1: выдано предписание"
    assert "answered_at" in rejection("housing", {k: v for k, v in answer.items() if k != "answered_at"})


CARD = {
    "card_id": "112-40-1",
    "call_time": "20.11.2026 08:05:00",
    "incident_type": "DTP",
    "municipality": "Калуга",
    "address_text": "ул. Кирова, 10",
}


def test_112_executor_is_the_services_dispatched_in_a_fixed_order() -> None:
    dispatched = {**CARD, "dispatch_time": "20.11.2026 08:15:00", "services": ["03", "02", "03"]}
    steps = events("112", dispatched)
    assert [(e.status, e.executor) for e in steps] == [("received", ""), ("in_progress", "полиция, скорая помощь")]
    closed = events(
        "112", {**dispatched, "services": ["02", "03"], "closed": True, "close_time": "20.11.2026 09:40:00"}
    )
    assert {e.executor for e in closed if e.status != "received"} == {"полиция, скорая помощь"}
    assert executor_of(["05", "99", "01", "7"]) == "пожарная охрана, ЖКХ, 7, 99"  # unknown codes kept, after
    assert executor_of([]) == ""
    assert [e.executor for e in events("112", CARD)] == [""]


def test_112_services_are_one_list() -> None:
    """The generator dispatches from the normalizer's list: every code it sends has a name."""
    from streams.generator import emergency_112

    assert {code for codes in emergency_112.SERVICES.values() for code in codes} <= set(SERVICES_RU)


def test_safe_city_dispatch_and_closure() -> None:
    base = {"eventId": "sc-1-0", "ts": 1763622000000}
    (assigned,) = events("safe_city", {**base, "type": "dispatch", "service": "ROADS"})
    assert (assigned.status, assigned.executor, assigned.is_response) == ("assigned", "дорожная служба", False)
    (fixed,) = events("safe_city", {**base, "type": "closure", "outcome": "fixed", "comment": "яма заделана"})
    assert (fixed.status, fixed.executor, fixed.detail) == ("resolved", "", "устранено: яма заделана")
    (false_alarm,) = events("safe_city", {**base, "type": "closure", "outcome": "false_alarm"})
    assert false_alarm.status == "rejected"
    assert "unknown Safe City service 'SPACE'" in rejection(
        "safe_city", {**base, "type": "dispatch", "service": "SPACE"}
    )
    assert "unknown Safe City outcome" in rejection("safe_city", {**base, "type": "closure", "outcome": "maybe"})


def test_safe_city_operator_sends_a_known_service_for_every_event_type() -> None:
    assert set(safe_city.SERVICE_FOR) == set(taxonomy.feed_codes("safe_city"))
    assert set(safe_city.SERVICE_FOR.values()) <= set(SERVICES)


# --- the generator's lives ------------------------------------------------------------------------------------

DAYS = [date(2026, 11, 16) + timedelta(days=i) for i in range(2)]


@pytest.fixture(scope="module")
def landed() -> tuple[dict[tuple[str, str], Appeal], dict[tuple[str, str], list[StatusEvent]]]:
    """Two days, complete (no `until`: every answer that will ever come is there), through the normalizers."""
    raw, _truth = generate_days(DAYS, 600, 11, MSK)
    appeals: dict[tuple[str, str], Appeal] = {}
    steps: dict[tuple[str, str], list[StatusEvent]] = defaultdict(list)
    for offset, event in enumerate(raw):
        ctx = Context(KafkaMeta(f"raw.{event.feed}", 0, offset), INGESTED, MSK, PSEUDONYMIZER)
        result = normalize_record(event.feed, NORMALIZERS[event.feed], event.value, ctx, key=event.key)
        if not isinstance(result, list):
            continue
        for record in result:
            if isinstance(record, Appeal):
                appeals[(record.source, record.source_id)] = record
            elif isinstance(record, StatusEvent):
                steps[(record.source, record.source_id)].append(record)
    return appeals, steps


def test_generated_executors_are_organisations_and_services(landed: tuple[dict, dict]) -> None:
    appeals, steps = landed
    found: dict[str, Counter[str]] = defaultdict(Counter)
    for (feed, _id), events_ in steps.items():
        for e in events_:
            if e.status == "assigned" or (feed == "112" and e.is_response):
                assert e.executor, f"{feed} {e.status} without an executor: {e.detail}"
            if e.executor:
                found[feed][e.executor] += 1
    companies = {name for name, _inn in texts.COMPANIES}
    administrations = {texts.MUNICIPAL_EXECUTOR.format(name=n) for n in taxonomy.municipalities().values()}
    organisations = companies | administrations | {e for names in texts.EXECUTORS.values() for e in names}
    assert set(found["pos"]) <= organisations and len(found["pos"]) >= 8
    assert set(found["housing"]) <= companies and found["housing"]
    assert set(found["safe_city"]) <= set(SERVICES.values()) and len(found["safe_city"]) >= 4
    assert all(set(name.split(", ")) <= set(SERVICES_RU.values()) for name in found["112"])
    assert appeals


def test_generated_first_answers_mostly_meet_their_deadlines(landed: tuple[dict, dict]) -> None:
    """Every deadline has passed in a complete history: the share answered by it, per feed of people."""
    appeals, steps = landed
    on_time: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for key, appeal in appeals.items():
        answers = [e.event_at for e in steps.get(key, []) if e.is_response]
        total[appeal.source] += 1
        on_time[appeal.source] += bool(answers) and min(answers) <= appeal.sla_deadline_at
    share = {feed: on_time[feed] / total[feed] for feed in total}
    assert 0.6 <= share["pos"] <= 0.85, share
    assert share["112"] >= 0.8, share
    assert 0.7 <= share["housing"] < 0.97, share  # the inspectorate answers most in time, some late
    assert share["safe_city"] == 0  # no applicant: nobody to answer


def test_generated_safe_city_detections_get_a_service_and_a_resolution(landed: tuple[dict, dict]) -> None:
    appeals, steps = landed
    detections = [key for key in appeals if key[0] == "safe_city"]
    statuses = Counter(frozenset(e.status for e in steps[key]) for key in detections)
    handled = sum(n for s, n in statuses.items() if "assigned" in s)
    resolved = sum(n for s, n in statuses.items() if "resolved" in s)
    assert handled / len(detections) > 0.8 and resolved / len(detections) > 0.7
    assert sum(n for s, n in statuses.items() if "rejected" in s) > 0  # false alarms
