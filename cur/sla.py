"""SLA deadlines assigned at ingest (see DOMAIN.md, "Deadlines (SLA)").

The numbers live in `sla_rules.toml` and the working days in `calendar/ru_production_calendar.csv`, so
a changed regulation or next year's decree is a data change, reviewed as such. Both are validated at
import: a malformed file stops the pipeline instead of producing wrong deadlines.

Semantics (all day arithmetic in the region's local time, every result an aware UTC datetime):

- First answer: `created_at` + N elapsed hours, around the clock (the incident desk never closes).
- Working days (`add_working_days`): a clock that runs only on working days. An appeal on a working day
  is due at the same local time N working days later; one that arrives on a non-working day starts the
  clock at 00:00 of the next working day, so it is due at 24:00 of the N-th working day, written as 00:00
  of the following calendar day. A working day is the whole calendar day, not office hours. Zero days
  is the first moment at or after `moment` when the clock runs (or has just stopped, at 24:00), so that
  adding m then n working days always equals adding m + n.
- Calendar days, same local time: the same wall-clock time N days later (DST-safe: the wall clock is
  kept, not N*24 h), moved to the next working day only if the rule says so.
- 59-FZ (end of last day): Civil Code arts. 191-194 by analogy: the count starts the day after the
  appeal, the deadline is 24:00 local of the N-th day, and a non-working last day moves to the next
  working day.
- An appeal that is both official and on a fast track gets the earlier of the two deadlines: both apply.
- A local time that is ambiguous or skipped by a DST change is read with fold=0 (zoneinfo's default);
  Russian zones have had no DST since 2014, so this only matters for other zones.
- A day outside the calendar's years raises `OutsideCalendar`; a naive datetime raises `ValueError`.
"""

from __future__ import annotations

import csv
import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

PACKAGE_DIR = Path(__file__).resolve().parent
RULES_PATH = PACKAGE_DIR / "sla_rules.toml"
CALENDAR_PATH = PACKAGE_DIR / "calendar" / "ru_production_calendar.csv"

# Labour Code art. 112 part 1: the non-working public holidays, as (month, day).
STATUTORY_HOLIDAYS: frozenset[tuple[int, int]] = frozenset(
    [(1, d) for d in range(1, 9)] + [(2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4)]
)
MIDNIGHT = time(0)
_E = TypeVar("_E", bound=StrEnum)


class Priority(StrEnum):
    NORMAL = "normal"
    HIGH = "high"
    EMERGENCY = "emergency"


class SlaConfigError(ValueError):
    """The rules or the calendar file is malformed; raised at import so a bad deploy fails fast."""


class OutsideCalendar(ValueError):
    """A deadline needs a day of a year the production calendar does not cover; we never guess one."""


class Unit(StrEnum):
    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"


class Expiry(StrEnum):
    SAME_LOCAL_TIME = "same_local_time"
    END_OF_LAST_DAY = "end_of_last_day"


class NonWorkingLastDay(StrEnum):
    KEEP = "keep"
    NEXT_WORKING_DAY = "next_working_day"


@dataclass(frozen=True)
class DayRule:
    days: int
    unit: Unit
    expires: Expiry
    non_working_last_day: NonWorkingLastDay = NonWorkingLastDay.KEEP


@dataclass(frozen=True)
class SlaRules:
    first_answer: Mapping[Priority, timedelta]
    fix: Mapping[str, DayRule]  # by the taxonomy's sla_class
    official: DayRule  # 59-FZ written appeals

    @functools.cached_property
    def sla_classes(self) -> frozenset[str]:
        """Every sla_class the rules know: a priority class or a fast track (asked for every appeal)."""
        return frozenset(p.value for p in Priority) | frozenset(self.fix)


@dataclass(frozen=True)
class Deadlines:
    first_answer_at: datetime  # aware, UTC
    resolve_by: datetime | None  # aware, UTC; None when no fix/answer deadline beyond the first answer applies


# --- rules -------------------------------------------------------------------------------------------


def _check_keys(
    table: Mapping[str, Any], where: str, required: set[str], optional: frozenset[str] = frozenset()
) -> None:
    missing = required - table.keys()
    unknown = table.keys() - required - optional
    if missing:
        raise SlaConfigError(f"{where}: missing {', '.join(sorted(missing))}")
    if unknown:
        raise SlaConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")


