"""Real-world problems and the reports that describe them: the ground truth of cross-channel linkage.

A problem (a pothole, a cold building) has a kind (a canonical subcategory), a place (`places.Place`), a
start and an end. It is reported once or several times, in any feed whose codes map to its kind, within
`MAX_SPAN` of its first report (hours for short-lived emergencies). A POS resident sometimes picks a
neighbouring category of the same sector (`NEIGHBOURS`) while describing the true kind.

`plan_day` draws the day's problems and their reports, including the hard negatives that a linkage job
must keep apart, each flagged with its kind (`NEGATIVE_KINDS`):
- "pothole_100m": two potholes ~100 m apart on one street, the same day;
- "heating_and_water": one building without heating and also without hot water, the same day;
- "same_text": the identical short text ("Яма на дороге.") about two problems in two municipalities;
- "repeat": a problem that was resolved and is back at the same place 14-42 days after its last
  resolution (`recurrence`): a new problem whose reports are repeats of the earlier one.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from types import MappingProxyType

from cur import taxonomy
from streams.generator import places, texts
from streams.generator.core import FEED_WEIGHTS, FEEDS, Gen
from streams.generator.places import Place

NEGATIVE_KINDS = ("pothole_100m", "heating_and_water", "same_text", "repeat")
MAX_SPAN = timedelta(days=5)  # from a problem's first report to its last: a 7-day window sees them all
SHORT_SPAN = timedelta(hours=3)
MIN_LAG = timedelta(minutes=2)
RECURRENCE_DAYS = (14, 42)  # a resolved problem comes back this many days after its last resolution
MAX_REPORTS = 8
# Where a problem of each kind is: a building unless listed.
PLACE_KINDS: Mapping[str, str] = MappingProxyType(
    {
        "roads.pothole": "point",
        "roads.open_manhole": "point",
        "roads.snow_ice": "segment",
        "roads.street_lighting": "segment",
        "transport.road_accident": "point",
        "transport.public_transport": "point",
        "waste.illegal_dump": "point",
        "safety.crowd": "point",
        "safety.camera_fault": "point",
        "safety.public_order": "point",
    }
)
# Kinds over within hours (further reports come within SHORT_SPAN), and kinds many people see and report.
SHORT_LIVED = frozenset(
    {"transport.road_accident", "safety.fire", "safety.crowd", "healthcare.ambulance", "safety.public_order"}
)
PUBLIC = frozenset(
    {
        "roads.pothole",
        "roads.open_manhole",
        "roads.snow_ice",
        "roads.street_lighting",
        "waste.garbage_removal",
        "waste.illegal_dump",
        "housing_utilities.heating",
        "housing_utilities.water",
        "housing_utilities.gas",
        "housing_utilities.yard_cleaning",
        "energy.power_outage",
        "transport.road_accident",
        "safety.fire",
        "safety.crowd",
    }
)
# The categories a POS resident may pick instead of the true one: same sector, close in meaning. Never
# heating for water or back: those are the two problems of one building that must stay apart.
NEIGHBOURS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "waste.garbage_removal": ("waste.illegal_dump",),
        "waste.illegal_dump": ("waste.garbage_removal",),
        "housing_utilities.yard_cleaning": ("housing_utilities.management_company",),
        "housing_utilities.management_company": ("housing_utilities.yard_cleaning",),
        "housing_utilities.heating": ("housing_utilities.management_company",),
        "housing_utilities.water": ("housing_utilities.management_company",),
        "roads.pothole": ("roads.open_manhole",),
        "roads.open_manhole": ("roads.pothole",),
        "healthcare.clinic_access": ("healthcare.medicines",),
        "healthcare.medicines": ("healthcare.clinic_access",),
    }
)


@dataclass(frozen=True)
class Mix:
    """How problems are made. `SINGLE` (all zero) gives one report per problem, no hard negatives and no
    recurrences: the generator as it was before problems, for tests that need it."""

    several_reports_public: float = 0.3  # share of problems of a PUBLIC kind reported more than once
    several_reports_other: float = 0.08
    wrong_category: float = 0.05  # a POS resident picks a neighbouring category
    pothole_100m: float = 0.1  # share of potholes with a second one ~100 m along the street, the same day
    heating_and_water: float = 0.12  # share of heating problems whose building also lacks hot water
    same_text: float = 0.06  # share of problems with a short text (first report on POS) that get a twin
    recurrence: float = 0.06  # share of problems looking resolved in the data that come back weeks later


MIX = Mix()
SINGLE = Mix(0, 0, 0, 0, 0, 0, 0)


@dataclass(frozen=True)
class Problem:
    """A real-world problem. `end` is its latest resolution event by "now" (None: open); `repeat_of` the
    earlier problem at the same place that it is a recurrence of."""

    problem_id: str
    kind: str  # canonical subcategory code
    place: Place
    start: datetime  # its first report
    end: datetime | None = None
    repeat_of: str = ""

    @property
    def municipality(self) -> str:
        return self.place.municipality

    @property
    def lat(self) -> float:
        return self.place.point[0]

    @property
    def lon(self) -> float:
        return self.place.point[1]


@dataclass(frozen=True)
class Report:
    """One report of a problem, as a feed module is to render it."""

    problem: Problem
    feed: str
    code: str  # the feed code sent: the true kind's, or (POS) a neighbouring category's
    at: datetime
    text_key: str = ""  # the texts.TEXTS key to describe it by (default: the problem's kind)
    text: str = ""  # when set, exactly this text (the same short text about two problems)

    @property
    def kind_text(self) -> str:
        return self.text_key or self.problem.kind


@cache
def codes_by_kind() -> dict[str, dict[str, str]]:
    """Kind -> {feed: code}: the feeds that can report a problem of that kind, with the code they use."""
    kinds: dict[str, dict[str, str]] = {}
    for feed in FEEDS:
        for code in taxonomy.feed_codes(feed):
            kinds.setdefault(taxonomy.subcategory_for(feed, code).code, {}).setdefault(feed, code)
    return kinds


@cache
def _kinds_of(feed: str) -> tuple[str, ...]:
    """The kind of each code of the feed: a uniform draw from it is a uniform draw of the feed's codes."""
    return tuple(taxonomy.subcategory_for(feed, code).code for code in taxonomy.feed_codes(feed))


