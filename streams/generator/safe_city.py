"""Stand-in for Safe City video analytics: detections, bursts of cameras seeing one scene, heartbeat noise.

A burst is one problem (a pothole, an overflowing bin) seen by 2-4 cameras within five minutes: distinct
event ids, positions within ~30 m. Each detection is its own appeal for the pipeline; the generator's truth
records which ones belong together, for the later dedup job. Some detections are below the normalizer's
confidence threshold (filtered), and cameras ping a heartbeat or a status change every so often (filtered).

The situation centre's operator handles each stored detection: most get a service dispatched within
minutes (`SERVICE_FOR`) and are closed as fixed, by the fast track's fix deadline where one applies (most of
them in time, some late, some not yet); a few are closed as false alarms, a few wait.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from cur import sla, taxonomy
from streams.feeds.safe_city.normalize import MIN_CONFIDENCE, OUTCOMES
from streams.generator import problems
from streams.generator.core import Draft, Expect, Gen, appeal_expect, deadlines_covered
from streams.generator.problems import Report

FEED = "safe_city"
DETECTION_DEFECTS = (
    "malformed",
    "unmapped_code",
    "missing_field",
    "bad_timestamp",
    "out_of_range",
    "unknown_reference",
)
BURSTY = ("road_damage", "bin_overflow", "unlit_street", "snow_on_road", "crowd")
CAMERAS = 400
BURST_WINDOW_MS = 300_000
HANDLING_DEFECTS = ("malformed", "missing_field", "bad_timestamp", "unknown_reference")
# The service the operator sends for each event type (keys: the feed's codes in cur/taxonomy/feed_codes.csv).
SERVICE_FOR = {
    "road_damage": "ROADS",
    "snow_on_road": "ROADS",
    "bin_overflow": "WASTE",
    "unlit_street": "LIGHTING",
    "crowd": "POLICE",
    "camera_fault": "VIDEO",
}
HOUR = 3600.0
# The fix time an operator aims at without a fast track's deadline: hours for an emergency, else two days.
DEFAULT_FIX_S = {sla.Priority.EMERGENCY: 2 * HOUR, sla.Priority.HIGH: 6 * HOUR, sla.Priority.NORMAL: 48 * HOUR}


def _ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=moment.tzinfo)) // timedelta(milliseconds=1)


def camera_id(number: int) -> str:
    return f"CAM-{number:04d}"


def scene(gen: Gen, uid: int, created: datetime, report: Report | None = None) -> list[Draft]:
    """The detections of one scene of a problem: one camera, or a burst of several, each within ~30 m."""
    rng = gen.rng
    report = report or problems.lone_report(gen, FEED, created, uid)
    code = report.code
    subcategory = taxonomy.subcategory_for(FEED, code)
    priority = sla.priority_for(subcategory.sla_class)
    oktmo = report.problem.municipality
    lat, lon = report.problem.place.near(rng, 0)  # the spot the cameras look at
    size = rng.randint(2, 4) if code in BURSTY and gen.chance(gen.quirks.burst) else 1
    burst = f"sc-{uid}" if size > 1 else ""
    start = created + timedelta(milliseconds=rng.randint(0, 999))
    drafts = []
    for i, camera in enumerate(rng.sample(range(1, CAMERAS + 1), size)):
        at = start + timedelta(milliseconds=rng.randint(0, BURST_WINDOW_MS)) if i else start
        confidence = round(
            rng.uniform(0.2, MIN_CONFIDENCE - 0.01)
            if gen.chance(gen.quirks.low_confidence)
            else rng.uniform(0.55, 0.99),
            2,
        )
        source_id = f"sc-{uid}-{i}"
        payload: dict[str, Any] = {
            "type": "detection",
            "eventId": source_id,
            "cameraId": camera_id(camera),
            "eventType": code,
            "confidence": confidence,
            "lat": round(lat + rng.uniform(-0.0003, 0.0003), 6),
            "lon": round(lon + rng.uniform(-0.0003, 0.0003), 6),
            "ts": _ms(at),
            "districtOktmo": oktmo,
        }
        if gen.chance(0.3):
            del payload["type"]  # older analytics servers send the original shape
        if gen.optional():
            del payload["lat"], payload["lon"]
        if confidence < MIN_CONFIDENCE:
            expect = Expect(outcome="filtered")
        else:
            covered = deadlines_covered(at, subcategory, priority, official=False, region_tz=gen.tz)
            expect = appeal_expect(source_id, at, [(source_id, at, "received")], covered=covered, burst=burst)
        drafts.append(Draft(FEED, source_id, payload, at, "appeal", expect, DETECTION_DEFECTS))
        if expect.outcome == "ok":
            drafts += _handling(gen, source_id, at, code, subcategory, priority)
    return drafts


def _handling(
    gen: Gen, source_id: str, at: datetime, code: str, subcategory: taxonomy.Subcategory, priority: sla.Priority
) -> list[Draft]:
    """The operator's steps for one stored detection: dispatch and closure, or a false alarm, or nothing yet."""
    rng = gen.rng

    def step(kind: str, moment: datetime, fields: dict[str, Any], status: str) -> Draft:
        payload = {"type": kind, "eventId": source_id, "ts": _ms(moment), **fields}
        expect = Expect(events=frozenset({(source_id, moment, status)}))
        return Draft(FEED, source_id, payload, moment, "status", expect, HANDLING_DEFECTS)

    at = at.replace(microsecond=0)  # the operator's console keeps whole seconds (so do reports made from them)
    roll = rng.random()
    if roll < 0.06:
        false_alarm = gen.after(at, 300, 2 * HOUR)
        return [step("closure", false_alarm, {"outcome": "false_alarm"}, OUTCOMES["false_alarm"][0])]
    if roll < 0.09:
        return []  # still waiting for the operator
    dispatched = gen.after(at, 60, min(rng.expovariate(1 / 900), 4 * HOUR) + 60)
    drafts = [step("dispatch", dispatched, {"service": SERVICE_FOR[code]}, "assigned")]
    if gen.chance(0.1):
        return drafts  # the service has not reported back yet
    due = sla.deadlines_for(at, priority, subcategory.sla_class, region_tz=gen.tz).resolve_by
    window = (due - dispatched).total_seconds() if due is not None and due > dispatched else DEFAULT_FIX_S[priority]
    late = gen.chance(0.15)
    fixed = gen.after(dispatched, window * (1.05 if late else 0.05), window * (2.0 if late else 0.95))
    drafts.append(step("closure", fixed, {"outcome": "fixed"}, OUTCOMES["fixed"][0]))
    return drafts


