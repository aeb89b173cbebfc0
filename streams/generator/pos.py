"""Stand-in for the Gosuslugi feedback platform (POS): an appeal, then its status changes over the following days.

The appeal is sent when the citizen files it (status REGISTERED); each later step is a separate status record:
moderation, rejection by the moderator, assignment to an executor, work, answer, the applicant's rating with
a confirmation or a return for rework, and the rework's own answer.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

from cur import sla, taxonomy
from streams.feeds.pos.normalize import STATUSES
from streams.generator import places, problems, texts
from streams.generator.core import Draft, Expect, Gen, appeal_expect, deadlines_covered
from streams.generator.places import Place
from streams.generator.problems import Report

FEED = "pos"
APPEAL_DEFECTS = (
    "malformed",
    "unmapped_code",
    "missing_field",
    "bad_timestamp",
    "out_of_range",
    "unknown_reference",
    "outside_calendar",
)
STATUS_DEFECTS = ("malformed", "missing_field", "bad_timestamp", "out_of_range", "unknown_reference")
HOUR = 3600.0
GPS_JITTER_M = 30.0
NO_GPS = 0.3  # appeals sent without coordinates (besides those that leave the field out)
DAY = 24 * HOUR
REOPENED = 0.15  # appeals the portal closed for a silent applicant that the applicant returns afterwards


def _executor(gen: Gen, subcategory: taxonomy.Subcategory, place: Place) -> str:
    """The organisation the appeal is assigned to; of a sector's few, the one that serves this place."""
    if subcategory.sector_code in texts.EXECUTORS and gen.chance(0.7):
        choices = texts.EXECUTORS[subcategory.sector_code]
        return choices[zlib.crc32(f"{place.municipality}:{place.street.street.name}".encode()) % len(choices)]
    if subcategory.sector_code == "housing_utilities":
        return place.management_company()[0]
    return texts.MUNICIPAL_EXECUTOR.format(name=taxonomy.municipalities()[place.municipality])


def _steps(
    gen: Gen, created: datetime, executor: str, priority: sla.Priority
) -> list[tuple[str, datetime, dict[str, Any]]]:
    """The appeal's life after filing: (portal status, moment, extra fields)."""
    # Timing follows the regions' norm of a first answer within 8 hours: most appeals are moderated,
    # assigned and answered within it (a median of about 4-5 hours), a tail of them late, some by days.
    # An emergency (1 h) or a high-importance appeal (3 h) goes through the same steps as much faster.
    pace = sla.FIRST_ANSWER_DEADLINE[priority] / sla.FIRST_ANSWER_DEADLINE[sla.Priority.NORMAL]
    rng, steps = gen.rng, []
    t = gen.after(created, 300 * pace, HOUR * pace)
    steps.append(("MODERATION", t, {}))
    if gen.chance(0.05):
        t = gen.after(t, HOUR, DAY)
        return [*steps, ("REJECTED", t, {"comment": rng.choice(texts.REJECTIONS)})]
    t = gen.after(t, 600 * pace, 2 * HOUR * pace)
    steps.append(("ASSIGNED", t, {"executor": executor}))
    if gen.chance(0.6):
        t = gen.after(t, 600 * pace, 2 * HOUR * pace)
        steps.append(("IN_WORK", t, {}))
    if not gen.chance(0.85):
        return steps
    t = gen.after(t, 1800 * pace, (min(rng.expovariate(1 / (2.5 * HOUR)), 3 * DAY) + 1800) * pace)
    steps.append(("ANSWERED", t, {"executor": executor, "comment": rng.choice(texts.ANSWERS)}))
    if gen.chance(0.6):
        rating = rng.choices([1, 2, 3, 4, 5], weights=[10, 10, 15, 30, 35])[0]
        if rating <= 2 and gen.chance(0.6):
            t = gen.after(t, 2 * HOUR, 2 * DAY)
            remark = gen.with_personal_data(rng.choice(texts.RETURNS), None)
            steps.append(("RETURNED", t, {"rating": rating, "comment": remark}))
            t = gen.after(t, 2 * HOUR, 3 * DAY)
            steps.append(("IN_WORK", t, {"executor": executor}))
            if gen.chance(0.8):
                t = gen.after(t, 2 * HOUR, 3 * DAY)
                steps.append(("ANSWERED", t, {"executor": executor, "comment": rng.choice(texts.ANSWERS)}))
                if gen.chance(0.5):
                    t = gen.after(t, 2 * HOUR, 3 * DAY)
                    steps.append(("RESOLVED", t, {"rating": rng.randint(3, 5)}))
        else:
            t = gen.after(t, 2 * HOUR, 3 * DAY)
            steps.append(("RESOLVED", t, {"rating": rating}))
    elif gen.chance(0.5):
        t = gen.after(t, 3 * DAY, 5 * DAY)  # confirmed by the portal once the applicant stayed silent
        steps.append(("RESOLVED", t, {}))
        if gen.chance(REOPENED):  # the applicant comes back: nothing was done; the appeal is reopened
            t = gen.after(t, 2 * HOUR, 4 * DAY)
            steps.append(("RETURNED", t, {"rating": rng.randint(1, 2), "comment": rng.choice(texts.RETURNS)}))
            t = gen.after(t, 2 * HOUR, 2 * DAY)
            steps.append(("IN_WORK", t, {"executor": executor}))
    return steps