def _table(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SlaConfigError(f"{where}: expected a table, got {type(value).__name__}")
    return value


def _positive_int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SlaConfigError(f"{where}: expected a positive integer, got {value!r}")
    return value


def _choice(enum: type[_E], value: object, where: str) -> _E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum)
        raise SlaConfigError(f"{where}: {value!r} is not one of {allowed}") from None


def _day_rule(value: object, where: str) -> DayRule:
    table = _table(value, where)
    _check_keys(table, where, {"days", "unit", "expires"}, frozenset({"non_working_last_day"}))
    unit = _choice(Unit, table["unit"], f"{where}.unit")
    if unit is Unit.CALENDAR_DAYS and "non_working_last_day" not in table:
        raise SlaConfigError(f"{where}: calendar_days needs non_working_last_day (keep or next_working_day)")
    if unit is Unit.WORKING_DAYS and "non_working_last_day" in table:
        raise SlaConfigError(f"{where}: non_working_last_day is meaningless for working_days; remove it")
    return DayRule(
        days=_positive_int(table["days"], f"{where}.days"),
        unit=unit,
        expires=_choice(Expiry, table["expires"], f"{where}.expires"),
        non_working_last_day=_choice(
            NonWorkingLastDay, table.get("non_working_last_day", "keep"), f"{where}.non_working_last_day"
        ),
    )


def load_rules(path: Path = RULES_PATH) -> SlaRules:
    """Parse and validate the rules; every error names the file and the key."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SlaConfigError(f"{path}: {exc}") from exc
    where = path.name
    _check_keys(data, where, {"schema_version", "first_answer_hours", "fix", "official"})
    if data["schema_version"] != 1:
        raise SlaConfigError(f"{where}: schema_version {data['schema_version']!r} is not supported (expected 1)")

    hours = _table(data["first_answer_hours"], f"{where} [first_answer_hours]")
    _check_keys(hours, f"{where} [first_answer_hours]", {p.value for p in Priority})
    first_answer: dict[Priority, timedelta] = {}
    for priority in Priority:
        value = hours[priority.value]
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise SlaConfigError(f"{where} [first_answer_hours].{priority.value}: expected hours > 0, got {value!r}")
        first_answer[priority] = timedelta(hours=value)

    fix: dict[str, DayRule] = {}
    for name, rule in _table(data["fix"], f"{where} [fix]").items():
        if name in {p.value for p in Priority}:
            raise SlaConfigError(f"{where} [fix.{name}]: a priority class cannot also be a fast track")
        fix[name] = _day_rule(rule, f"{where} [fix.{name}]")

    return SlaRules(
        first_answer=MappingProxyType(first_answer),
        fix=MappingProxyType(fix),
        official=_day_rule(data["official"], f"{where} [official]"),
    )


# --- production calendar ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductionCalendar:
    years: frozenset[int]
    non_working_weekdays: frozenset[date]  # holidays and days off that fall Monday-Friday
    working_weekends: frozenset[date]
    listed: Mapping[date, tuple[str, str]] = field(default_factory=dict)  # day → (kind, reason) of the file's rows

    def is_working_day(self, day: date) -> bool:
        if isinstance(day, datetime) or not isinstance(day, date):
            # a datetime would compare unequal to every listed date and silently count as a working day
            raise TypeError(f"expected a date, got {type(day).__name__}")
        if day.year not in self.years:
            covered = ", ".join(str(y) for y in sorted(self.years))
            raise OutsideCalendar(f"{day.isoformat()} is outside the production calendar (covers {covered})")
        if day.weekday() >= 5:
            return day in self.working_weekends
        return day not in self.non_working_weekdays


def load_calendar(path: Path = CALENDAR_PATH) -> ProductionCalendar:
    """Parse and validate the calendar; a year counts as covered only if all 14 holidays are listed."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            lines = [line for line in f if line.strip() and not line.lstrip().startswith("#")]
    except OSError as exc:
        raise SlaConfigError(f"{path}: {exc}") from exc
    reader = csv.DictReader(lines)
    if reader.fieldnames != ["date", "kind", "reason"]:
        raise SlaConfigError(f"{path.name}: header must be date,kind,reason, got {reader.fieldnames}")
    seen: dict[date, tuple[str, str]] = {}
    holidays: dict[int, set[tuple[int, int]]] = {}
    non_working: set[date] = set()
    working: set[date] = set()
    for number, row in enumerate(reader, start=1):
        where = f"{path.name} row {number}"
        try:
            day = date.fromisoformat(row["date"] or "")
        except ValueError:
            raise SlaConfigError(f"{where}: bad date {row['date']!r}") from None
        if day in seen:
            raise SlaConfigError(f"{where}: {day} is listed twice")
        seen[day] = (row["kind"], (row["reason"] or "").strip())
        if not (row["reason"] or "").strip():
            raise SlaConfigError(f"{where}: {day} has no reason")
        weekend = day.weekday() >= 5
        match row["kind"]:
            case "holiday":
                if (day.month, day.day) not in STATUTORY_HOLIDAYS:
                    raise SlaConfigError(f"{where}: {day} is not a Labour Code art. 112 holiday")
                holidays.setdefault(day.year, set()).add((day.month, day.day))
                if not weekend:
                    non_working.add(day)
            case "day_off":
                if weekend or (day.month, day.day) in STATUTORY_HOLIDAYS:
                    raise SlaConfigError(f"{where}: a day_off must be a Monday-Friday that is not a holiday ({day})")
                non_working.add(day)
            case "working_day":
                if not weekend:
                    raise SlaConfigError(f"{where}: a working_day must be a Saturday or Sunday ({day})")
                working.add(day)
            case other:
                raise SlaConfigError(f"{where}: kind {other!r} is not holiday, day_off or working_day")
    for year, listed in holidays.items():
        if listed != STATUTORY_HOLIDAYS:
            missing = sorted(STATUTORY_HOLIDAYS - listed)
            raise SlaConfigError(f"{path.name}: {year} lacks holidays {missing}; list the whole year or none of it")
    stray = {d.year for d in non_working | working} - holidays.keys()
    if stray:
        raise SlaConfigError(f"{path.name}: rows for {sorted(stray)} without that year's holidays")
    if not holidays:
        raise SlaConfigError(f"{path.name}: no year is covered")
    return ProductionCalendar(frozenset(holidays), frozenset(non_working), frozenset(working), MappingProxyType(seen))


