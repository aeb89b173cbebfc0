"""Housing inspectorate complaint → canonical appeal.

Raw shape: `complaint_no`, `registered_at` (local "YYYY-MM-DD HH:MM:SS" without zone),
`violation_code`, `management_company` {name, inn}, `building_address`, `oktmo`, `description`,
`response_at` (optional, same format), `result` (optional: "upheld", "rejected", ...).
"""

from __future__ import annotations

from typing import Any

from cur import sla, taxonomy
from cur.schema import Appeal, Canonical, InvalidAppeal, appeal_id_for
from streams.parsing import aware, optional_time, required_text, version_ms
from streams.records import Context, snapshot_events

FEED = "housing"
LOCAL_FORMATS = ("%Y-%m-%d %H:%M:%S",)


def normalize(raw: dict[str, Any], ctx: Context) -> list[Canonical]:
    source_id = required_text(raw, "complaint_no")
    subcategory = taxonomy.subcategory_for(FEED, raw["violation_code"])
    municipality = str(raw["oktmo"]).strip()
    if municipality not in taxonomy.municipalities():
        raise InvalidAppeal(f"OKTMO {municipality!r} is not a municipality of the region")
    created_at = aware(required_text(raw, "registered_at"), ctx.region_tz, formats=LOCAL_FORMATS)
    response_at = optional_time(raw.get("response_at"), ctx.region_tz, formats=LOCAL_FORMATS)
    company = (raw.get("management_company") or {}).get("name") or "управляющая компания не указана"
    priority = sla.priority_for(subcategory.sla_class)
    if raw.get("result"):
        status = "resolved"
    elif response_at is not None:
        status = "answered"
    else:
        status = "received"
    appeal = Appeal(
        appeal_id=appeal_id_for(FEED, source_id),
        source=FEED,
        source_id=source_id,
        created_at=created_at,
        sector=subcategory.sector_code,
        subcategory=subcategory.code,
        municipality_code=municipality,
        address=required_text(raw, "building_address"),
        lat=None,
        lon=None,
        text=f"{required_text(raw, 'description')} (УК: {company})",
        priority=priority,
        status=status,
        sla_deadline_at=sla.first_answer_deadline(created_at, priority),
        first_response_at=response_at,
        ingested_at=ctx.ingested_at,
        kafka_topic=ctx.meta.topic,
        kafka_partition=ctx.meta.partition,
        kafka_offset=ctx.meta.offset,
        version=version_ms(created_at, response_at),
    )
    return [appeal, *snapshot_events(appeal)]
