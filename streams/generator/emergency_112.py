"""Stand-in for the 112 dispatch system: an incident card, re-sent whole on every update.

The card is sent when the call is taken, again when services are dispatched, and again when it is closed
(with `close_time`; older cards close without it). Times are local, without zone, DD.MM.YYYY HH:MM:SS.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cur import sla, taxonomy
from streams.feeds.emergency_112.normalize import SERVICES_RU
from streams.generator import places, problems
from streams.generator.core import Draft, EventKey, Gen, appeal_expect, deadlines_covered
from streams.generator.problems import Report

FEED = "112"
LOCAL = "%d.%m.%Y %H:%M:%S"
DEFECTS = ("malformed", "unmapped_code", "missing_field", "bad_timestamp", "out_of_range", "unknown_reference")
SERVICES = {
    "FIRE": ["01", "03"],
    "DTP": ["02", "03"],
    "MED": ["03"],
    "GAS": ["04", "01"],
    "HOOLIGAN": ["02"],
    "MANHOLE": ["05"],
    "UTILITY_ACCIDENT": ["05"],
}
DETAILS = {
    "building": ("подъезд 1", "подъезд 2", "подъезд 4", "во дворе", "кв. 15", "подвал"),
    "point": ("у магазина", "напротив школы", "на перекрёстке", "у остановки", "во дворе"),
    "segment": ("на проезжей части", "у остановки", "на перекрёстке"),
}


def _events(
    source_id: str, created: datetime, dispatched: datetime | None, closed: datetime | None, close_time: bool
) -> list[EventKey]:
    """The status events a card snapshot implies (as streams.records.snapshot_events reads a 112 card)."""
    events: list[EventKey] = [(source_id, created, "received")]
    if dispatched is not None:
        events.append((source_id, dispatched, "in_progress"))
    if closed is not None:
        moments = [created, *([dispatched] if dispatched else []), *([closed] if close_time else [])]
        events.append((source_id, max(moments), "resolved"))
    return events


def incident(gen: Gen, uid: int, created: datetime, report: Report | None = None) -> list[Draft]:
    """Every send of one incident card: a call about a problem, its address as the dispatcher typed it."""
    rng = gen.rng
    source_id = f"112-40-{uid}"
    report = report or problems.lone_report(gen, FEED, created, uid)
    code = report.code
    subcategory = taxonomy.subcategory_for(FEED, code)
    place = report.problem.place
    oktmo = place.municipality
    name = taxonomy.municipalities()[oktmo]
    if gen.chance(0.1):
        name = rng.choice([name.upper(), f"  {name} ", name.lower()])  # typed by a dispatcher
    phone = gen.phone() if not gen.chance(0.05) else rng.choice(["", "скрыт", "112"])
    address = places.dispatcher_address(rng, place, rng.choice(DETAILS[place.kind]))
    address = gen.with_personal_data(address, None, phone if phone[:1] in "+8" else None)
    card: dict[str, Any] = {
        "card_id": source_id,
        "call_time": gen.local(created, LOCAL),
        "caller_phone": phone,
        "incident_type": code,
        "address_text": address,
        "municipality": name,
        "services": [],
        "severity": rng.randint(1, 3),
        "dispatch_time": None,
        "closed": False,
    }
    for optional in ("severity", "address_text", "services"):
        if gen.optional():
            del card[optional]
    covered = deadlines_covered(created, subcategory, sla.Priority.EMERGENCY, official=False, region_tz=gen.tz)

    def send(snapshot: dict[str, Any], at: datetime, kind: str, events: list[EventKey]) -> Draft:
        expect = appeal_expect(source_id, created, events, covered=covered)
        return Draft(FEED, source_id, snapshot, at, kind, expect, DEFECTS)

    drafts = [send(card, created, "appeal", _events(source_id, created, None, None, False))]
    dispatched: datetime | None = None
    if gen.chance(0.9):
        dispatched = gen.after(created, 30, min(rng.expovariate(1 / 720), 7200))
        services = list(SERVICES[code])
        if gen.chance(0.2):
            services.append(rng.choice(list(SERVICES_RU)))
        card = {**card, "dispatch_time": gen.local(dispatched, LOCAL), "services": services}
        drafts.append(send(card, dispatched, "update", _events(source_id, created, dispatched, None, False)))
    closed: datetime | None = None
    if dispatched is not None and gen.chance(0.8):
        closed = gen.after(dispatched, 1200, 6 * 3600)
    elif dispatched is None and gen.chance(0.5):
        closed = gen.after(created, 120, 1200)  # a false call, closed without dispatch
    if closed is not None:
        with_time = not gen.optional()
        card = {**card, "closed": True}
        if with_time:
            card["close_time"] = gen.local(closed, LOCAL)
        events = _events(source_id, created, dispatched, closed, with_time)
        drafts.append(send(card, closed, "update", events))
    return drafts


def break_record(gen: Gen, draft: Draft, defect: str) -> dict[str, Any]:
    rng, broken = gen.rng, dict(draft.payload)
    if defect == "unmapped_code":
        broken["incident_type"] = rng.choice(["UFO", "FLOOD", "99"])
    elif defect == "missing_field":
        del broken["card_id"]
    elif defect == "bad_timestamp":
        broken["call_time"] = rng.choice(["31.02.2026 25:61:00", "20/11/2026 08:05", "вчера вечером"])
    elif defect == "out_of_range":
        broken["severity"] = rng.choice([0, 5, 9])
    elif defect == "unknown_reference":
        broken["municipality"] = rng.choice(["Тула", "Москва", "Калужская обл."])
    else:
        raise ValueError(f"112 cards cannot carry defect {defect!r}")
    return broken
