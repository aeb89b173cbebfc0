"""112 incident card → canonical appeal and the status events the card implies.

Raw shape: `card_id`, `call_time`, `dispatch_time` and `close_time` as local "DD.MM.YYYY HH:MM:SS" without zone,
`caller_phone`, `incident_type` (dispatch code), `address_text` (free text), `municipality` (name),
`services` (list of dispatched service codes), `severity` (1-3), `closed` (bool).

The dispatch system re-sends the whole card on every update (services dispatched, card closed), so each
record is a snapshot: received at the call, in progress (the first response) at the dispatch, resolved at
`close_time` (or, on older cards without it, at the latest moment the card describes). The services
dispatched are the executor of every step after the call (`executor_of`). The latest update
wins in ClickHouse by its version; updates arriving out of order are therefore harmless.

Every 112 card is an emergency: the first answer is due within the hour. The caller's phone is personal
data: it becomes `applicant_pseudonym` and is cut out of the dispatcher's free-text address.
"""

from __future__ import annotations

from typing import Any

from cur import sla, taxonomy
from cur.schema import Appeal, Canonical, appeal_id_for
from streams.feeds.common import applicant_pseudonym, deadlines, municipality_by_name, redact
from streams.parsing import (
    BadValue,
    code,
    flag,
    identifier,
    integer,
    optional_timestamp,
    text,
    timestamp,
    version_ms,
)
from streams.records import Context, snapshot_events

FEED = "112"
LOCAL_FORMATS = ("%d.%m.%Y %H:%M:%S",)
# The dispatch codes of the services 112 sends, and their names: the one list of them (the generator
# dispatches from it too).
SERVICES_RU = {"01": "пожарная охрана", "02": "полиция", "03": "скорая помощь", "04": "газовая служба", "05": "ЖКХ"}


def _service_codes(raw: dict[str, Any]) -> list[str]:
    value = raw.get("services")
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
        raise BadValue("field 'services' must be a list of service codes")
    return [str(v).strip() for v in value if str(v).strip()]


def executor_of(codes: list[str]) -> str:
    """The services dispatched as one executor: their names in the order of `SERVICES_RU`, each once, codes
    it does not know after them (sorted), so the same services always make the same executor whatever
    order the dispatcher entered them in."""
    known = [name for code, name in SERVICES_RU.items() if code in codes]
    return ", ".join(known + sorted({code for code in codes if code not in SERVICES_RU}))


def normalize(raw: dict[str, Any], ctx: Context) -> list[Canonical]:
    source_id = identifier(raw, "card_id")
    subcategory = taxonomy.subcategory_for(FEED, code(raw, "incident_type"))
    municipality = municipality_by_name(text(raw, "municipality"))
    created_at = timestamp(raw, "call_time", ctx.region_tz, formats=LOCAL_FORMATS)
    dispatched_at = optional_timestamp(raw, "dispatch_time", ctx.region_tz, formats=LOCAL_FORMATS)
    closed_at = optional_timestamp(raw, "close_time", ctx.region_tz, formats=LOCAL_FORMATS)
    closed = flag(raw, "closed") or closed_at is not None
    codes = _service_codes(raw)
    services = [SERVICES_RU.get(code, code) for code in codes]
    severity = integer(raw, "severity", lo=1, hi=3, required=False)
    pseudonym = applicant_pseudonym(ctx.pseudonymizer, phone=raw.get("caller_phone"))
    if closed:
        status = "resolved"
    elif dispatched_at is not None:
        status = "in_progress"
    else:
        status = "received"
    priority = sla.Priority.EMERGENCY
    due = deadlines(created_at, priority, subcategory, official=False, ctx=ctx)
    summary = f"Карточка 112: {subcategory.name_ru}"
    if severity is not None:
        summary += f", тяжесть {severity}"
    if services:
        summary += f"; направлены: {', '.join(services)}"
    appeal = Appeal(
        appeal_id=appeal_id_for(FEED, source_id),
        source=FEED,
        source_id=source_id,
        created_at=created_at,
        sector=subcategory.sector_code,
        subcategory=subcategory.code,
        municipality_code=municipality,
        address=redact(text(raw, "address_text", required=False)),
        lat=None,
        lon=None,
        text=redact(summary),
        priority=priority,
        status=status,
        sla_deadline_at=due.first_answer_at,
        first_response_at=dispatched_at,
        ingested_at=ctx.ingested_at,
        kafka_topic=ctx.meta.topic,
        kafka_partition=ctx.meta.partition,
        kafka_offset=ctx.meta.offset,
        version=version_ms(created_at, dispatched_at, closed_at if closed else None),
        resolve_by=due.resolve_by,
        applicant_pseudonym=pseudonym,
    )
    return [appeal, *snapshot_events(appeal, response_status="in_progress", executor=redact(executor_of(codes)))]