@cache
def _feeds_of(kind: str) -> tuple[tuple[str, ...], list[float]]:
    """The feeds that report a kind and their cumulative FEED_WEIGHTS, for `random.choices`."""
    feeds = tuple(codes_by_kind()[kind])
    return feeds, list(itertools.accumulate(FEED_WEIGHTS[f] for f in feeds))


FEED_CUM_WEIGHTS = list(itertools.accumulate(FEED_WEIGHTS[f] for f in FEEDS))


def _report_count(gen: Gen, kind: str, mix: Mix) -> int:
    """1 mostly; else 2-8 with a geometric tail."""
    several = mix.several_reports_public if kind in PUBLIC else mix.several_reports_other
    if not gen.chance(several):
        return 1
    count = 2
    while count < MAX_REPORTS and gen.chance(0.45):
        count += 1
    return count


def _lag(gen: Gen, kind: str) -> timedelta:
    """Minutes to days after the first report, log-uniform (most soon, a tail days later)."""
    span = SHORT_SPAN if kind in SHORT_LIVED else MAX_SPAN
    lo, hi = math.log(MIN_LAG.total_seconds()), math.log(span.total_seconds())
    return timedelta(seconds=round(math.exp(gen.rng.uniform(lo, hi))))


def _code(gen: Gen, kind: str, feed: str, mix: Mix) -> str:
    """The code a report is filed under: a POS resident sometimes picks a neighbouring category."""
    if feed == "pos" and kind in NEIGHBOURS and gen.chance(mix.wrong_category):
        return codes_by_kind()[gen.rng.choice(NEIGHBOURS[kind])]["pos"]
    return codes_by_kind()[kind][feed]


def _further_feed(gen: Gen, kind: str) -> str:
    feeds, cum_weights = _feeds_of(kind)
    return gen.rng.choices(feeds, cum_weights=cum_weights)[0]


def reports_of(
    gen: Gen, problem: Problem, first_feed: str, mix: Mix, *, text_key: str = "", first_text: str = ""
) -> list[Report]:
    """The problem's reports: the first at its start in `first_feed`, the others in any feed of its kind."""
    kind = problem.kind
    reports = [Report(problem, first_feed, _code(gen, kind, first_feed, mix), problem.start, text_key, first_text)]
    lags = sorted(_lag(gen, kind) for _ in range(_report_count(gen, kind, mix) - 1))
    for lag in lags:
        feed = _further_feed(gen, kind)
        reports.append(Report(problem, feed, _code(gen, kind, feed, mix), problem.start + lag, text_key))
    return reports


