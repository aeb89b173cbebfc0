"""112 incident card → canonical appeal.

Raw shape: `card_id`, `call_time` and `dispatch_time` as local "DD.MM.YYYY HH:MM:SS" without zone,
`caller_phone`, `incident_type` (dispatch code), `address_text` (free text), `municipality`
(name), `services` (list of dispatched service codes), `severity` (1–3), `closed` (bool).
Every 112 card is an emergency: the first answer is due within the hour. The caller's phone is
personal data and is not carried into the canonical appeal.
"""

from __future__ import annotations

from typing import Any

from cur import sla, taxonomy
from cur.schema import Appeal, Canonical, InvalidAppeal, appeal_id_for
from streams.parsing import aware, optional_time, required_text, version_ms
from streams.records import Context, snapshot_events

FEED = "112"
LOCAL_FORMATS = ("%d.%m.%Y %H:%M:%S",)
SERVICES_RU = {"01": "пожарная охрана", "02": "полиция", "03": "скорая помощь", "04": "газовая служба", "05": "ЖКХ"}


def normalize(raw: dict[str, Any], ctx: Context) -> list[Canonical]:
    source_id = required_text(raw, "card_id")
    subcategory = taxonomy.subcategory_for(FEED, raw["incident_type"])
    municipality_name = required_text(raw, "municipality")
    municipality = taxonomy.municipality_by_name().get(municipality_name.casefold())
    if municipality is None:
        raise InvalidAppeal(f"municipality {municipality_name!r} is not in the region")
    created_at = aware(required_text(raw, "call_time"), ctx.region_tz, formats=LOCAL_FORMATS)
    dispatched_at = optional_time(raw.get("dispatch_time"), ctx.region_tz, formats=LOCAL_FORMATS)
    services = [SERVICES_RU.get(str(code), str(code)) for code in raw.get("services") or []]
    if raw.get("closed"):
        status = "resolved"
    elif dispatched_at is not None:
        status = "in_progress"
    else:
        status = "received"
    priority = sla.Priority.EMERGENCY
    text = f"Карточка 112: {subcategory.name_ru}, тяжесть {int(raw.get('severity') or 1)}"
    if services:
        text += f"; направлены: {', '.join(services)}"
    appeal = Appeal(
        appeal_id=appeal_id_for(FEED, source_id),
        source=FEED,
        source_id=source_id,
        created_at=created_at,
        sector=subcategory.sector_code,
        subcategory=subcategory.code,
        municipality_code=municipality,
        address=str(raw.get("address_text") or "").strip(),
        lat=None,
        lon=None,
        text=text,
        priority=priority,
        status=status,
        sla_deadline_at=sla.first_answer_deadline(created_at, priority),
        first_response_at=dispatched_at,
        ingested_at=ctx.ingested_at,
        kafka_topic=ctx.meta.topic,
        kafka_partition=ctx.meta.partition,
        kafka_offset=ctx.meta.offset,
        version=version_ms(created_at, dispatched_at),
    )
    return [appeal, *snapshot_events(appeal, response_status="in_progress")]
