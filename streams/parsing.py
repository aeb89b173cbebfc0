"""Parsing helpers for the quirks the feeds share: local times without zone, optional coordinates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo


def aware(value: str, region_tz: ZoneInfo, *, formats: tuple[str, ...] = ()) -> datetime:
    """Parse an ISO-8601 or feed-specific timestamp; a time without zone is local to the region."""
    parsed: datetime | None = None
    for fmt in formats:
        try:
            parsed = datetime.strptime(value, fmt)
            break
        except ValueError:
            continue
    if parsed is None:
        parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=region_tz)
    return parsed.astimezone(UTC)


def optional_time(value: Any, region_tz: ZoneInfo, *, formats: tuple[str, ...] = ()) -> datetime | None:
    if value is None or value == "":
        return None
    return aware(str(value), region_tz, formats=formats)


def from_epoch_ms(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


def optional_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


def required_text(raw: dict[str, Any], field: str) -> str:
    value = raw[field]
    if value is None or str(value).strip() == "":
        raise ValueError(f"field {field!r} is empty")
    return str(value).strip()


def version_ms(*times: datetime | None) -> int:
    """Row version for ReplacingMergeTree: the latest moment the record describes."""
    return max(int(t.timestamp() * 1000) for t in times if t is not None)
