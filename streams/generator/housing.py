"""Stand-in for the housing inspectorate (АИС ГЖИ): a complaint, then inspection, order and result records.

The legacy export runs every few hours and writes Windows-1251 more often than not; every record carries the
complaint number. An inspection finds a violation or not; a violation brings an order to the management
company with a deadline, then a result (fixed or not); no violation brings a result "not confirmed".

The inspectorate answers as 59-FZ makes it: the applicant gets an answer within the 30-day term, once the
inspection has found nothing (the result "not confirmed" is the answer) or has led to an order (a letter
saying what was found and ordered; whether the order is met comes later, as its result). Most cases are
answered in a week or two, some only after the term (`SLOW`). A gas complaint is an emergency with an
hour's first-answer deadline: the duty inspector passes it to the emergency gas service at once and says so
to the applicant, then the case goes on as any other, sooner.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cur import sla, taxonomy
from streams.feeds.housing.normalize import OUTCOMES
from streams.generator import places, problems, texts
from streams.generator.core import Draft, Expect, Gen, appeal_expect, deadlines_covered
from streams.generator.problems import Report

FEED = "housing"
LOCAL = "%Y-%m-%d %H:%M:%S"
COMPLAINT_DEFECTS = (
    "malformed",
    "unmapped_code",
    "missing_field",
    "bad_timestamp",
    "unknown_reference",
    "outside_calendar",
)
DEFECTS = {
    "inspection": ("malformed", "missing_field", "bad_timestamp"),
    "order": ("malformed", "missing_field", "bad_timestamp", "out_of_range"),
    "result": ("malformed", "missing_field", "bad_timestamp", "unknown_reference"),
    "answer": ("malformed", "missing_field", "bad_timestamp"),
}
TIME_FIELDS = {
    "complaint": "registered_at",
    "inspection": "inspected_at",
    "order": "issued_at",
    "result": "result_at",
    "answer": "answered_at",
}
HOUR = 3600.0
DAY = 24 * HOUR
SLOW = 0.2  # cases answered only after the 59-FZ term (32-45 days after registration)
FORWARDED = "обращение передано в аварийно-диспетчерскую службу газораспределительной организации"


def complaint(gen: Gen, uid: int, created: datetime, report: Report | None = None) -> list[Draft]:
    """Every record of one complaint's case: the building's register address and management company."""
    rng = gen.rng
    source_id = f"ГЖИ-{uid // 1_000_000}/{uid % 1_000_000:05d}"
    report = report or problems.lone_report(gen, FEED, created, uid)
    code = report.code
    subcategory = taxonomy.subcategory_for(FEED, code)
    place = report.problem.place
    oktmo = place.municipality
    name, inn = place.management_company()
    company: dict[str, Any] = {"name": name, "inn": inn}
    if gen.optional():
        del company["inn"]
    person = gen.person() if gen.chance(0.7) else None
    description = texts.appeal_text(rng, report.kind_text, subcategory.name_ru, repeat=bool(report.problem.repeat_of))
    payload: dict[str, Any] = {
        "type": "complaint",
        "complaint_no": source_id,
        "registered_at": gen.local(created, LOCAL),
        "violation_code": code,
        "management_company": company,
        "building_address": places.official_address(place),
        "oktmo": oktmo,
        "description": gen.with_personal_data(description, person, person.phone if person else None),
    }
    if person is not None:
        applicant = {"fio": person.fio, "phone": person.phone, "email": person.email}
        payload["applicant"] = {k: v for k, v in applicant.items() if v is not None}
    if gen.chance(0.3):
        del payload["type"]  # the original export has no record type
    priority = sla.priority_for(subcategory.sla_class)
    covered = deadlines_covered(created, subcategory, priority, official=True, region_tz=gen.tz)
    received = [(source_id, created, "received")]
    expect = appeal_expect(source_id, created, received, covered=covered)
    drafts = [Draft(FEED, source_id, payload, created, "appeal", expect, COMPLAINT_DEFECTS)]

    def follow(kind: str, at: datetime, fields: dict[str, Any], status: str) -> None:
        record = {"type": kind, "complaint_no": source_id, TIME_FIELDS[kind]: gen.local(at, LOCAL), **fields}
        expect = Expect(events=frozenset({(source_id, at, status)}))
        drafts.append(Draft(FEED, source_id, record, at, "status", expect, DEFECTS[kind]))

    emergency = priority is sla.Priority.EMERGENCY
    answers = 0

    def answer(at: datetime, summary: str) -> None:
        nonlocal answers
        answers += 1
        fields = {"answer_no": f"О-{uid % 1_000_000:05d}/{answers}", "summary": summary}
        follow("answer", at, fields, "answered")

    if emergency and gen.chance(0.95):
        answer(gen.after(created, 300, 2400) if gen.chance(0.9) else gen.after(created, HOUR, 4 * HOUR), FORWARDED)
    slow = gen.chance(SLOW)
    late_answer = gen.after(created, 32 * DAY, 45 * DAY)
    inspected = gen.after(created, HOUR, DAY) if emergency else gen.after(created, DAY, 10 * DAY)
    found = gen.chance(0.7)
    inspection: dict[str, Any] = {
        "inspection_no": f"П-{uid % 1_000_000:05d}",
        "inspection_type": rng.choice(["выездная", "документарная"]),
        "violation_found": found,
    }
    if gen.optional():
        del inspection["inspection_type"]
    follow("inspection", inspected, inspection, "in_progress")
    if not found:
        result_at = max(late_answer, inspected) if slow else gen.after(inspected, DAY, 5 * DAY)
        follow("result", result_at, {"outcome": "not_confirmed"}, OUTCOMES["not_confirmed"][0])
        return drafts
    issued = gen.after(inspected, 3600, 2 * DAY)
    deadline = issued.astimezone(gen.tz).date() + timedelta(days=rng.randint(5, 30))
    order = {
        "order_no": f"ПР-{uid % 1_000_000:05d}",
        "deadline": deadline.isoformat(),
        "management_company": company,
        "requirement": texts.REQUIREMENTS.get(subcategory.code, "устранить выявленные нарушения"),
    }
    follow("order", issued, order, "assigned")
    outcome = "fixed" if gen.chance(0.75) else "not_fixed"
    result_at = gen.after(issued, 3 * DAY, 35 * DAY)
    # The letter goes before the order's result is known at the latest (the result is then told as well).
    letter = max(late_answer, issued + timedelta(hours=1)) if slow else gen.after(issued, HOUR, 5 * DAY)
    answer(min(letter, result_at - timedelta(minutes=1)), texts.ORDER_ANSWER)
    comment = {"comment": "акт проверки исполнения предписания"} if gen.chance(0.5) else {}
    follow("result", result_at, {"outcome": outcome, **comment}, OUTCOMES[outcome][0])
    return drafts


def break_record(gen: Gen, draft: Draft, defect: str) -> dict[str, Any]:
    rng, broken = gen.rng, dict(draft.payload)
    kind = draft.payload.get("type", "complaint")
    if defect == "unmapped_code":
        broken["violation_code"] = rng.choice(["GZI-99", "GZI-6", "gzi-01"])
    elif defect == "missing_field":
        del broken["complaint_no"]
    elif defect == "bad_timestamp":
        broken[TIME_FIELDS[kind]] = rng.choice(["2026-02-30 10:00:00", "30.02.2026", "2026-11-20 24:00:00"])
    elif defect == "out_of_range":  # an order whose deadline is before its issue
        issued = datetime.strptime(broken["issued_at"], "%Y-%m-%d %H:%M:%S").date()
        broken["deadline"] = (issued - timedelta(days=rng.randint(1, 10))).isoformat()
    elif defect == "unknown_reference" and kind == "result":
        broken["outcome"] = rng.choice(["partially", "unknown"])
    elif defect == "unknown_reference":
        broken["oktmo"] = rng.choice(["45000000", "29999999"])
    elif defect == "outside_calendar":  # a registration date typed years ahead; 59-FZ needs the calendar
        broken["registered_at"] = "2031-06-16 10:00:00"
    else:
        raise ValueError(f"housing {kind} records cannot carry defect {defect!r}")
    return broken
