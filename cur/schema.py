"""The canonical appeal: the one shape every feed is normalized to and every later layer reads.

Column order here is the insert order of `{db}.appeals` (see `cur/migrations/`).
"""

from __future__ import annotations

import uuid
from dataclasses import astuple, dataclass, fields
from datetime import UTC, datetime

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

# Fixed namespace: the same (source, source_id) gets the same appeal_id on every machine.
APPEAL_NAMESPACE = uuid.UUID("6f1d3a52-6c1e-4a8e-9a0b-2f4c1d7e9b10")


def appeal_id_for(source: str, source_id: str) -> uuid.UUID:
    return uuid.uuid5(APPEAL_NAMESPACE, f"{source}:{source_id}")


class InvalidAppeal(ValueError):
    """The record cannot become a canonical appeal; the message is the reason shown to operators."""


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
    sla_deadline_at: datetime
    first_response_at: datetime | None
    ingested_at: datetime
    kafka_topic: str
    kafka_partition: int
    kafka_offset: int
    version: int

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise InvalidAppeal(f"unknown source {self.source!r}")
        if not self.source_id:
            raise InvalidAppeal("empty source id")
        if self.status not in STATUSES:
            raise InvalidAppeal(f"unknown status {self.status!r}")
        for name in ("created_at", "sla_deadline_at", "ingested_at", "first_response_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InvalidAppeal(f"{name} has no time zone")
        if self.lat is not None and not -90 <= self.lat <= 90:
            raise InvalidAppeal(f"latitude {self.lat} out of range")
        if self.lon is not None and not -180 <= self.lon <= 180:
            raise InvalidAppeal(f"longitude {self.lon} out of range")

    def as_row(self) -> tuple:
        """Values in column order, times in UTC, enums as strings: ready for a ClickHouse insert."""
        row = []
        for value in astuple(self):
            if isinstance(value, datetime):
                value = value.astimezone(UTC)
            elif isinstance(value, Priority):
                value = value.value
            row.append(value)
        return tuple(row)


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Appeal))
