"""The generator's real-world problems are a sound ground truth for cross-channel linkage: every landed appeal
has a problem, the reports of one problem agree with it (kind, place, time), the hard negatives are there and
are distinct problems, every repeat comes after its earlier problem was resolved in the data, and all of it
is reproducible from the seed."""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cur.schema import Appeal
from streams.generator import FEEDS, NO_QUIRKS, SINGLE, RawEvent, Truth, generate_day, generate_days
from streams.generator import places as places_module
from streams.generator.__main__ import main as cli
from streams.generator.problems import MAX_SPAN, NEGATIVE_KINDS, NEIGHBOURS, RECURRENCE_DAYS, Problem
from tests.unit.test_generator import normalize_all

MSK = ZoneInfo("Europe/Moscow")
DAYS = [date(2026, 11, 10) + timedelta(days=n) for n in range(6)]
BURST_S = 301  # a Safe City burst's cameras fire within five minutes of the first
AppealKey = tuple[str, str]


@pytest.fixture(scope="module")
def world() -> tuple[list[RawEvent], Truth, dict[AppealKey, Appeal]]:
    """Six days with every quirk, and what the normalizers make of them (the canonical appeals)."""
    events, truth = generate_days(DAYS, 500, 13, MSK)
    outcome = normalize_all(events)
    assert outcome.mismatches == []
    appeals = {(feed, source_id): a for feed in FEEDS for source_id, a in outcome.appeal_records[feed].items()}
    return events, truth, appeals


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    north = (a[0] - b[0]) * places_module.METRES_PER_DEGREE
    east = (a[1] - b[1]) * places_module.METRES_PER_DEGREE * math.cos(math.radians(a[0]))
    return math.hypot(north, east)


def resolved_at(truth: Truth, appeals: set[AppealKey]) -> list[datetime]:
    """The landed resolution events of these appeals."""
    ids = {source_id for _feed, source_id in appeals}
    return [
        at
        for feed in FEEDS
        for source_id, at, status in truth.feeds[feed].status_events
        if status == "resolved" and source_id in ids and (feed, source_id) in appeals
    ]


def test_every_landed_appeal_has_a_known_problem(world: tuple[list[RawEvent], Truth, dict]) -> None:
    _, truth, appeals = world
    landed = {(feed, source_id) for feed in FEEDS for source_id in truth.feeds[feed].appeals}
    assert set(truth.problem_of) == landed == set(appeals)
    assert set(truth.problem_of.values()) == set(truth.problems)
    clusters = truth.clusters()
    assert sum(len(m) for m in clusters.values()) == len(landed)
    for problem_id, problem in truth.problems.items():
        assert problem.problem_id == problem_id
        assert problem.municipality in places_module.CENTRES


def test_reports_of_one_problem_agree_with_it(world: tuple[list[RawEvent], Truth, dict]) -> None:
    """Same kind (or a neighbouring category on POS), same municipality, the street and house of the place in
    the address, coordinates within ~50 m of it (along a segment: within it), all within MAX_SPAN."""
    _, truth, appeals = world
    slips = Counter()
    for problem_id, members in truth.clusters().items():
        problem = truth.problems[problem_id]
        place = problem.place
        for key in members:
            appeal = appeals[key]
            assert appeal.municipality_code == problem.municipality
            if appeal.subcategory != problem.kind:
                assert key[0] == "pos" and appeal.subcategory in NEIGHBOURS[problem.kind], (key, problem)
                slips["pos"] += 1
            if appeal.lat is not None and appeal.lon is not None:
                assert metres((appeal.lat, appeal.lon), problem.place.point) <= place.extent_m + 50, (key, problem)
            if appeal.address:  # (a quirk leaves it out sometimes; Safe City has none)
                assert place.street.street.core in appeal.address, (appeal.address, place)
                houses = {int(n) for n in re.findall(r"\d+", appeal.address)}
                assert houses & set(range(place.first, place.last + 1)), (appeal.address, place)
        created = [appeals[key].created_at for key in members]
        assert problem.start <= min(created)
        assert max(created) - problem.start <= MAX_SPAN + timedelta(seconds=BURST_S)
    pos_appeals = sum(feed == "pos" for feed, _ in truth.problem_of)
    assert 0 < slips["pos"] < 0.1 * pos_appeals  # a resident sometimes picks the neighbouring category


