"""Housing inspectorate (АИС ГЖИ) records → canonical appeals and status events.

The inspectorate's export sends four record types, all keyed by the complaint number, all with local
times "YYYY-MM-DD HH:MM:SS" without zone:

- complaint (`"type": "complaint"`, or no `type`: the original shape): `complaint_no`, `registered_at`,
  `violation_code`, `management_company` {name, inn}, `building_address`, `oktmo`, `description`,
  `applicant` {fio, phone, email} (optional), `official` (optional, default true: a complaint to a state
  inspectorate is an appeal under 59-FZ), legacy `response_at` and `result`. → the appeal (a snapshot).
- inspection: `complaint_no`, `inspection_no`, `inspected_at`, `inspection_type`, `violation_found`.
  → `in_progress` at the inspection: the inspectorate is working on the complaint.
- order (предписание): `complaint_no`, `order_no`, `issued_at`, `deadline` (YYYY-MM-DD), `management_company`,
  `requirement`. → `assigned` at the issue, the management company being the executor (the event's
  `executor`, "" when the order names none); the order's deadline is in the event's detail ("срок исполнения
  до ...").
- result: `complaint_no`, `result_at`, `outcome` ("fixed" → `resolved`, "not_confirmed" → `answered`,
  both the answer to the applicant; "not_fixed" → `in_progress`: the order was not met, the case goes on),
  `comment`.
- answer (ответ заявителю): `complaint_no`, `answer_no`, `answered_at`, optional `summary`. → `answered`, the
  answer to the applicant: what was found and done, within the 59-FZ term (or, for a gas complaint, within
  the hour: passed to the emergency gas service).
Status records may arrive before their complaint (the export is per table, not per complaint).
"""

from __future__ import annotations

from typing import Any

from cur import sla, taxonomy
from cur.schema import Appeal, Canonical, StatusEvent, appeal_id_for
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
    OutOfRange,
    UnknownReference,
    code,
    flag,
    identifier,
    local_date,
    obj,
    optional_timestamp,
    show,
    text,
    timestamp,
    version_ms,
)
from streams.records import Context, snapshot_events

FEED = "housing"
LOCAL_FORMATS = ("%Y-%m-%d %H:%M:%S",)
RECORD_TYPES = ("complaint", "inspection", "order", "result", "answer")
NO_COMPANY = "управляющая компания не указана"
# outcome → (status, is_response, detail)
OUTCOMES = {
    "fixed": ("resolved", True, "нарушение устранено"),
    "not_confirmed": ("answered", True, "нарушение не подтвердилось"),
    "not_fixed": ("in_progress", False, "предписание не исполнено"),
}


def normalize(raw: dict[str, Any], ctx: Context) -> list[Canonical]:
    kind = record_type(raw, FEED, RECORD_TYPES, default="complaint")
    if kind == "inspection":
        return [_inspection(raw, ctx)]
    if kind == "order":
        return [_order(raw, ctx)]
    if kind == "result":
        return [_result(raw, ctx)]
    if kind == "answer":
        return [_answer(raw, ctx)]
    return _complaint(raw, ctx)


def _company(raw: dict[str, Any]) -> str:
    """The management company's name as the record gives it, "" when it names none."""
    return text(obj(raw, "management_company"), "name", required=False)


