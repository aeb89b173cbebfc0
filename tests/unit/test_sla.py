"""SLA deadlines: hand-computed cases against the 2025-2027 production calendar, and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cur import sla, taxonomy
from cur.sla import (
    FIRST_ANSWER_DEADLINE,
    Deadlines,
    OutsideCalendar,
    Priority,
    SlaConfigError,
    add_working_days,
    deadlines_for,
    first_answer_deadline,
    is_working_day,
    priority_for,
)

MSK = ZoneInfo("Europe/Moscow")
VLAT = ZoneInfo("Asia/Vladivostok")
BERLIN = ZoneInfo("Europe/Berlin")  # the only zone here with DST, to prove wall-clock arithmetic
RUSSIAN_ZONES = [
    ZoneInfo(name)
    for name in (
        "Europe/Kaliningrad",
        "Europe/Moscow",
        "Europe/Samara",
        "Asia/Yekaterinburg",
        "Asia/Novosibirsk",
        "Asia/Vladivostok",
        "Asia/Kamchatka",
    )
]
ALL_CLASSES = sorted(sla.RULES.sla_classes)


def msk(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MSK)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def lands_on_working_day(moment: datetime, region_tz: ZoneInfo) -> bool:
    """A deadline at local 00:00 is 24:00 of the day before, so that day must be the working one."""
    local = moment.astimezone(region_tz)
    if local.time() == datetime.min.time():
        return is_working_day(local.date() - timedelta(days=1))
    return is_working_day(local.date())


# --- production calendar --------------------------------------------------------------------------------


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_each_year_has_the_official_247_working_days(year: int) -> None:
    days = (date(year, 1, 1) + timedelta(days=n) for n in range(366))
    assert sum(is_working_day(d) for d in days if d.year == year) == 247


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 1, 5), False),  # New Year holidays
        (date(2026, 1, 9), False),  # day off moved from Sat 3 January
        (date(2026, 1, 12), True),
        (date(2026, 3, 9), False),  # 8 March fell on a Sunday
        (date(2026, 5, 11), False),  # 9 May fell on a Saturday
        (date(2026, 11, 21), False),  # an ordinary Saturday
        (date(2026, 11, 23), True),
        (date(2026, 12, 31), False),  # moved from Sun 4 January
        (date(2025, 11, 1), True),  # working Saturday (decree 1335)
        (date(2025, 11, 3), False),
        (date(2027, 2, 20), True),  # working Saturday (decree 1187)
        (date(2027, 2, 22), False),
        (date(2027, 11, 5), False),  # moved from Sat 2 January
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert is_working_day(day) is working


@pytest.mark.parametrize("day", [date(2024, 12, 31), date(2028, 1, 10)])
def test_days_outside_the_calendar_raise(day: date) -> None:
    with pytest.raises(OutsideCalendar, match="outside the production calendar"):
        is_working_day(day)


def test_a_datetime_is_not_a_day() -> None:
    with pytest.raises(TypeError):
        is_working_day(datetime(2026, 1, 5, 12, 0))


# --- working days ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("created", "expected_msk"),
    [
        # Friday evening: same time on Monday
        ("2026-11-20T19:30", "2026-11-23T19:30"),
        # on a holiday: the clock starts Monday 12 January 00:00, due at its 24:00
        ("2026-01-05T10:00", "2026-01-13T00:00"),
        ("2026-05-01T10:00", "2026-05-05T00:00"),
        # eve of the May holidays: Sat 9, Sun 10 and Mon 11 (moved) are off
        ("2026-05-08T17:00", "2026-05-12T17:00"),
        # eve of a mid-week holiday (Wed 4 November)
        ("2026-11-03T12:00", "2026-11-05T12:00"),
        # the working Saturdays count, and the days around them do not
        ("2025-10-31T12:00", "2025-11-01T12:00"),
        ("2025-11-01T10:00", "2025-11-05T10:00"),
        ("2027-02-19T15:00", "2027-02-20T15:00"),
        ("2027-02-20T15:00", "2027-02-24T15:00"),
        # year boundaries: 31 December and the New Year holidays are off
        ("2026-12-30T15:00", "2027-01-11T15:00"),
        ("2025-12-30T18:00", "2026-01-12T18:00"),
        # exactly midnight of a working day: the whole day counts, due at its 24:00 even before a holiday
        ("2026-11-03T00:00", "2026-11-04T00:00"),
    ],
)
def test_one_working_day(created: str, expected_msk: str) -> None:
    result = add_working_days(msk(created), 1, MSK)
    assert result == msk(expected_msk)
    assert result.tzinfo is UTC


def test_several_working_days_skip_holidays() -> None:
    # Thu 30 Apr 2026 + 3: Fri 1 May off, so Mon 4, Tue 5, Wed 6
    assert add_working_days(msk("2026-04-30T09:00"), 3, MSK) == msk("2026-05-06T09:00")


def test_zero_working_days_is_the_first_working_moment() -> None:
    assert add_working_days(msk("2026-11-20T19:30"), 0, MSK) == msk("2026-11-20T19:30")
    assert add_working_days(msk("2026-11-21T19:30"), 0, MSK) == msk("2026-11-23T00:00")
    assert add_working_days(msk("2026-11-21T00:00"), 0, MSK) == msk("2026-11-21T00:00")  # 24:00 of Friday


def test_the_region_zone_decides_the_day() -> None:
    # Friday 17:30 in Moscow is already Saturday 00:30 in Vladivostok
    moment = utc("2026-11-20T14:30")
    assert add_working_days(moment, 1, MSK) == utc("2026-11-23T14:30")
    assert add_working_days(moment, 1, VLAT) == datetime(2026, 11, 24, tzinfo=VLAT)


def test_working_days_keep_the_wall_clock_across_dst() -> None:
    # Berlin moves to summer time on Sunday 29 March 2026: 10:00 CET Friday -> 10:00 CEST Monday
    assert add_working_days(utc("2026-03-27T09:00"), 1, BERLIN) == utc("2026-03-30T08:00")


def test_working_days_past_the_calendar_raise() -> None:
    with pytest.raises(OutsideCalendar, match="2028-01-01"):
        add_working_days(msk("2027-12-30T10:00"), 1, MSK)


@pytest.mark.parametrize("days", [-1, 1.5, True])
def test_bad_day_counts_raise(days: object) -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        add_working_days(msk("2026-11-20T10:00"), days, MSK)  # type: ignore[arg-type]


# --- first answer ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "expected"),
    [
        (Priority.EMERGENCY, "2026-11-20T12:00"),
        (Priority.HIGH, "2026-11-20T14:00"),
        (Priority.NORMAL, "2026-11-20T19:00"),
    ],
)
def test_first_answer_hours_run_around_the_clock(priority: Priority, expected: str) -> None:
    created = datetime(2026, 11, 20, 14, 0, tzinfo=MSK)  # 11:00 UTC
    assert first_answer_deadline(created, priority) == utc(expected)
    assert first_answer_deadline(created, priority).tzinfo is UTC
    assert deadlines_for(created, priority, "normal", region_tz=MSK).first_answer_at == utc(expected)


def test_first_answer_on_a_holiday_night_is_not_postponed() -> None:
    assert first_answer_deadline(msk("2026-01-01T00:30"), Priority.NORMAL) == msk("2026-01-01T08:30")


def test_first_answer_hours_come_from_the_config() -> None:
    assert dict(FIRST_ANSWER_DEADLINE) == {
        Priority.EMERGENCY: timedelta(hours=1),
        Priority.HIGH: timedelta(hours=3),
        Priority.NORMAL: timedelta(hours=8),
    }


def test_priority_for_keeps_the_floor_and_lets_feeds_raise_it() -> None:
    assert priority_for("normal") is Priority.NORMAL
    assert priority_for("fast_snow") is Priority.NORMAL
    assert priority_for("high") is Priority.HIGH
    assert priority_for("emergency", high=True) is Priority.EMERGENCY
    assert priority_for("normal", high=True) is Priority.HIGH
    assert priority_for("high", emergency=True) is Priority.EMERGENCY


# --- fast tracks and 59-FZ ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sla_class", "created", "expected_msk"),
    [
        ("fast_snow", "2026-11-20T19:30", "2026-11-23T19:30"),  # 1 working day
        ("fast_snow", "2026-01-05T10:00", "2026-01-13T00:00"),
        ("fast_garbage", "2026-05-01T10:00", "2026-05-03T10:00"),  # 2 calendar days, a Sunday is kept
        ("fast_garbage", "2026-12-30T23:00", "2027-01-01T23:00"),
        ("fast_pothole", "2026-11-20T19:30", "2026-11-28T19:30"),  # 8 calendar days, a Saturday is kept
        ("fast_pothole", "2026-12-28T08:00", "2027-01-05T08:00"),
    ],
)
def test_fast_track_fix_deadlines(sla_class: str, created: str, expected_msk: str) -> None:
    result = deadlines_for(msk(created), Priority.NORMAL, sla_class, region_tz=MSK)
    assert result.resolve_by == msk(expected_msk)
    assert result.resolve_by is not None and result.resolve_by.tzinfo is UTC


def test_calendar_days_keep_the_wall_clock_across_dst() -> None:
    # 10:00 CET Saturday 28 March 2026 + 2 days = 10:00 CEST Monday: 47 elapsed hours
    result = deadlines_for(utc("2026-03-28T09:00"), Priority.NORMAL, "fast_garbage", region_tz=BERLIN)
    assert result.resolve_by == utc("2026-03-30T08:00")


@pytest.mark.parametrize("sla_class", ["normal", "high", "emergency"])
def test_no_fix_deadline_without_a_fast_track(sla_class: str) -> None:
    created = msk("2026-11-20T10:00")
    assert deadlines_for(created, priority_for(sla_class), sla_class, region_tz=MSK) == Deadlines(
        first_answer_deadline(created, priority_for(sla_class)), None
    )


@pytest.mark.parametrize(
    ("created", "expected_msk"),
    [
        # day 1 is 3 March, day 30 is 1 April: due at its 24:00
        ("2026-03-02T10:00", "2026-04-02T00:00"),
        ("2026-03-02T23:59", "2026-04-02T00:00"),
        # day 30 is Friday 1 May (holiday): moves to Monday 4 May
        ("2026-04-01T10:00", "2026-05-05T00:00"),
        # day 30 is 31 December (day off), then the New Year holidays: Monday 11 January 2027
        ("2026-12-01T10:00", "2027-01-12T00:00"),
        # an appeal on a holiday starts counting the next day all the same
        ("2026-01-05T10:00", "2026-02-05T00:00"),
    ],
)
def test_official_appeals_get_30_days(created: str, expected_msk: str) -> None:
    result = deadlines_for(msk(created), Priority.NORMAL, "normal", official=True, region_tz=MSK)
    assert result.resolve_by == msk(expected_msk)


def test_official_normal_appeal_is_answered_within_the_law_emergency_keeps_its_hour() -> None:
    created = msk("2026-11-20T10:00")
    normal = deadlines_for(created, Priority.NORMAL, "normal", official=True, region_tz=MSK)
    assert normal.first_answer_at == normal.resolve_by == msk("2026-12-22T00:00")  # day 30 is Sunday: end of Monday
    urgent = deadlines_for(created, Priority.EMERGENCY, "emergency", official=True, region_tz=MSK)
    assert urgent.first_answer_at == msk("2026-11-20T11:00")


def test_official_counts_the_local_day() -> None:
    # 22:30 UTC on 2 March is already 3 March in Moscow
    result = deadlines_for(utc("2026-03-02T22:30"), Priority.NORMAL, "normal", official=True, region_tz=MSK)
    assert result.resolve_by == msk("2026-04-03T00:00")


def test_official_fast_track_gets_the_earlier_deadline() -> None:
    created = msk("2026-11-20T19:30")
    both = deadlines_for(created, Priority.NORMAL, "fast_snow", official=True, region_tz=MSK)
    assert both.resolve_by == msk("2026-11-23T19:30")
    official_only = deadlines_for(created, Priority.NORMAL, "normal", official=True, region_tz=MSK)
    assert official_only.resolve_by == msk("2026-12-22T00:00")  # day 30 is Sunday 20 December -> Monday 21


def test_official_deadline_past_the_calendar_raises() -> None:
    with pytest.raises(OutsideCalendar, match="2028"):
        deadlines_for(msk("2027-12-15T10:00"), Priority.NORMAL, "normal", official=True, region_tz=MSK)


# --- errors ---------------------------------------------------------------------------------------------


def test_naive_datetimes_raise() -> None:
    naive = datetime(2026, 11, 20, 10, 0)
    with pytest.raises(ValueError, match="must carry a time zone"):
        first_answer_deadline(naive, Priority.NORMAL)
    with pytest.raises(ValueError, match="must carry a time zone"):
        deadlines_for(naive, Priority.NORMAL, "fast_snow", region_tz=MSK)
    with pytest.raises(ValueError, match="must carry a time zone"):
        add_working_days(naive, 1, MSK)


def test_unknown_sla_class_raises() -> None:
    with pytest.raises(ValueError, match="unknown sla_class 'fast_ice'"):
        deadlines_for(msk("2026-11-20T10:00"), Priority.NORMAL, "fast_ice", region_tz=MSK)


def test_region_tz_must_be_a_zone() -> None:
    with pytest.raises(TypeError, match="region_tz"):
        deadlines_for(msk("2026-11-20T10:00"), Priority.NORMAL, "fast_snow", region_tz="Europe/Moscow")  # type: ignore[arg-type]


def test_every_taxonomy_class_has_rules() -> None:
    assert {s.sla_class for s in taxonomy.subcategories().values()} <= sla.RULES.sla_classes


# --- configuration --------------------------------------------------------------------------------------


def test_shipped_rules_follow_the_article() -> None:
    fix = sla.RULES.fix
    assert (fix["fast_snow"].days, fix["fast_snow"].unit) == (1, sla.Unit.WORKING_DAYS)
    assert (fix["fast_garbage"].days, fix["fast_garbage"].unit) == (2, sla.Unit.CALENDAR_DAYS)
    assert (fix["fast_pothole"].days, fix["fast_pothole"].unit) == (8, sla.Unit.CALENDAR_DAYS)
    official = sla.RULES.official
    assert (official.days, official.expires, official.non_working_last_day) == (
        30,
        sla.Expiry.END_OF_LAST_DAY,
        sla.NonWorkingLastDay.NEXT_WORKING_DAY,
    )


VALID_RULES = sla.RULES_PATH.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("schema_version = 1", "schema_version = 2", "schema_version 2 is not supported"),
        ("high = 3", "", r"\[first_answer_hours\]: missing high"),
        ("high = 3", "high = 0", "expected hours > 0"),
        ("high = 3", "high = 3\nurgent = 2", "unknown key"),
        ('unit = "working_days"', 'unit = "business_days"', "fast_snow].unit: 'business_days' is not one of"),
        ("days = 8", "days = 0", "fast_pothole].days: expected a positive integer"),
        ("days = 8", 'days = "8"', "expected a positive integer"),
        ('expires = "same_local_time"\n\n[fix.fast_garbage]', 'expires = "at_noon"\n\n[fix.fast_garbage]', "expires"),
        ('non_working_last_day = "keep"\n\n[fix.fast_pothole]', "\n[fix.fast_pothole]", "needs non_working_last_day"),
        (
            "[fix.fast_garbage]",
            '[fix.normal]\ndays = 1\nunit = "working_days"\nexpires = "same_local_time"\n\n[fix.fast_garbage]',
            "cannot also be a fast track",
        ),
        ("[official]", "[official_]", "missing official"),
        ("days = 30", "days = 30\ndays = 31", "sla_rules.toml: Cannot overwrite"),
    ],
)
def test_bad_rules_are_rejected_with_a_clear_reason(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in VALID_RULES
    path = tmp_path / "sla_rules.toml"
    path.write_text(VALID_RULES.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(SlaConfigError, match=message):
        sla.load_rules(path)


def test_working_days_rule_with_a_last_day_policy_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "sla_rules.toml"
    path.write_text(
        VALID_RULES.replace('unit = "working_days"', 'unit = "working_days"\nnon_working_last_day = "keep"'), "utf-8"
    )
    with pytest.raises(SlaConfigError, match="meaningless for working_days"):
        sla.load_rules(path)


VALID_CALENDAR = sla.CALENDAR_PATH.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("2026-06-12,holiday,День России (ТК РФ ст. 112 ч. 1)\n", "", r"2026 lacks holidays \[\(6, 12\)\]"),
        ("2026-01-09,day_off", "2026-01-10,day_off", "must be a Monday-Friday"),
        ("2025-11-01,working_day", "2025-10-31,working_day", "must be a Saturday or Sunday"),
        ("2026-01-09,day_off", "2026-01-09,holiday", "not a Labour Code art. 112 holiday"),
        ("2026-01-09,day_off", "2026-01-09,rest", "kind 'rest'"),
        ("2026-01-09,day_off", "2026-01-08,day_off", "listed twice"),
        ("2026-01-09,day_off", "2026-01-32,day_off", "bad date"),
        ("date,kind,reason", "day,kind,reason", "header must be"),
        ("2026-12-31,day_off", "2028-12-29,day_off", r"rows for \[2028\]"),
    ],
)
def test_bad_calendars_are_rejected(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in VALID_CALENDAR
    path = tmp_path / "calendar.csv"
    path.write_text(VALID_CALENDAR.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(SlaConfigError, match=message):
        sla.load_calendar(path)


# --- properties -----------------------------------------------------------------------------------------

zones = st.sampled_from(RUSSIAN_ZONES)
# late enough in 2027 that 30 days and their roll-over stay inside the calendar
moments = st.datetimes(min_value=datetime(2025, 1, 2), max_value=datetime(2027, 11, 15), timezones=zones)


@settings(max_examples=300, deadline=None)
@given(created=moments, region_tz=zones, sla_class=st.sampled_from(ALL_CLASSES), official=st.booleans())
def test_deadlines_are_never_before_creation(
    created: datetime, region_tz: ZoneInfo, sla_class: str, official: bool
) -> None:
    result = deadlines_for(created, priority_for(sla_class), sla_class, official=official, region_tz=region_tz)
    assert result.first_answer_at > created
    assert result.resolve_by is None or result.resolve_by > created
    assert result.first_answer_at.tzinfo is UTC
    assert result.resolve_by is None or result.resolve_by.tzinfo is UTC
    # the zone the feed wrote created_at in does not matter, only the region's
    same_instant = created.astimezone(UTC)
    assert (
        deadlines_for(same_instant, priority_for(sla_class), sla_class, official=official, region_tz=region_tz)
        == result
    )


@settings(max_examples=300, deadline=None)
@given(created=moments, region_tz=zones, days=st.integers(min_value=1, max_value=10))
def test_working_day_deadlines_land_on_working_days(created: datetime, region_tz: ZoneInfo, days: int) -> None:
    assert lands_on_working_day(add_working_days(created, days, region_tz), region_tz)


@settings(max_examples=300, deadline=None)
@given(created=moments, region_tz=zones)
def test_official_deadline_is_the_end_of_a_working_day(created: datetime, region_tz: ZoneInfo) -> None:
    resolve_by = deadlines_for(created, Priority.NORMAL, "normal", official=True, region_tz=region_tz).resolve_by
    assert resolve_by is not None
    local = resolve_by.astimezone(region_tz)
    assert local.time() == datetime.min.time()
    assert lands_on_working_day(resolve_by, region_tz)
    assert local.date() - created.astimezone(region_tz).date() >= timedelta(days=31)


@settings(max_examples=300, deadline=None)
@given(
    a=moments,
    b=moments,
    region_tz=zones,
    sla_class=st.sampled_from(ALL_CLASSES),
    official=st.booleans(),
)
def test_deadlines_are_monotonic_in_creation_time(
    a: datetime, b: datetime, region_tz: ZoneInfo, sla_class: str, official: bool
) -> None:
    early, late = sorted([a, b])
    first = deadlines_for(early, Priority.NORMAL, sla_class, official=official, region_tz=region_tz)
    second = deadlines_for(late, Priority.NORMAL, sla_class, official=official, region_tz=region_tz)
    assert first.first_answer_at <= second.first_answer_at
    if first.resolve_by is not None and second.resolve_by is not None:
        assert first.resolve_by <= second.resolve_by


@settings(max_examples=300, deadline=None)
@given(created=moments, region_tz=zones, first=st.integers(0, 5), second=st.integers(0, 5))
def test_working_days_compose(created: datetime, region_tz: ZoneInfo, first: int, second: int) -> None:
    """The clock model: adding m then n working days is adding m + n."""
    stepwise = add_working_days(add_working_days(created, first, region_tz), second, region_tz)
    assert stepwise == add_working_days(created, first + second, region_tz)


@settings(max_examples=200, deadline=None)
@given(created=moments, region_tz=zones, sla_class=st.sampled_from(["fast_garbage", "fast_pothole"]))
def test_calendar_day_tracks_keep_the_local_clock(created: datetime, region_tz: ZoneInfo, sla_class: str) -> None:
    resolve_by = deadlines_for(created, Priority.NORMAL, sla_class, region_tz=region_tz).resolve_by
    assert resolve_by is not None
    start, end = created.astimezone(region_tz), resolve_by.astimezone(region_tz)
    assert end.time() == start.time()
    assert end.date() - start.date() == timedelta(days=sla.RULES.fix[sla_class].days)


def test_calendar_days_count_the_official_working_days() -> None:
    # The government's own totals for a five-day week: 247 working days in 2025 and in 2026.
    days = sla.calendar_days()
    for year in (2025, 2026):
        rows = [row for row in days if row[0].year == year]
        assert len(rows) == 365
        assert sum(row[1] for row in rows) == 247
    kinds = {row[0]: row[2] for row in days}
    assert kinds[date(2026, 1, 1)] == "holiday" and kinds[date(2026, 12, 5)] == "weekend"