def test_problems_span_feeds_and_most_have_one_report(world: tuple[list[RawEvent], Truth, dict]) -> None:
    _, truth, _ = world
    clusters = truth.clusters()
    sizes = Counter(len(members) for members in clusters.values())
    assert sizes[1] > 0.6 * len(clusters)
    assert any(size >= 5 for size in sizes)
    cross = [m for m in clusters.values() if len({feed for feed, _ in m}) > 1]
    assert len(cross) > 0.03 * len(clusters)
    assert {frozenset(feed for feed, _ in m) for m in cross} >= {
        frozenset({"pos", "safe_city"}),
        frozenset({"pos", "112"}),
        frozenset({"pos", "housing"}),
    }
    # A Safe City scene seen by several cameras is one problem.
    for burst in truth.bursts:
        assert len({truth.problem_of[("safe_city", source_id)] for source_id in burst}) == 1


def test_every_hard_negative_occurs_and_is_two_distinct_problems(world: tuple[list[RawEvent], Truth, dict]) -> None:
    _, truth, appeals = world
    negatives = truth.hard_negatives()
    assert set(negatives) == set(NEGATIVE_KINDS)
    clusters = truth.clusters()
    for kind, pairs in negatives.items():
        assert len(pairs) >= 3, kind
        for a, b in pairs:
            first, second = truth.problems[a], truth.problems[b]
            assert a != b and not clusters[a] & clusters[b]
            if kind == "pothole_100m":
                assert first.kind == second.kind == "roads.pothole"
                assert first.place.street == second.place.street
                assert 80 <= metres(first.place.point, second.place.point) <= 120
                assert first.start.astimezone(MSK).date() == second.start.astimezone(MSK).date()
            elif kind == "heating_and_water":
                assert (first.kind, second.kind) == ("housing_utilities.heating", "housing_utilities.water")
                assert first.place == second.place and first.place.kind == "building"
                assert first.start.astimezone(MSK).date() == second.start.astimezone(MSK).date()
            elif kind == "same_text":
                assert first.kind == second.kind and first.municipality != second.municipality
                assert first.start.astimezone(MSK).date() == second.start.astimezone(MSK).date()
            else:
                assert kind == "repeat" and truth.repeats[b] == a
    # The short texts are really the same words in both municipalities (when both first reports landed).
    same = 0
    for a, b in negatives["same_text"]:
        texts = [{appeals[k].text for k in clusters[p] if k[0] == "pos"} for p in (a, b)]
        same += bool(texts[0] & texts[1])
    assert same >= 0.7 * len(negatives["same_text"])


def test_every_repeat_comes_after_its_earlier_problem_was_resolved(world: tuple[list[RawEvent], Truth, dict]) -> None:
    _, truth, appeals = world
    clusters = truth.clusters()
    assert truth.repeats
    for later_id, earlier_id in truth.repeats.items():
        later, earlier = truth.problems[later_id], truth.problems[earlier_id]
        assert (later.kind, later.place) == (earlier.kind, earlier.place)
        resolutions = resolved_at(truth, clusters[earlier_id])
        assert resolutions, f"{earlier_id} never looks resolved in the data"
        first_report = min(appeals[key].created_at for key in clusters[later_id])
        assert max(resolutions) < later.start <= first_report
        assert earlier.end is not None and earlier.end >= max(resolutions)
        lo, hi = RECURRENCE_DAYS
        assert timedelta(days=lo) <= later.start - earlier.end <= timedelta(days=hi)
    marked = truth.repeat_appeals()
    assert set(marked) <= set(truth.problem_of)
    assert marked == {key: truth.repeats[p] for key, p in truth.problem_of.items() if p in truth.repeats}