RULES: SlaRules = load_rules()
CALENDAR: ProductionCalendar = load_calendar()
FIRST_ANSWER_DEADLINE: Mapping[Priority, timedelta] = RULES.first_answer


def calendar_days(calendar: ProductionCalendar = CALENDAR) -> list[tuple[date, bool, str, str]]:
    """Every day of the covered years as (day, is_working_day, kind, reason), for the table the KPI
    models and the quality checks read (cur.migrate loads it): the same days the deadlines count."""
    rows: list[tuple[date, bool, str, str]] = []
    for year in sorted(calendar.years):
        day = date(year, 1, 1)
        while day.year == year:
            kind, reason = calendar.listed.get(day, ("weekend" if day.weekday() >= 5 else "working_day", ""))
            if kind == "working_day" and day.weekday() >= 5:
                kind = "working_weekend"
            rows.append((day, calendar.is_working_day(day), kind, reason))
            day += timedelta(days=1)
    return rows


# --- arithmetic ---------------------------------------------------------------------------------------


def _require_aware(moment: datetime, name: str) -> None:
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must carry a time zone, got naive {moment.isoformat()}")


def _require_tz(region_tz: tzinfo) -> None:
    if not isinstance(region_tz, tzinfo):
        raise TypeError(f"region_tz must be a ZoneInfo, got {type(region_tz).__name__}")


def _at(day: date, wall: time, region_tz: tzinfo) -> datetime:
    """A local wall-clock time as UTC; fold=0 resolves an ambiguous or skipped time the zoneinfo way."""
    return datetime.combine(day, wall.replace(fold=0), tzinfo=region_tz).astimezone(UTC)


