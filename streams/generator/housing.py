"""Stand-in for the housing inspectorate (АИС ГЖИ): a complaint, then inspection, order and result records.

The legacy export runs every few hours and writes Windows-1251 more often than not; every record carries the
complaint number. An inspection finds a violation or not; a violation brings an order to the management
company with a deadline, then a result (fixed or not); no violation brings a result "not confirmed".
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
}
TIME_FIELDS = {"complaint": "registered_at", "inspection": "inspected_at", "order": "issued_at", "result": "result_at"}
DAY = 24 * 3600.0


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

    inspected = gen.after(created, DAY, 10 * DAY)
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
        follow("result", gen.after(inspected, DAY, 5 * DAY), {"outcome": "not_confirmed"}, OUTCOMES["not_confirmed"][0])
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