def test_one_building_has_one_management_company(world: tuple[list[RawEvent], Truth, dict]) -> None:
    _, truth, appeals = world
    companies: dict[object, set[str]] = {}
    complaints: Counter[object] = Counter()
    for key, problem_id in truth.problem_of.items():
        if key[0] == "housing":
            found = re.search(r"\(УК: (.+)\)$", appeals[key].text)
            assert found is not None
            place = truth.problems[problem_id].place
            companies.setdefault(place, set()).add(found.group(1))
            complaints[place] += 1
    assert companies and all(len(names) == 1 for names in companies.values())
    assert max(complaints.values()) > 1  # buildings with several complaints are there to check it on


def test_places_are_deterministic_and_addresses_agree_with_coordinates() -> None:
    street = places_module.streets("29701000")[0]
    assert street == places_module.streets.__wrapped__("29701000")[0]
    a, b = places_module.building(street, 10).point, places_module.building(street, 20).point
    assert 95 <= metres(a, b) <= 105
    assert len({s.street.name for s in places_module.streets("29701000")}) == len(places_module.streets("29701000"))


def test_problems_are_reproducible_from_the_seed() -> None:
    a = generate_day(DAYS[0], 300, 5, MSK)
    b = generate_day(DAYS[0], 300, 5, MSK)
    c = generate_day(DAYS[0], 300, 6, MSK)
    assert a.truth.problem_of == b.truth.problem_of and a.truth.problems == b.truth.problems
    assert a.truth.negatives == b.truth.negatives and a.truth == b.truth
    assert a.truth.problems != c.truth.problems


def test_until_keeps_only_problems_seen_by_then() -> None:
    until = datetime(2026, 11, 21, 12, 0, tzinfo=MSK)  # before any recurrence: 14+ days after a resolution
    cut = generate_day(DAYS[0], 400, 3, MSK, until=until).truth
    full = generate_day(DAYS[0], 400, 3, MSK).truth
    assert set(cut.problem_of) < set(full.problem_of)
    assert set(cut.problems) == set(cut.problem_of.values()) < set(full.problems)
    assert not cut.repeats and full.repeats  # recurrences come weeks later
    for problem_id, problem in cut.problems.items():
        assert problem.end is None or problem.end <= until
        assert full.problems[problem_id].end is None or problem.end in (None, full.problems[problem_id].end)
    assert any(p.end is None and full.problems[p.problem_id].end is not None for p in cut.problems.values())


def test_merged_days_keep_every_problem() -> None:
    days = DAYS[:2]
    _, merged = generate_days(days, 150, 8, MSK)
    singles = [generate_day(day, 150, 8, MSK).truth for day in days]
    assert merged.problem_of == {**singles[0].problem_of, **singles[1].problem_of}
    assert set(merged.problems) == set(singles[0].problems) | set(singles[1].problems)
    assert merged.negatives == singles[0].negatives | singles[1].negatives
    assert not set(singles[0].problems) & set(singles[1].problems)


def test_single_mix_gives_one_report_per_problem() -> None:
    generated = generate_day(DAYS[0], 300, 4, MSK, quirks=NO_QUIRKS, mix=SINGLE)
    truth = generated.truth
    assert len(truth.problems) == 300 == len(truth.problem_of)
    assert not truth.negatives and not truth.repeats
    problems: list[Problem] = list(truth.problems.values())
    assert all(p.start.astimezone(MSK).date() == DAYS[0] for p in problems)


def test_dry_run_prints_problem_statistics(capsys: pytest.CaptureFixture[str]) -> None:
    cli(["--days", "2", "--appeals-per-day", "200", "--end", "2026-11-20", "--dry-run"])
    out = capsys.readouterr().out
    assert re.search(r"problems: \d+ for \d+ appeals; \d+ reported more than once, \d+ across feeds", out)
    assert "appeals per problem: 1: " in out and "hard negatives" in out and "repeats: " in out
