"""POS appeal snapshot → canonical appeal.

Raw shape (the portal's export): `id` (int), `categoryId` (portal category code), `regionCode`,
`oktmo`, `address`, `coordinates` {lat, lon} (optional), `text`, `createdAt` (ISO with offset),
`status` (portal status code), `firstAnswerAt` (optional), `attachmentsCount`, `applicant`,
`urgent` and `publicResonance` flags.
"""

from __future__ import annotations

from typing import Any

from cur import sla, taxonomy
from cur.schema import Appeal, Canonical, InvalidAppeal, appeal_id_for
from streams.parsing import aware, optional_float, optional_time, required_text, version_ms
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
    source_id = str(raw["id"]).strip()
    subcategory = taxonomy.subcategory_for(FEED, raw["categoryId"])
    municipality = str(raw["oktmo"]).strip()
    if municipality not in taxonomy.municipalities():
        raise InvalidAppeal(f"OKTMO {municipality!r} is not a municipality of the region")
    status_code = str(raw["status"]).strip().upper()
    if status_code not in STATUSES:
        raise InvalidAppeal(f"unknown POS status {status_code!r}")
    created_at = aware(required_text(raw, "createdAt"), ctx.region_tz)
    first_answer_at = optional_time(raw.get("firstAnswerAt"), ctx.region_tz)
    coords = raw.get("coordinates") or {}
    priority = sla.priority_for(
        subcategory.sla_class, emergency=bool(raw.get("urgent")), high=bool(raw.get("publicResonance"))
    )
    appeal = Appeal(
        appeal_id=appeal_id_for(FEED, source_id),
        source=FEED,
        source_id=source_id,
        created_at=created_at,
        sector=subcategory.sector_code,
        subcategory=subcategory.code,
        municipality_code=municipality,
        address=str(raw.get("address") or "").strip(),
        lat=optional_float(coords.get("lat")),
        lon=optional_float(coords.get("lon")),
        text=required_text(raw, "text"),
        priority=priority,
        status=STATUSES[status_code],
        sla_deadline_at=sla.first_answer_deadline(created_at, priority),
        first_response_at=first_answer_at,
        ingested_at=ctx.ingested_at,
        kafka_topic=ctx.meta.topic,
        kafka_partition=ctx.meta.partition,
        kafka_offset=ctx.meta.offset,
        version=version_ms(created_at, first_answer_at),
    )
    return [appeal, *snapshot_events(appeal)]