def heartbeat(gen: Gen, at: datetime) -> Draft:
    """A camera's ping: alive, or a status change. Keyed by camera id; carries no appeal."""
    camera = camera_id(gen.rng.randint(1, CAMERAS))
    if gen.chance(0.85):
        payload: dict[str, Any] = {"type": "heartbeat", "cameraId": camera, "ts": _ms(at), "state": "online"}
    else:
        state = gen.rng.choice(["offline", "online", "degraded"])
        payload = {
            "type": "status",
            "cameraId": camera,
            "ts": _ms(at),
            "state": state,
            "uptimeS": gen.rng.randint(0, 10**6),
        }
    return Draft(FEED, camera, payload, at, "noise", Expect(outcome="filtered"), ("malformed",))


def heartbeats(gen: Gen, day: date, count: int) -> list[Draft]:
    return [heartbeat(gen, gen.moment_in(day)) for _ in range(count)]


def break_record(gen: Gen, draft: Draft, defect: str) -> dict[str, Any]:
    rng, broken = gen.rng, dict(draft.payload)
    kind = broken.get("type")
    if defect == "unknown_reference" and kind == "dispatch":
        broken["service"] = rng.choice(["SPACE", "roads", "FIRE"])
    elif defect == "unknown_reference" and kind == "closure":
        broken["outcome"] = rng.choice(["partially", "unknown"])
    elif defect == "unmapped_code":
        broken["eventType"] = rng.choice(["ufo_sighting", "graffiti", "ROAD_DAMAGE"])
    elif defect == "missing_field":
        del broken["eventId"]
    elif defect == "bad_timestamp":
        broken["ts"] = broken["ts"] // 1000  # a camera firmware that sends seconds
    elif defect == "out_of_range":
        if gen.chance(0.5):
            broken["confidence"] = rng.choice([1.7, 87, -0.2])
        else:
            broken["lat"], broken["lon"] = rng.choice([123.4, -95.0]), broken.get("lon", 36.26)
    elif defect == "unknown_reference":
        broken["districtOktmo"] = rng.choice(["45000000", "00000000"])
    else:
        raise ValueError(f"Safe City records cannot carry defect {defect!r}")
    return broken
