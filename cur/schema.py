"""The canonical records every feed is normalized to and every later layer reads.

- `Appeal`: what was asked, where, by whom (pseudonymized) and by when it is due; one row per
  (source, source_id) in `{db}.appeals`, the latest `version` winning.
- `StatusEvent`: one step of an appeal's lifecycle (moderation, assignment, answer, rating, return
  for rework, confirmation) in `{db}.appeal_status_events`. The current state of an appeal is
  derived from its events by the view `{db}.appeal_state`, never stored by hand, so late and
  out-of-order events land where they belong.

Inserts name their columns (`COLUMNS`, `STATUS_EVENT_COLUMNS`); see `cur/migrations/` for the DDL.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from operator import attrgetter

from cur.sla import Priority

SOURCES: tuple[str, ...] = ("pos", "112", "safe_city", "housing")
STATUSES: tuple[str, ...] = (
    "received",
    "moderation",
    "assigned",
    "in_progress",
    "answered",
    "returned",
    "resolved",
    "rejected",
)
# Lifecycle order: it breaks ties between events of one appeal at the same instant.
STATUS_RANK: dict[str, int] = {status: rank for rank, status in enumerate(STATUSES)}

# Fixed namespace: the same (source, source_id) gets the same appeal_id on every machine.
APPEAL_NAMESPACE = uuid.UUID("6f1d3a52-6c1e-4a8e-9a0b-2f4c1d7e9b10")


_NAMESPACE_BYTES = APPEAL_NAMESPACE.bytes
_UUID5_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))  # version and variant bits
_UUID5_SET = (5 << 76) | (0x8000 << 48)  # version 5, RFC 4122 variant


@functools.lru_cache(maxsize=1 << 16)
def appeal_id_for(source: str, source_id: str) -> uuid.UUID:
    """`uuid.uuid5(APPEAL_NAMESPACE, "source:source_id")`, computed as uuid5 does but at half its cost
    (~3 µs for every new appeal on the stream path), and cached: status changes follow their appeal."""
    digest = hashlib.sha1(_NAMESPACE_BYTES + f"{source}:{source_id}".encode()).digest()
    return uuid.UUID(int=(int.from_bytes(digest[:16]) & _UUID5_CLEAR) | _UUID5_SET)


class InvalidAppeal(ValueError):
    """The record cannot become a canonical appeal; the message is the reason shown to operators."""


def _check_identity(source: str, source_id: str, status: str) -> None:
    """What every canonical record must name: a known source, an id, a known lifecycle status."""
    if source not in SOURCES:
        raise InvalidAppeal(f"unknown source {source!r}")
    if not source_id:
        raise InvalidAppeal("empty source id")
    if status not in STATUSES:
        raise InvalidAppeal(f"unknown status {status!r}")


@dataclass(frozen=True)
class Appeal:
    appeal_id: uuid.UUID
    source: str
    source_id: str
    created_at: datetime
    sector: str
    subcategory: str
    municipality_code: str
    address: str
    lat: float | None
    lon: float | None
    text: str
    priority: Priority
    status: str
    sla_deadline_at: datetime  # first answer due
    first_response_at: datetime | None
    ingested_at: datetime
    kafka_topic: str
    kafka_partition: int
    kafka_offset: int
    version: int
    resolve_by: datetime | None = None  # fix deadline of a fast track, or the 59-FZ answer deadline
    applicant_pseudonym: str = ""  # keyed hash of the applicant (cur.pseudonymize); "" when anonymous

    def __post_init__(self) -> None:
        _check_identity(self.source, self.source_id, self.status)
        for name in ("created_at", "sla_deadline_at", "ingested_at", "first_response_at", "resolve_by"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InvalidAppeal(f"{name} has no time zone")
        if self.lat is not None and not -90 <= self.lat <= 90:
            raise InvalidAppeal(f"latitude {self.lat} out of range")
        if self.lon is not None and not -180 <= self.lon <= 180:
            raise InvalidAppeal(f"longitude {self.lon} out of range")

    def as_row(self) -> tuple:
        """Values in column order, times as epoch milliseconds, enums as strings: a ClickHouse insert row."""
        values = list(_appeal_values(self))
        for i in _APPEAL_TIMES:
            values[i] = epoch_ms(values[i])
        values[_APPEAL_PRIORITY] = values[_APPEAL_PRIORITY].value
        return tuple(values)


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Appeal))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def epoch_ms(moment: datetime | None) -> int | None:
    """A DateTime64(3) column's own value. The driver would convert each datetime through pytz
    time zones itself (measured: a third of an insert's time), and passes integers through."""
    return None if moment is None else (moment - _EPOCH) // _MS


# Field values in column order. Not dataclasses.astuple: it deep-copies every value, and was
# measured at 57 µs a record on the stream path, three times the cost of the insert itself.
_appeal_values = attrgetter(*COLUMNS)
_APPEAL_TIMES = tuple(i for i, f in enumerate(fields(Appeal)) if "datetime" in str(f.type))
_APPEAL_PRIORITY = COLUMNS.index("priority")


@dataclass(frozen=True)
class StatusEvent:
    """One lifecycle step of an appeal, as the source system reported it."""

    appeal_id: uuid.UUID
    source: str
    source_id: str
    status: str
    event_at: datetime
    is_response: bool  # counts as the first answer to the applicant (POS answer, 112 dispatch, ...)
    rating: int | None  # the applicant's rating of the answer, 1..5
    detail: str  # executor, comment or reason, as the source gave it (no personal data)
    ingested_at: datetime
    kafka_topic: str
    kafka_partition: int
    kafka_offset: int
    # The organisation or service this step names as responsible (POS executor, the management company
    # of a housing order, the services 112 dispatched), "" when it names none: KPIs per executor group
    # by it, so it is a field of its own, not only a phrase inside `detail`.
    executor: str = ""

    def __post_init__(self) -> None:
        _check_identity(self.source, self.source_id, self.status)
        for name in ("event_at", "ingested_at"):
            if getattr(self, name).tzinfo is None:
                raise InvalidAppeal(f"{name} has no time zone")
        if self.rating is not None and not 1 <= self.rating <= 5:
            raise InvalidAppeal(f"rating {self.rating} is outside 1..5")

    def as_row(self) -> tuple:
        """Values in column order, times as epoch milliseconds (see `epoch_ms`)."""
        values = list(_status_event_values(self))
        for i in _STATUS_EVENT_TIMES:
            values[i] = epoch_ms(values[i])
        return tuple(values)


STATUS_EVENT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(StatusEvent))
_status_event_values = attrgetter(*STATUS_EVENT_COLUMNS)
_STATUS_EVENT_TIMES = tuple(i for i, f in enumerate(fields(StatusEvent)) if "datetime" in str(f.type))

Canonical = Appeal | StatusEvent


def event_of(
    appeal: Appeal, status: str, at: datetime, *, is_response: bool = False, detail: str = "", executor: str = ""
) -> StatusEvent:
    """A status event of `appeal`, carried by the same Kafka record (for feeds that send snapshots)."""
    return StatusEvent(
        appeal_id=appeal.appeal_id,
        source=appeal.source,
        source_id=appeal.source_id,
        status=status,
        event_at=at,
        is_response=is_response,
        rating=None,
        detail=detail,
        ingested_at=appeal.ingested_at,
        kafka_topic=appeal.kafka_topic,
        kafka_partition=appeal.kafka_partition,
        kafka_offset=appeal.kafka_offset,
        executor=executor,
    )
