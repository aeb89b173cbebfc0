"""Safe City detection → canonical appeal.

Raw shape: `eventId`, `cameraId`, `eventType`, `confidence` (0–1), `lat`, `lon`, `ts` (epoch
milliseconds, UTC), `districtOktmo`. A machine-made appeal has no text, so one is composed in
Russian from the detection for the executor who receives it.
"""

from __future__ import annotations

from typing import Any

from cur import sla, taxonomy
from cur.schema import Appeal, Canonical, InvalidAppeal, appeal_id_for
from streams.parsing import from_epoch_ms, optional_float, required_text
from streams.records import Context, snapshot_events

FEED = "safe_city"


def normalize(raw: dict[str, Any], ctx: Context) -> list[Canonical]:
    source_id = required_text(raw, "eventId")
    subcategory = taxonomy.subcategory_for(FEED, raw["eventType"])
    municipality = str(raw["districtOktmo"]).strip()
    if municipality not in taxonomy.municipalities():
        raise InvalidAppeal(f"OKTMO {municipality!r} is not a municipality of the region")
    confidence = float(raw["confidence"])
    if not 0.0 <= confidence <= 1.0:
        raise InvalidAppeal(f"confidence {confidence} is outside 0..1")
    created_at = from_epoch_ms(raw["ts"])
    camera = required_text(raw, "cameraId")
    priority = sla.priority_for(subcategory.sla_class)
    appeal = Appeal(
        appeal_id=appeal_id_for(FEED, source_id),
        source=FEED,
        source_id=source_id,
        created_at=created_at,
        sector=subcategory.sector_code,
        subcategory=subcategory.code,
        municipality_code=municipality,
        address="",
        lat=optional_float(raw.get("lat")),
        lon=optional_float(raw.get("lon")),
        text=f"Видеоаналитика: {subcategory.name_ru} (камера {camera}, уверенность {confidence:.0%})",
        priority=priority,
        status="received",
        sla_deadline_at=sla.first_answer_deadline(created_at, priority),
        first_response_at=None,
        ingested_at=ctx.ingested_at,
        kafka_topic=ctx.meta.topic,
        kafka_partition=ctx.meta.partition,
        kafka_offset=ctx.meta.offset,
        version=int(raw["ts"]),
    )
    return [appeal, *snapshot_events(appeal)]
