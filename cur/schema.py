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

import uuid
from dataclasses import dataclass, fields
from datetime import UTC, datetime
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


def appeal_id_for(source: str, source_id: str) -> uuid.UUID:
    return uuid.uuid5(APPEAL_NAMESPACE, f"{source}:{source_id}")


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
        """Values in column order, times in UTC, enums as strings: ready for a ClickHouse insert."""
        return tuple(_plain(value) for value in _appeal_values(self))


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Appeal))


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, Priority):
        return value.value
    return value


# Field values in column order. Not dataclasses.astuple: it deep-copies every value, and was
# measured at 57 µs a record on the stream path, three times the cost of the insert itself.
_appeal_values = attrgetter(*COLUMNS)


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

    def __post_init__(self) -> None:
        _check_identity(self.source, self.source_id, self.status)
        for name in ("event_at", "ingested_at"):
            if getattr(self, name).tzinfo is None:
                raise InvalidAppeal(f"{name} has no time zone")
        if self.rating is not None and not 1 <= self.rating <= 5:
            raise InvalidAppeal(f"rating {self.rating} is outside 1..5")

    def as_row(self) -> tuple:
        return tuple(_plain(value) for value in _status_event_values(self))


STATUS_EVENT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(StatusEvent))
_status_event_values = attrgetter(*STATUS_EVENT_COLUMNS)

Canonical = Appeal | StatusEvent


def event_of(appeal: Appeal, status: str, at: datetime, *, is_response: bool = False, detail: str = "") -> StatusEvent:
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
    )
