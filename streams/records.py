"""What every normalizer shares: where a record came from, and how a bad one is rejected."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import orjson

from cur.pseudonymize import Pseudonymizer
from cur.schema import Appeal, Canonical, StatusEvent, event_of
from cur.taxonomy import UnmappedCode
from streams import control_totals
from streams.control_totals import ControlTotal


# Named tuples, not frozen dataclasses: one of each is made for every record, at a fifth of the cost.
class KafkaMeta(NamedTuple):
    topic: str
    partition: int
    offset: int


class Context(NamedTuple):
    """Everything a normalizer needs besides the raw record."""

    meta: KafkaMeta
    ingested_at: datetime
    region_tz: ZoneInfo
    pseudonymizer: Pseudonymizer  # personal data never leaves a normalizer in clear


@dataclass(frozen=True)
class Rejected:
    """A record that cannot become an appeal, kept with its raw bytes and a reason for operators."""

    feed: str
    meta: KafkaMeta
    raw_payload: bytes
    reason: str
    unmapped_code: bool = False  # the feed sent a code the taxonomy mapping does not know
    raw_key: bytes = b""  # the Kafka key, so a replay lands in the same partition

    def as_row(self, rejected_at: datetime) -> tuple:
        # The payload is stored byte for byte (a Windows-1251 record stays replayable as sent).
        return (
            self.feed,
            self.meta.topic,
            self.meta.partition,
            self.meta.offset,
            self.raw_key,
            self.raw_payload,
            self.reason,
            rejected_at,
        )


# A normalizer turns one raw record into the canonical records it carries: an appeal with its
# status events, or status events alone (a status change of an appeal sent earlier), or nothing
# for a valid record that is not about an appeal (a camera heartbeat), which is counted as filtered.
Normalizer = Callable[[dict[str, Any], Context], list[Canonical]]


def snapshot_events(appeal: Appeal, *, response_status: str = "answered", executor: str = "") -> list[StatusEvent]:
    """Status events implied by a feed that sends the whole appeal as it is now (a snapshot).

    Received at creation; the first response at its time; the current status, when it is a later
    step, at the latest moment the snapshot describes (its version). The `executor` the snapshot names
    (112: the services dispatched) goes with every step after the receipt.
    """
    events = [event_of(appeal, "received", appeal.created_at)]
    if appeal.first_response_at is not None:
        events.append(event_of(appeal, response_status, appeal.first_response_at, is_response=True, executor=executor))
    if appeal.status not in {"received", response_status}:
        as_of = datetime.fromtimestamp(appeal.version / 1000, tz=appeal.created_at.tzinfo)
        events.append(event_of(appeal, appeal.status, as_of, executor=executor))
    return events


# orjson reads a quarter of json's time, and differs from it in three ways, sent to json instead: it
# refuses NaN and lone surrogates (which the field checks reject with a clearer reason), and reads
# integers past 64 bits as floats (a long id must stay exact, or be refused as before): a float that
# large is read again by json, which tells the two apart.
_BIG = float(2**63)


def _holds_huge_float(value: dict[str, Any] | list[Any]) -> bool:
    for item in value.values() if type(value) is dict else value:
        kind = type(item)
        if kind is float:
            if not -_BIG < item < _BIG:  # also NaN and infinities
                return True
        elif (kind is dict or kind is list) and _holds_huge_float(item):
            return True
    return False


def _json_loads(text: str) -> Any:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # malformed for json too (with json's reason), or one of the cases above
    return json.loads(text) if _holds_huge_float([value]) else value


def decode_json(payload: bytes) -> dict[str, Any]:
    """Feeds send UTF-8 JSON; a few legacy exports arrive in Windows-1251, which we accept too."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        text = payload.decode("cp1251")
    value = _json_loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return value


def normalize_record(
    feed: str, normalizer: Normalizer, payload: bytes | None, ctx: Context, key: bytes | None = None
) -> list[Canonical] | ControlTotal | Rejected:
    """Never raises: anything a normalizer cannot handle becomes a `Rejected` with the reason. A feed's
    daily control record (streams/control_totals.py) is read here, before the feed's normalizer."""
    meta = ctx.meta
    key = key or b""
    if not payload:
        return Rejected(feed, meta, b"", "empty message", raw_key=key)
    try:
        raw = decode_json(payload)
        if control_totals.is_control(feed, raw):
            return control_totals.parse(feed, raw, ctx.region_tz)
        return normalizer(raw, ctx)
    except UnmappedCode as exc:
        return Rejected(feed, meta, payload, str(exc), unmapped_code=True, raw_key=key)
    except json.JSONDecodeError as exc:
        reason = f"malformed JSON: {exc}"
    except KeyError as exc:
        reason = f"missing required field {exc}"
    except Exception as exc:  # every other failure is data the operator must see, not a crash
        reason = f"{type(exc).__name__}: {exc}"
    return Rejected(feed, meta, payload, reason, raw_key=key)
