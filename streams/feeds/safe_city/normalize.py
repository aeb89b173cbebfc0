"""Safe City records → canonical appeals and the operator's handling of them; heartbeats and unsure detections
→ nothing (counted as filtered).

Raw shapes on one topic, keyed by event id (heartbeats by camera id):

- detection (`"type": "detection"`, or no `type`: the original shape): `eventId`, `cameraId`, `eventType`,
  `confidence` (0-1), `lat`, `lon` (optional), `ts` (epoch milliseconds, UTC), `districtOktmo`.
- heartbeat / status ping (`"type": "heartbeat"` or `"status"`): `cameraId`, `ts`, `state`. Cameras send
  them every few minutes; they carry no appeal, so the normalizer returns `[]`.
- dispatch (`"type": "dispatch"`): `eventId` (the detection), `ts`, `service` (a code of `SERVICES`): the
  situation centre's operator sent a service to the scene. → `assigned`, the service being the executor.
- closure (`"type": "closure"`): `eventId`, `ts`, `outcome` (`OUTCOMES`: "fixed" → `resolved`,
  "false_alarm" → `rejected`), optional `comment`. Keyed, like the dispatch, by the detection's id.
  A detection has no applicant: neither step is an answer to one (`is_response` stays false); how fast
  someone acted on it (assigned or resolved) is its measure.

One pothole seen by several cameras within minutes arrives as several detections with distinct event ids
and near-identical place and time (a burst). Each is its own canonical appeal here; merging them across
cameras and channels is the later Spark dedup job's work, which needs the raw ones to decide.

A machine-made appeal has no text, so one is composed in Russian from the detection for the executor.
"""

from __future__ import annotations

from typing import Any

from cur import sla, taxonomy
from cur.schema import Appeal, Canonical, StatusEvent, appeal_id_for
from streams.feeds.common import deadlines, municipality_by_oktmo, record_type, redact, status_event
from streams.parsing import UnknownReference, code, epoch_ms, identifier, ms_since_epoch, number, show, text
from streams.records import Context, snapshot_events

FEED = "safe_city"
# Detections the video analytics is less sure of than this are dropped as filtered (`[]`), not stored:
# below it the vendor's own evaluation shows more false alarms (shadows, puddles, parked cars) than real
# problems, and every stored detection becomes work for an executor. Raising it trades missed problems for
# fewer false alarms; change it here only, the generator's ground truth reads this constant.
MIN_CONFIDENCE = 0.5
NOISE_TYPES = ("heartbeat", "status")
HANDLING_TYPES = ("dispatch", "closure")
# The services the operator dispatches, by the code the situation centre's system sends: the one list.
SERVICES = {
    "ROADS": "дорожная служба",
    "WASTE": "региональный оператор по обращению с ТКО",
    "LIGHTING": "служба наружного освещения",
    "POLICE": "полиция",
    "VIDEO": "служба эксплуатации видеонаблюдения",
}
# closure outcome → (status, detail)
OUTCOMES = {"fixed": ("resolved", "устранено"), "false_alarm": ("rejected", "ложное срабатывание")}


def normalize(raw: dict[str, Any], ctx: Context) -> list[Canonical]:
    kind = record_type(raw, FEED, ("detection", *NOISE_TYPES, *HANDLING_TYPES), default="detection")
    if kind in NOISE_TYPES:
        return []
    if kind == "dispatch":
        return [_dispatch(raw, ctx)]
    if kind == "closure":
        return [_closure(raw, ctx)]
    source_id = identifier(raw, "eventId")
    subcategory = taxonomy.subcategory_for(FEED, code(raw, "eventType"))
    municipality = municipality_by_oktmo(raw, "districtOktmo")
    confidence = number(raw, "confidence", lo=0, hi=1)
    assert confidence is not None  # required=True never gives None
    created_at = epoch_ms(raw, "ts")
    camera = identifier(raw, "cameraId")
    lat = number(raw, "lat", lo=-90, hi=90, required=False, name="latitude")
    lon = number(raw, "lon", lo=-180, hi=180, required=False, name="longitude")
    # Validate first, filter after: an unknown event type is a mapping gap even on an unsure detection.
    if confidence < MIN_CONFIDENCE:
        return []
    priority = sla.priority_for(subcategory.sla_class)
    due = deadlines(created_at, priority, subcategory, official=False, ctx=ctx)
    appeal = Appeal(
        appeal_id=appeal_id_for(FEED, source_id),
        source=FEED,
        source_id=source_id,
        created_at=created_at,
        sector=subcategory.sector_code,
        subcategory=subcategory.code,
        municipality_code=municipality,
        address="",
        lat=lat,
        lon=lon,
        text=redact(f"Видеоаналитика: {subcategory.name_ru} (камера {camera}, уверенность {confidence:.0%})"),
        priority=priority,
        status="received",
        sla_deadline_at=due.first_answer_at,
        first_response_at=None,
        ingested_at=ctx.ingested_at,
        kafka_topic=ctx.meta.topic,
        kafka_partition=ctx.meta.partition,
        kafka_offset=ctx.meta.offset,
        version=ms_since_epoch(created_at),
        resolve_by=due.resolve_by,
    )
    return [appeal, *snapshot_events(appeal)]


def _known(raw: dict[str, Any], field: str, known: dict[str, Any], what: str) -> str:
    value = code(raw, field) or ""
    if value not in known:
        raise UnknownReference(f"unknown Safe City {what} {show(value)} (known: {', '.join(known)})")
    return value


def _dispatch(raw: dict[str, Any], ctx: Context) -> StatusEvent:
    source_id = identifier(raw, "eventId")
    name = SERVICES[_known(raw, "service", SERVICES, "service")]
    at = epoch_ms(raw, "ts")
    return status_event(FEED, source_id, "assigned", at, ctx, detail=f"направлена {name}", executor=name)


def _closure(raw: dict[str, Any], ctx: Context) -> StatusEvent:
    source_id = identifier(raw, "eventId")
    status, detail = OUTCOMES[_known(raw, "outcome", OUTCOMES, "outcome")]
    at = epoch_ms(raw, "ts")
    comment = text(raw, "comment", required=False)
    return status_event(FEED, source_id, status, at, ctx, detail=f"{detail}: {comment}" if comment else detail)