def _complaint(raw: dict[str, Any], ctx: Context) -> list[Canonical]:
    source_id = identifier(raw, "complaint_no")
    subcategory = taxonomy.subcategory_for(FEED, code(raw, "violation_code"))
    municipality = municipality_by_oktmo(raw, "oktmo")
    created_at = timestamp(raw, "registered_at", ctx.region_tz, formats=LOCAL_FORMATS)
    response_at = optional_timestamp(raw, "response_at", ctx.region_tz, formats=LOCAL_FORMATS)
    company = _company(raw) or NO_COMPANY
    applicant = obj(raw, "applicant")
    name = applicant.get("fio")
    pseudonym = applicant_pseudonym(
        ctx.pseudonymizer, phone=applicant.get("phone"), email=applicant.get("email"), name=name
    )
    priority = sla.priority_for(subcategory.sla_class)
    due = deadlines(created_at, priority, subcategory, official=flag(raw, "official", default=True), ctx=ctx)
    if raw.get("result"):
        status = "resolved"
    elif response_at is not None:
        status = "answered"
    else:
        status = "received"
    names = [name] if isinstance(name, str) else []
    appeal = Appeal(
        appeal_id=appeal_id_for(FEED, source_id),
        source=FEED,
        source_id=source_id,
        created_at=created_at,
        sector=subcategory.sector_code,
        subcategory=subcategory.code,
        municipality_code=municipality,
        address=redact(text(raw, "building_address")),
        lat=None,
        lon=None,
        text=redact(f"{text(raw, 'description')} (УК: {company})", names),
        priority=priority,
        status=status,
        sla_deadline_at=due.first_answer_at,
        first_response_at=response_at,
        ingested_at=ctx.ingested_at,
        kafka_topic=ctx.meta.topic,
        kafka_partition=ctx.meta.partition,
        kafka_offset=ctx.meta.offset,
        version=version_ms(created_at, response_at),
        resolve_by=due.resolve_by,
        applicant_pseudonym=pseudonym,
    )
    return [appeal, *snapshot_events(appeal)]


def _inspection(raw: dict[str, Any], ctx: Context) -> StatusEvent:
    source_id = identifier(raw, "complaint_no")
    number = identifier(raw, "inspection_no")
    at = timestamp(raw, "inspected_at", ctx.region_tz, formats=LOCAL_FORMATS)
    kind = text(raw, "inspection_type", required=False)
    found = raw.get("violation_found")
    detail = f"проверка № {number}" + (f" ({kind})" if kind else "")
    if found is not None:
        detail += ": нарушение выявлено" if flag(raw, "violation_found") else ": нарушение не выявлено"
    return status_event(FEED, source_id, "in_progress", at, ctx, detail=detail)


def _order(raw: dict[str, Any], ctx: Context) -> StatusEvent:
    source_id = identifier(raw, "complaint_no")
    number = identifier(raw, "order_no")
    issued_at = timestamp(raw, "issued_at", ctx.region_tz, formats=LOCAL_FORMATS)
    deadline = local_date(raw, "deadline")
    if deadline < issued_at.astimezone(ctx.region_tz).date():
        raise OutOfRange(f"order deadline {deadline.isoformat()} is before the order was issued")
    requirement = text(raw, "requirement", required=False)
    company = _company(raw)
    detail = f"предписание № {number} для {company or NO_COMPANY}"
    if requirement:
        detail += f": {requirement}"
    detail += f"; срок исполнения до {deadline:%d.%m.%Y}"
    return status_event(FEED, source_id, "assigned", issued_at, ctx, detail=detail, executor=executor_name(company))


def _result(raw: dict[str, Any], ctx: Context) -> StatusEvent:
    source_id = identifier(raw, "complaint_no")
    at = timestamp(raw, "result_at", ctx.region_tz, formats=LOCAL_FORMATS)
    outcome = code(raw, "outcome") or ""
    if outcome not in OUTCOMES:
        raise UnknownReference(f"unknown inspection outcome {show(outcome)} (known: {', '.join(OUTCOMES)})")
    status, is_response, detail = OUTCOMES[outcome]
    comment = text(raw, "comment", required=False)
    return status_event(
        FEED, source_id, status, at, ctx, is_response=is_response, detail=f"{detail}: {comment}" if comment else detail
    )


def _answer(raw: dict[str, Any], ctx: Context) -> StatusEvent:
    source_id = identifier(raw, "complaint_no")
    number = identifier(raw, "answer_no")
    at = timestamp(raw, "answered_at", ctx.region_tz, formats=LOCAL_FORMATS)
    summary = text(raw, "summary", required=False)
    detail = f"ответ заявителю № {number}" + (f": {summary}" if summary else "")
    return status_event(FEED, source_id, "answered", at, ctx, is_response=True, detail=detail)