@dataclass
class Planned:
    """A day's plan: the problems in order, their reports, and the hard-negative pairs among them."""

    problems: list[Problem]
    reports: list[Report]
    negatives: list[tuple[str, str, str]]  # (kind, problem id, problem id)


class Planner:
    """Draws the problems of one day, numbering them; also used for the recurrences found after rendering."""

    def __init__(self, gen: Gen, day: date, mix: Mix) -> None:
        self.gen, self.day, self.mix = gen, day, mix
        self.count = 0

    def problem(self, kind: str, place: Place, start: datetime, repeat_of: str = "") -> Problem:
        self.count += 1
        return Problem(f"P{self.day:%Y%m%d}-{self.count:06d}", kind, place, start, repeat_of=repeat_of)

    def plan(self, lives: int) -> Planned:
        """Problems until `lives` reports are planned (a Safe City scene seen by several cameras is one)."""
        gen, mix = self.gen, self.mix
        planned = Planned([], [], [])
        while len(planned.reports) < lives:
            feed = gen.rng.choices(FEEDS, cum_weights=FEED_CUM_WEIGHTS)[0]
            kind = gen.rng.choice(_kinds_of(feed))
            municipality = gen.municipality()
            place = places.random_place(gen.rng, PLACE_KINDS.get(kind, "building"), municipality)
            first = self.problem(kind, place, gen.moment_in(self.day))
            group: list[tuple[Problem, list[Report]]] = []
            negative = ""
            short = texts.SHORT_TEXTS.get(kind, "") if feed == "pos" else ""
            if kind == "roads.pothole" and gen.chance(mix.pothole_100m):
                negative = "pothole_100m"
                group.append((first, reports_of(gen, first, feed, mix)))
                twin = self.problem(kind, _along(gen, place, 10), gen.moment_in(self.day))
                group.append((twin, reports_of(gen, twin, _further_feed(gen, kind), mix)))
            elif kind == "housing_utilities.heating" and gen.chance(mix.heating_and_water):
                negative = "heating_and_water"
                group.append((first, reports_of(gen, first, feed, mix)))
                water = self.problem("housing_utilities.water", place, gen.moment_in(self.day))
                further = _further_feed(gen, water.kind)
                group.append((water, reports_of(gen, water, further, mix, text_key="housing_utilities.hot_water")))
            elif short and gen.chance(mix.same_text):
                negative = "same_text"
                group.append((first, reports_of(gen, first, feed, mix, first_text=short)))
                elsewhere = gen.rng.choice([m for m in places.CENTRES if m != municipality])
                there = places.random_place(gen.rng, PLACE_KINDS.get(kind, "building"), elsewhere)
                twin = self.problem(kind, there, gen.moment_in(self.day))
                group.append((twin, reports_of(gen, twin, "pos", mix, first_text=short)))
            else:
                group.append((first, reports_of(gen, first, feed, mix)))
            kept = 0
            for problem, reports in group:
                room = lives - len(planned.reports)
                if room <= 0:
                    break
                planned.problems.append(problem)
                planned.reports += reports[:room]
                kept += 1
            if negative and kept == len(group):
                planned.negatives.append((negative, group[0][0].problem_id, group[1][0].problem_id))
        return planned

    def recurrence(self, earlier: Problem, resolved: datetime) -> tuple[Problem, list[Report]]:
        """The earlier problem back at its place, 14-42 days after its last resolution event."""
        gen = self.gen
        lo, hi = RECURRENCE_DAYS
        start = resolved + timedelta(seconds=round(gen.rng.uniform(lo * 86_400, hi * 86_400)))
        problem = self.problem(earlier.kind, earlier.place, start, repeat_of=earlier.problem_id)
        feed = _further_feed(gen, earlier.kind)
        return problem, reports_of(gen, problem, feed, self.mix)


def _along(gen: Gen, place: Place, houses: int) -> Place:
    """A point `houses` spacings further along the same street (or back, near its end), give or take one."""
    street = place.street
    step = houses + gen.rng.uniform(-1, 1)
    position = place.position + step if place.position + step <= street.houses else place.position - step
    return places.point(street, round(max(1.0, position), 1))


def lone_report(gen: Gen, feed: str, created: datetime, uid: int) -> Report:
    """A report of its own one-report problem (the live stream, which has no plan)."""
    kind = gen.rng.choice(_kinds_of(feed))
    place = places.random_place(gen.rng, PLACE_KINDS.get(kind, "building"), gen.municipality())
    problem = Problem(f"P-live-{uid}", kind, place, created)
    return Report(problem, feed, codes_by_kind()[kind][feed], created)
