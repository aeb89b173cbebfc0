"""Gosuslugi POS records → canonical appeals and status events.

Two raw shapes on one topic, keyed by the appeal id:

- appeal (`"type": "appeal"`, or no `type`: the original export): `id` (int), `categoryId` (portal category
  code), `regionCode`, `oktmo`, `address`, `coordinates` {lat, lon} (optional), `text`, `createdAt` (ISO with
  offset), `status` (portal status code, optional, REGISTERED when absent), `firstAnswerAt` (optional),
  `attachmentsCount`, `applicant` {esiaId, fullName, phone, email} (all optional), `official` (a written
  appeal under 59-FZ), `urgent` and `publicResonance` flags. It is a snapshot: it carries the appeal and the
  status events its status implies (`snapshot_events`).
- status change (`"type": "status"`): `appealId`, `status`, `changedAt`, optional `executor` (organisation: the
  event's `executor`, and kept in its detail as before),
  `rating` (1-5, the applicant's rating with the confirmation or the return for rework), `comment`
  (moderator's reason or applicant's remark). It carries one status event and no appeal; it may arrive
  before its appeal (the portal's queues are not ordered across record types).
"""

from __future__ import annotations

from typing import Any

from cur import sla, taxonomy
from cur.schema import Appeal, Canonical, appeal_id_for
from streams.feeds.common import (
    applicant_pseudonym,
    deadlines,
    executor_name,
    municipality_by_oktmo,
    record_type,
    redact,
    status_event,
)
from streams.parsing import (
    UnknownReference,
    code,
    flag,
    identifier,
    integer,
    number,
    obj,
    optional_timestamp,
    show,
    text,
    timestamp,
    version_ms,
)
from streams.records import Context, snapshot_events

FEED = "pos"
STATUSES = {
    "REGISTERED": "received",
    "MODERATION": "moderation",
    "ASSIGNED": "assigned",
    "IN_WORK": "in_progress",
    "ANSWERED": "answered",
    "RETURNED": "returned",
    "RESOLVED": "resolved",
    "REJECTED": "rejected",
}


def normalize(raw: dict[str, Any], ctx: Context) -> list[Canonical]:
    if record_type(raw, FEED, ("appeal", "status"), default="appeal") == "status":
        return [_status_change(raw, ctx)]
    return _appeal(raw, ctx)


def _status(raw: dict[str, Any], *, required: bool) -> str:
    status_code = (code(raw, "status", required=required) or "REGISTERED").upper()
    if status_code not in STATUSES:
        raise UnknownReference(f"unknown POS status {show(status_code)}")
    return STATUSES[status_code]


def _appeal(raw: dict[str, Any], ctx: Context) -> list[Canonical]:
    source_id = identifier(raw, "id")
    subcategory = taxonomy.subcategory_for(FEED, code(raw, "categoryId"))
    municipality = municipality_by_oktmo(raw, "oktmo")
    status = _status(raw, required=False)
    created_at = timestamp(raw, "createdAt", ctx.region_tz)
    first_answer_at = optional_timestamp(raw, "firstAnswerAt", ctx.region_tz)
    coords = obj(raw, "coordinates")
    lat = number(coords, "lat", lo=-90, hi=90, required=False, name="latitude")
    lon = number(coords, "lon", lo=-180, hi=180, required=False, name="longitude")
    if lat == 0 and lon == 0:  # "null island": the app sends 0,0 when the phone had no GPS fix
        lat = lon = None
    applicant = obj(raw, "applicant")
    name = applicant.get("fullName")
    pseudonym = applicant_pseudonym(
        ctx.pseudonymizer, phone=applicant.get("phone"), email=applicant.get("email"), name=name
    )
    priority = sla.priority_for(subcategory.sla_class, emergency=flag(raw, "urgent"), high=flag(raw, "publicResonance"))
    due = deadlines(created_at, priority, subcategory, official=flag(raw, "official"), ctx=ctx)
    names = [name] if isinstance(name, str) else []
    appeal = Appeal(
        appeal_id=appeal_id_for(FEED, source_id),
        source=FEED,
        source_id=source_id,
        created_at=created_at,
        sector=subcategory.sector_code,
        subcategory=subcategory.code,
        municipality_code=municipality,
        address=redact(text(raw, "address", required=False)),
        lat=lat,
        lon=lon,
        text=redact(text(raw, "text"), names),
        priority=priority,
        status=status,
        sla_deadline_at=due.first_answer_at,
        first_response_at=first_answer_at,
        ingested_at=ctx.ingested_at,
        kafka_topic=ctx.meta.topic,
        kafka_partition=ctx.meta.partition,
        kafka_offset=ctx.meta.offset,
        version=version_ms(created_at, first_answer_at),
        resolve_by=due.resolve_by,
        applicant_pseudonym=pseudonym,
    )
    return [appeal, *snapshot_events(appeal)]


def _status_change(raw: dict[str, Any], ctx: Context) -> Canonical:
    source_id = identifier(raw, "appealId")
    status = _status(raw, required=True)
    changed_at = timestamp(raw, "changedAt", ctx.region_tz)
    rating = integer(raw, "rating", lo=1, hi=5, required=False)
    executor = text(raw, "executor", required=False)
    comment = text(raw, "comment", required=False)
    parts = [f"исполнитель: {executor}" if executor else "", f"комментарий: {comment}" if comment else ""]
    return status_event(
        FEED,
        source_id,
        status,
        changed_at,
        ctx,
        is_response=status == "answered",
        rating=rating,
        detail="; ".join(p for p in parts if p),
        executor=executor_name(executor),
    )