def _next_working_day(day: date) -> date:
    """The first working day strictly after `day`; raises OutsideCalendar past the last covered year."""
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def is_working_day(day: date) -> bool:
    """Per the production calendar; raises OutsideCalendar rather than guessing an uncovered year."""
    return CALENDAR.is_working_day(day)


def add_working_days(moment: datetime, days: int, region_tz: ZoneInfo) -> datetime:
    """`moment` plus `days` of a clock that runs only on working days (see the module doc); UTC."""
    _require_aware(moment, "moment")
    _require_tz(region_tz)
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ValueError(f"days must be a non-negative integer, got {days!r}")
    local = moment.astimezone(region_tz)
    day, wall = local.date(), local.time()
    if not is_working_day(day):
        if days == 0 and wall == MIDNIGHT and is_working_day(day - timedelta(days=1)):
            return moment.astimezone(UTC)  # 24:00 of a working day: the clock has just stopped here
        day, wall = _next_working_day(day), MIDNIGHT
    if days == 0:
        return _at(day, wall, region_tz)
    if wall == MIDNIGHT:
        # the whole start day is the first working day: due at 24:00 of the N-th, whatever follows it
        for _ in range(days - 1):
            day = _next_working_day(day)
        return _at(day + timedelta(days=1), MIDNIGHT, region_tz)
    for _ in range(days):
        day = _next_working_day(day)
    return _at(day, wall, region_tz)


def _apply(rule: DayRule, created_at: datetime, region_tz: ZoneInfo) -> datetime:
    local = created_at.astimezone(region_tz)
    if rule.unit is Unit.WORKING_DAYS:
        if rule.expires is Expiry.SAME_LOCAL_TIME:
            return add_working_days(created_at, rule.days, region_tz)
        last = local.date()
        for _ in range(rule.days):
            last = _next_working_day(last)
        return _at(last + timedelta(days=1), MIDNIGHT, region_tz)
    last = local.date() + timedelta(days=rule.days)
    if rule.non_working_last_day is NonWorkingLastDay.NEXT_WORKING_DAY and not is_working_day(last):
        last = _next_working_day(last)
    if rule.expires is Expiry.SAME_LOCAL_TIME:
        return _at(last, local.time(), region_tz)
    return _at(last + timedelta(days=1), MIDNIGHT, region_tz)


def priority_for(sla_class: str, *, emergency: bool = False, high: bool = False) -> Priority:
    """The taxonomy's class sets the floor; a feed's own signal may only raise it."""
    if emergency or sla_class == "emergency":
        return Priority.EMERGENCY
    if high or sla_class == "high":
        return Priority.HIGH
    return Priority.NORMAL


def first_answer_deadline(created_at: datetime, priority: Priority) -> datetime:
    """Elapsed hours in UTC, so a DST change in the source's zone cannot stretch or shrink them."""
    _require_aware(created_at, "created_at")
    return created_at.astimezone(UTC) + FIRST_ANSWER_DEADLINE[Priority(priority)]


def deadlines_for(
    created_at: datetime,
    priority: Priority,
    sla_class: str,
    *,
    official: bool = False,
    region_tz: ZoneInfo,
) -> Deadlines:
    """Both deadlines of one appeal; an unknown sla_class is an error, never a silent 'no deadline'."""
    _require_aware(created_at, "created_at")
    _require_tz(region_tz)
    if sla_class not in RULES.sla_classes:
        known = ", ".join(sorted(RULES.sla_classes))
        raise ValueError(f"unknown sla_class {sla_class!r} (known: {known})")
    candidates: list[datetime] = []
    first_answer_at = first_answer_deadline(created_at, priority)
    rule = RULES.fix.get(sla_class)
    if rule is not None:
        candidates.append(_apply(rule, created_at, region_tz))
    if official:
        by_law = _apply(RULES.official, created_at, region_tz)
        candidates.append(by_law)
        # A written appeal under 59-FZ is answered within the law's term, not the 8 h of the region's
        # operational channels; an emergency or a high-importance one keeps its hours.
        if priority is Priority.NORMAL:
            first_answer_at = by_law
    return Deadlines(first_answer_at=first_answer_at, resolve_by=min(candidates, default=None))