def appeal(gen: Gen, uid: int, created: datetime, report: Report | None = None) -> list[Draft]:
    """Every record of one POS appeal's life: a resident's report of a problem, in their own words."""
    rng = gen.rng
    source_id = str(uid)
    report = report or problems.lone_report(gen, FEED, created, uid)
    place, code = report.problem.place, report.code
    subcategory = taxonomy.subcategory_for(FEED, code)
    oktmo = place.municipality
    lat, lon = place.near(rng, GPS_JITTER_M)
    person = gen.person()
    official = gen.chance(0.1)
    public = gen.chance(0.03)
    urgent = subcategory.sla_class != "emergency" and gen.chance(0.01)
    true_kind = taxonomy.subcategories()[report.problem.kind]  # the text describes it, whatever the code
    text = report.text or texts.appeal_text(
        rng, report.kind_text, true_kind.name_ru, repeat=bool(report.problem.repeat_of)
    )
    applicant: dict[str, Any] = {"esiaId": person.esia_id, "fullName": person.fio}
    if person.phone is not None:
        applicant["phone"] = person.phone
    if person.email is not None:
        applicant["email"] = person.email
    payload: dict[str, Any] = {
        "type": "appeal",
        "id": uid,
        "categoryId": int(code),
        "regionCode": "40",
        "oktmo": oktmo,
        "address": places.resident_address(rng, place),
        "coordinates": {"lat": lat, "lon": lon},
        "text": text if report.text else gen.with_personal_data(text, person, person.phone),
        "createdAt": gen.iso(created),
        "status": "REGISTERED",
        "firstAnswerAt": None,
        "attachmentsCount": rng.randint(0, 3),
        "applicant": applicant,
        "official": official,
        "urgent": urgent,
        "publicResonance": public,
    }
    if gen.chance(0.3):
        del payload["type"]  # older widget clients send the original shape
    for optional in ("address", "coordinates", "attachmentsCount", "firstAnswerAt"):
        if gen.optional():
            del payload[optional]
    if "coordinates" in payload and gen.chance(NO_GPS):
        payload["coordinates"] = None  # no GPS fix, or the resident did not share the location
    priority = sla.priority_for(subcategory.sla_class, emergency=urgent, high=public)
    covered = deadlines_covered(created, subcategory, priority, official=official, region_tz=gen.tz)
    drafts = [
        Draft(
            FEED,
            source_id,
            payload,
            created,
            "appeal",
            appeal_expect(source_id, created, [(source_id, created, "received")], covered=covered),
            APPEAL_DEFECTS,
        )
    ]
    for status, at, extra in _steps(gen, created, _executor(gen, subcategory, place), priority):
        record = {"type": "status", "appealId": uid, "status": status, "changedAt": gen.iso(at), **extra}
        expect = Expect(events=frozenset({(source_id, at, STATUSES[status])}))
        drafts.append(Draft(FEED, source_id, record, at, "status", expect, STATUS_DEFECTS))
    if len(drafts) > 2 and gen.chance(gen.quirks.out_of_order):
        # The portal's queues are per record type: the appeal may arrive after its first status changes.
        drafts[0].sent_at = gen.after(drafts[min(2, len(drafts) - 1)].at, 1, 600)
    return drafts


def break_record(gen: Gen, draft: Draft, defect: str) -> dict[str, Any]:
    """A copy of the record with exactly one defect of the given kind."""
    rng, broken = gen.rng, dict(draft.payload)
    status = draft.kind == "status"
    time_field = "changedAt" if status else "createdAt"
    if defect == "unmapped_code":
        broken["categoryId"] = rng.choice([9999, 3001, 1699])
    elif defect == "missing_field":
        del broken["appealId" if status else "id"]
    elif defect == "bad_timestamp":
        broken[time_field] = rng.choice(["2026-13-45T10:00:00+03:00", "вчера", "20.11.2026 09:00", "1900-01-01T00:00"])
    elif defect == "out_of_range" and status:
        broken["rating"] = rng.choice([0, 6, 7, 10])
    elif defect == "out_of_range":
        lon = (broken.get("coordinates") or {}).get("lon", 36.26)
        broken["coordinates"] = {"lat": rng.choice([91.5, -123.0, 540.1]), "lon": lon}
    elif defect == "unknown_reference" and status:
        broken["status"] = rng.choice(["ARCHIVED", "DRAFT"])
    elif defect == "unknown_reference":
        broken["oktmo"] = rng.choice(["45000000", "29999999"])
    elif defect == "outside_calendar":  # a device clock years ahead, on a 59-FZ appeal
        broken["official"] = True
        broken["createdAt"] = "2031-06-16T10:00:00+03:00"
    else:
        raise ValueError(f"POS {draft.kind} records cannot carry defect {defect!r}")
    return broken
