"""The exporters' daily control totals: how many records a feed sent for a day, by kind.

Real exporters close each day's export with a control record, so the receiver can prove that nothing
was lost on the way. Here every record of a day's export carries the Kafka header `export-day`
(`YYYY-MM-DD`: the region-local day whose appeals it describes, its later status changes included),
and the export's control record, sent on the feed's own topic after the day's last record, counts
them: `total` records, and per record kind. It is cumulative: a day whose status changes keep coming
gets a new control record with larger counts, which replaces the earlier one (cur.feed_control_totals).

Each feed writes it in its own raw style (field names, time format), below in `SHAPES`; the worker
stores it instead of treating it as an appeal (`parse`). A control record that does not add up (its
kinds do not sum to the total), or whose day or time cannot be read, is rejected like any bad record.
Replays of a record are counted as sent: the exporter's producer sent them, the receiver stores both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from streams.parsing import BadValue, epoch_ms, integer, local_date, ms_since_epoch, obj, timestamp

HEADER = "export-day"
NO_DAY = date(1970, 1, 1)  # cur.record_outcomes.export_day of a record without the header
# Record kinds an exporter counts (streams/generator Draft.kind): an appeal, a re-sent snapshot of one,
# a status change, a record without an appeal (a camera heartbeat).
KINDS: tuple[str, ...] = ("appeal", "update", "status", "noise")
MAX_COUNT = 2**32 - 1  # cur.feed_control_totals.records is a UInt32


@dataclass(frozen=True)
class Shape:
    """How one feed writes its control record."""

    type_field: str
    type_value: str
    day_field: str
    day_format: str
    sent_field: str
    sent_format: str  # a strftime format (region-local), or "epoch_ms"
    counts_field: str
    total_field: str


SHAPES: Mapping[str, Shape] = MappingProxyType(
    {
        "pos": Shape(
            "type", "controlTotal", "exportDate", "%Y-%m-%d", "sentAt", "%Y-%m-%dT%H:%M:%S%z", "counts", "total"
        ),
        "112": Shape("record", "control_total", "date", "%d.%m.%Y", "sent", "%d.%m.%Y %H:%M:%S", "counts", "total"),
        "safe_city": Shape("type", "control", "date", "%Y-%m-%d", "ts", "epoch_ms", "counts", "total"),
        "housing": Shape(
            "type", "control_total", "export_date", "%Y-%m-%d", "sent_at", "%Y-%m-%d %H:%M:%S", "counts", "total"
        ),
    }
)


@dataclass(frozen=True)
class ControlTotal:
    feed: str
    export_day: date
    records: int
    by_kind: dict[str, int]
    sent_at: datetime

    def as_row(self, topic: str, partition: int, offset: int, ingested_at: datetime) -> tuple:
        """A row of cur.feed_control_totals (columns: CONTROL_COLUMNS)."""
        return (
            self.feed,
            self.export_day,
            self.records,
            self.by_kind,
            self.sent_at,
            topic,
            partition,
            offset,
            ingested_at,
        )


CONTROL_COLUMNS = (
    "feed",
    "export_day",
    "records",
    "by_kind",
    "sent_at",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
    "ingested_at",
)


def is_control(feed: str, raw: dict[str, Any]) -> bool:
    shape = SHAPES[feed]
    return raw.get(shape.type_field) == shape.type_value


def parse(feed: str, raw: dict[str, Any], region_tz: ZoneInfo) -> ControlTotal:
    """The control total of a control record (`is_control`); raises a FeedDataError when it is not sound."""
    shape = SHAPES[feed]
    day = local_date(raw, shape.day_field, formats=(shape.day_format,))
    if shape.sent_format == "epoch_ms":
        sent_at = epoch_ms(raw, shape.sent_field)
    else:
        sent_at = timestamp(raw, shape.sent_field, region_tz, formats=(shape.sent_format,))
    counts = obj(raw, shape.counts_field)
    by_kind: dict[str, int] = {}
    for kind, value in counts.items():
        if kind not in KINDS:
            raise BadValue(f"control total: unknown record kind {kind!r} (known: {', '.join(KINDS)})")
        number = integer({kind: value}, kind, lo=0, hi=MAX_COUNT)
        assert number is not None
        by_kind[kind] = number
    total = integer(raw, shape.total_field, lo=0, hi=MAX_COUNT)
    assert total is not None
    if sum(by_kind.values()) != total:
        raise BadValue(f"control total: the kinds sum to {sum(by_kind.values())}, the total says {total}")
    return ControlTotal(feed, day, total, by_kind, sent_at)


def render(feed: str, day: date, by_kind: Mapping[str, int], sent_at: datetime, region_tz: ZoneInfo) -> dict[str, Any]:
    """The control record a feed's exporter sends for `day` (the generator's side of `parse`)."""
    shape = SHAPES[feed]
    if shape.sent_format == "epoch_ms":
        sent: int | str = ms_since_epoch(sent_at)
    else:
        sent = sent_at.astimezone(region_tz).strftime(shape.sent_format)
    unknown = set(by_kind) - set(KINDS)
    if unknown:
        raise ValueError(f"record kinds without a count in a control total: {sorted(unknown)}")
    counts = {kind: by_kind.get(kind, 0) for kind in KINDS}
    return {
        shape.type_field: shape.type_value,
        shape.day_field: day.strftime(shape.day_format),
        shape.sent_field: sent,
        shape.counts_field: counts,
        shape.total_field: sum(counts.values()),
    }


def export_day_of(headers: Sequence[tuple[str, bytes]] | None) -> date:
    """The record's export day from its headers; NO_DAY when it has none or an unreadable one."""
    for name, value in headers or ():
        if name == HEADER:
            try:
                return date.fromisoformat(value.decode("ascii"))
            except (UnicodeDecodeError, ValueError):
                return NO_DAY
    return NO_DAY


def header(day: date) -> list[tuple[str, bytes]]:
    return [(HEADER, day.isoformat().encode("ascii"))]
