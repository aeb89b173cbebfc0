"""What every normalizer shares: where a record came from, and how a bad one is rejected."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cur.schema import Appeal


@dataclass(frozen=True)
class KafkaMeta:
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Context:
    """Everything a normalizer needs besides the raw record."""

    meta: KafkaMeta
    ingested_at: datetime
    region_tz: ZoneInfo


@dataclass(frozen=True)
class Rejected:
    """A record that cannot become an appeal, kept with its raw bytes and a reason for operators."""

    feed: str
    meta: KafkaMeta
    raw_payload: bytes
    reason: str

    def as_row(self, rejected_at: datetime) -> tuple:
        return (
            self.feed,
            self.meta.topic,
            self.meta.partition,
            self.meta.offset,
            self.raw_payload.decode("utf-8", errors="replace"),
            self.reason,
            rejected_at,
        )


Normalizer = Callable[[dict[str, Any], Context], Appeal]


def decode_json(payload: bytes) -> dict[str, Any]:
    """Feeds send UTF-8 JSON; a few legacy exports arrive in Windows-1251, which we accept too."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        text = payload.decode("cp1251")
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return value


def normalize_record(feed: str, normalizer: Normalizer, payload: bytes | None, ctx: Context) -> Appeal | Rejected:
    """Never raises: anything a normalizer cannot handle becomes a `Rejected` with the reason."""
    meta = ctx.meta
    if not payload:
        return Rejected(feed, meta, b"", "empty message")
    try:
        return normalizer(decode_json(payload), ctx)
    except json.JSONDecodeError as exc:
        reason = f"malformed JSON: {exc}"
    except KeyError as exc:
        reason = f"missing required field {exc}"
    except Exception as exc:  # every other failure is data the operator must see, not a crash
        reason = f"{type(exc).__name__}: {exc}"
    return Rejected(feed, meta, payload, reason)
