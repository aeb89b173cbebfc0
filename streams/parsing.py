"""Field parsers for what the feeds really send, and the typed errors that become operators' reasons.

Every parser names the field it read, never guesses a value, and raises one of a few error classes.
`streams.records.normalize_record` turns an exception into the reason `"<ExceptionClass>: <message>"`
(an absent key into "missing required field 'x'"), so the class name leads the reason and rejected
records can be counted by kind (`reason_kind`) without parsing free text. A message may quote the bad
value (shortened), never a personal datum: personal data goes through `cur.pseudonymize` only.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# A timestamp outside these years is a broken source clock or a unit mix-up, not an appeal; beyond them
# datetime arithmetic (deadlines, time zones) would also overflow.
MIN_YEAR, MAX_YEAR = 2000, 2100
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_MS = int((datetime(MIN_YEAR, 1, 1, tzinfo=UTC) - EPOCH).total_seconds() * 1000)
_MAX_MS = int((datetime(MAX_YEAR + 1, 1, 1, tzinfo=UTC) - EPOCH).total_seconds() * 1000)
MAX_ID_CHARS = 128


class FeedDataError(ValueError):
    """A value the feed sent cannot be used; subclasses name the kind in the rejection reason."""


class MissingField(FeedDataError):
    """A required field is present but null or blank (an absent key is a KeyError)."""


class BadValue(FeedDataError):
    """A field has the wrong JSON type or cannot be read as what it should be."""


class BadTimestamp(FeedDataError):
    """A time field cannot be parsed, or is implausible (outside MIN_YEAR..MAX_YEAR)."""


class OutOfRange(FeedDataError):
    """A number is outside the range the field allows (coordinates, confidence, rating, severity...)."""


class UnknownReference(FeedDataError):
    """A municipality, status, record type or outcome the platform does not know."""


# Reason kinds, as `reason_kind` tells them apart. "internal" means a normalizer let a Python error
# escape: a bug to fix, never data. The property tests assert it never happens.
REASON_KINDS: tuple[str, ...] = (
    "malformed",
    "unmapped_code",
    "missing_field",
    "bad_value",
    "bad_timestamp",
    "out_of_range",
    "unknown_reference",
    "outside_calendar",
    "invalid_record",
    "internal",
)
_KIND_BY_PREFIX: tuple[tuple[str, str], ...] = (
    ("empty message", "malformed"),
    ("malformed JSON", "malformed"),
    ("ValueError: expected a JSON object", "malformed"),
    ("UnicodeDecodeError:", "malformed"),
    ("RecursionError:", "malformed"),  # JSON nested deeper than the decoder allows
    ("missing required field", "missing_field"),
    ("MissingField:", "missing_field"),
    ("BadValue:", "bad_value"),
    ("BadTimestamp:", "bad_timestamp"),
    ("OutOfRange:", "out_of_range"),
    ("UnknownReference:", "unknown_reference"),
    ("OutsideCalendar:", "outside_calendar"),
    ("InvalidAppeal:", "invalid_record"),
)


def reason_kind(reason: str, unmapped_code: bool = False) -> str:
    """The kind of a rejection (one of REASON_KINDS), from a `Rejected`'s reason and unmapped flag."""
    if unmapped_code:
        return "unmapped_code"
    for prefix, kind in _KIND_BY_PREFIX:
        if reason.startswith(prefix):
            return kind
    return "internal"


def show(value: Any, limit: int = 40) -> str:
    """A bad value for a reason: its repr, shortened so a huge field cannot flood the operator's view."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _present(raw: dict[str, Any], field: str, required: bool) -> Any:
    """The value of `field`; None when optional and absent, null or blank. KeyError when required and absent."""
    if required:
        value = raw[field]
        if value is None or (isinstance(value, str) and not value.strip()):
            raise MissingField(f"required field {field!r} is empty")
        return value
    value = raw.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def _unicode(value: str, field: str) -> str:
    """JSON can carry lone surrogates (\\ud800) that no UTF-8 column can store; refuse them here, not in the sink."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadValue(f"field {field!r} is not valid Unicode text (lone surrogate)") from None
    return value


def identifier(raw: dict[str, Any], field: str) -> str:
    """A required id: a string or an integer (ids of some exports are numbers), stripped."""
    value = _present(raw, field, True)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadValue(f"field {field!r} must be a string or an integer id, got {type(value).__name__}")
    text = _unicode(str(value).strip(), field)
    if len(text) > MAX_ID_CHARS:
        raise BadValue(f"field {field!r} is longer than {MAX_ID_CHARS} characters")
    return text


def code(raw: dict[str, Any], field: str, *, required: bool = True) -> str | None:
    """A code of the source's own vocabulary (category, status, outcome): a string or an integer."""
    value = _present(raw, field, required)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadValue(f"field {field!r} must be a code (string or integer), got {type(value).__name__}")
    return _unicode(str(value).strip(), field)


def text(raw: dict[str, Any], field: str, *, required: bool = True) -> str:
    """Free text; "" when optional and absent. A number is accepted as its decimal form."""
    value = _present(raw, field, required)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadValue(f"field {field!r} must be text, got {type(value).__name__}")
    return _unicode(str(value).strip(), field)


def obj(raw: dict[str, Any], field: str) -> dict[str, Any]:
    """An optional nested object; {} when absent or null."""
    value = raw.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadValue(f"field {field!r} must be an object, got {type(value).__name__}")
    return value


def flag(raw: dict[str, Any], field: str, *, default: bool = False) -> bool:
    """A yes/no field: JSON true/false, 0/1 or "true"/"false"; absent, null or blank is `default`."""
    value = _present(raw, field, False)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise BadValue(f"field {field!r} must be true or false, got {show(value)}")


def _real(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadValue(f"field {field!r} must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise BadValue(f"field {field!r} is not a number: {show(value)}") from None
    if not math.isfinite(number):
        raise BadValue(f"field {field!r} is not a finite number: {show(value)}")
    return number


def number(
    raw: dict[str, Any], field: str, *, lo: float, hi: float, required: bool = True, name: str | None = None
) -> float | None:
    """A number within [lo, hi]; a numeric string is accepted (some exports quote everything)."""
    value = _present(raw, field, required)
    if value is None:
        return None
    result = _real(value, field)
    if not lo <= result <= hi:
        raise OutOfRange(f"{name or field} {result} is outside {lo}..{hi}")
    return result


def integer(
    raw: dict[str, Any], field: str, *, lo: int, hi: int, required: bool = True, name: str | None = None
) -> int | None:
    """A whole number within [lo, hi]; 2.0 and "2" are read as 2, 2.5 is an error."""
    value = _present(raw, field, required)
    if value is None:
        return None
    real = _real(value, field)
    if not real.is_integer():
        raise BadValue(f"field {field!r} must be a whole number, got {show(value)}")
    result = int(real)
    if not lo <= result <= hi:
        raise OutOfRange(f"{name or field} {result} is outside {lo}..{hi}")
    return result


_HUMAN = {"%d": "DD", "%m": "MM", "%Y": "YYYY", "%H": "HH", "%M": "MM", "%S": "SS"}


def _human(fmt: str) -> str:
    """A strptime format as operators write it: %d.%m.%Y -> DD.MM.YYYY."""
    for directive, shown in _HUMAN.items():
        fmt = fmt.replace(directive, shown)
    return fmt


def _plausible(moment: datetime, field: str, value: Any) -> datetime:
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise BadTimestamp(f"field {field!r}: {show(value)} is outside the years {MIN_YEAR}..{MAX_YEAR}")
    return moment


def timestamp(raw: dict[str, Any], field: str, region_tz: ZoneInfo, *, formats: tuple[str, ...] = ()) -> datetime:
    """A required time as an aware UTC datetime, from the feed's own formats or ISO 8601 (naive = region-local)."""
    return _timestamp(_present(raw, field, True), field, region_tz, formats)


def optional_timestamp(
    raw: dict[str, Any], field: str, region_tz: ZoneInfo, *, formats: tuple[str, ...] = ()
) -> datetime | None:
    """Like `timestamp`; None when the field is absent, null or blank."""
    value = _present(raw, field, False)
    return None if value is None else _timestamp(value, field, region_tz, formats)


def _timestamp(value: Any, field: str, region_tz: ZoneInfo, formats: tuple[str, ...]) -> datetime:
    if not isinstance(value, str):
        raise BadTimestamp(f"field {field!r} must be a timestamp string, got {type(value).__name__}")
    try:
        moment = aware(value.strip(), region_tz, formats=formats)
    except (ValueError, OverflowError):
        expected = " or ".join((*(_human(f) for f in formats), "ISO 8601"))
        raise BadTimestamp(f"field {field!r}: {show(value)} is not a timestamp ({expected})") from None
    return _plausible(moment, field, value)


def epoch_ms(raw: dict[str, Any], field: str) -> datetime:
    """Epoch milliseconds (UTC), computed exactly; seconds sent by mistake are refused, not read as 1970."""
    value = _present(raw, field, True)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadTimestamp(f"field {field!r} must be epoch milliseconds, got {type(value).__name__}")
    try:
        real = float(value)
    except ValueError:
        raise BadTimestamp(f"field {field!r}: {show(value)} is not epoch milliseconds") from None
    if not math.isfinite(real) or not real.is_integer():
        raise BadTimestamp(f"field {field!r}: {show(value)} is not a whole number of milliseconds")
    ms = int(real)
    if not _MIN_MS <= ms < _MAX_MS:
        hint = " (seconds instead of milliseconds?)" if _MIN_MS // 1000 <= ms < _MAX_MS // 1000 else ""
        raise BadTimestamp(f"field {field!r}: {ms} is outside the years {MIN_YEAR}..{MAX_YEAR}{hint}")
    return EPOCH + timedelta(milliseconds=ms)


def local_date(raw: dict[str, Any], field: str, *, formats: tuple[str, ...] = ("%Y-%m-%d",)) -> date:
    """A calendar date (a deadline), in one of the feed's formats."""
    value = _present(raw, field, True)
    if isinstance(value, str):
        for fmt in formats:
            try:
                parsed = datetime.strptime(value.strip(), fmt).date()
            except ValueError:
                continue
            if not MIN_YEAR <= parsed.year <= MAX_YEAR:
                break
            return parsed
    expected = " or ".join(_human(f) for f in formats)
    raise BadTimestamp(f"field {field!r}: {show(value)} is not a date ({expected})")


_FAST_DIRECTIVES = {
    "%Y": ("year", "([0-9]{4})"),
    "%m": ("month", "([0-9]{1,2})"),
    "%d": ("day", "([0-9]{1,2})"),
    "%H": ("hour", "([0-9]{1,2})"),
    "%M": ("minute", "([0-9]{1,2})"),
    "%S": ("second", "([0-9]{1,2})"),
}
_FIELD_ORDER = ("year", "month", "day", "hour", "minute", "second")


@functools.lru_cache(maxsize=32)
def _fast_pattern(fmt: str) -> tuple[re.Pattern[str], tuple[int, ...]] | None:
    """A regex for a format of %Y %m %d and %H %M %S, and where each of datetime's positional
    arguments is among its groups; None for any other format."""
    names: list[str] = []
    out: list[str] = []
    for part in re.split(r"(%.)", fmt):
        if part.startswith("%") and len(part) == 2:
            if part not in _FAST_DIRECTIVES or _FAST_DIRECTIVES[part][0] in names:
                return None
            name, group = _FAST_DIRECTIVES[part]
            names.append(name)
            out.append(group)
        else:
            out.append(r"\s+".join(re.escape(piece) for piece in part.split(" ")))
    present = [name in names for name in _FIELD_ORDER]
    if present != sorted(present, reverse=True) or not all(present[:3]):
        return None  # datetime's positional arguments: the date, then a prefix of hour, minute, second
    order = tuple(names.index(name) for name in _FIELD_ORDER if name in names)
    return re.compile("".join(out)), order


def _fast_strptime(value: str, fmt: str) -> datetime | None:
    """`datetime.strptime` for the feeds' numeric formats at a twentieth of its cost, or None.

    It accepts only ASCII digits where strptime takes more, so whatever it parses strptime parses
    the same; None sends the value on to strptime itself."""
    compiled = _fast_pattern(fmt)
    if compiled is None:
        return None
    pattern, order = compiled
    found = pattern.fullmatch(value)
    if found is None:
        return None
    groups = found.groups()
    try:
        return datetime(*[int(groups[i]) for i in order])
    except ValueError:
        return None


def aware(value: str, region_tz: ZoneInfo, *, formats: tuple[str, ...] = ()) -> datetime:
    """Parse an ISO-8601 or feed-specific timestamp; a time without zone is local to the region."""
    parsed: datetime | None = None
    for fmt in formats:
        parsed = _fast_strptime(value, fmt)
        if parsed is not None:
            break
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


def ms_since_epoch(moment: datetime) -> int:
    """Exact epoch milliseconds of an aware datetime (no float rounding)."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def version_ms(*times: datetime | None) -> int:
    """Row version for ReplacingMergeTree: the latest moment the record describes, in epoch milliseconds."""
    return max(ms_since_epoch(t) for t in times if t is not None)
