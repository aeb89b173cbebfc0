"""Stand-in for the four source systems, reproducible from a seed, that knows the ground truth of what it sent.

The world: real-world problems (`problems`: a pothole, a cold building), each at a place of a deterministic
street model (`places`), reported once or several times across the feeds, with hard negatives on purpose
and recurrences of resolved problems. One module per source (`pos`, `emergency_112`, `safe_city`, `housing`)
models how that system really sends a report's life: POS an appeal and then separate status changes over
the following days, 112 a card re-sent on each update, Safe City detections with bursts and heartbeat noise,
the housing inspectorate a complaint and then inspection, order and result records. `core.finish` adds what
every real feed does: late and out-of-order delivery, exact replays, Windows-1251, missing optional fields,
malformed records.

`generate_day(day, appeals, seed, region_tz)` returns the raw events in the order their sources send them
and a `Truth`: per feed the exact set of canonical appeals, the distinct status events (after replays
collapse on their ClickHouse key), the current status per appeal, rejected records by reason kind,
filtered records, unmapped codes; the Safe City burst groups; appeals per region-local day; the problem of
every landed appeal, the problems, their repeat relations and the hard-negative pairs.

    python -m streams.generator --days 3 --appeals-per-day 2000     # history, published as fast as possible
    python -m streams.generator --rate 20 --duration 600            # a live stream at 20 appeals per second
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cur import settings as settings_module
from streams import control_totals
from streams.generator import emergency_112, housing, pos, safe_city
from streams.generator.core import (
    FEED_WEIGHTS,
    FEEDS,
    NO_QUIRKS,
    QUIRKS,
    Breaker,
    Draft,
    Expect,
    FeedTruth,
    Gen,
    Quirks,
    RawEvent,
    Truth,
    deliver,
    happened,
)
from streams.generator.problems import MIX, SINGLE, Mix, Planner, Problem, Report

__all__ = [
    "FEEDS",
    "FEED_WEIGHTS",
    "MIX",
    "NO_QUIRKS",
    "QUIRKS",
    "SINGLE",
    "Expect",
    "FeedTruth",
    "GeneratedDay",
    "Mix",
    "Problem",
    "Quirks",
    "RawEvent",
    "Truth",
    "generate_day",
    "generate_days",
    "publish",
]

Maker = Callable[[Gen, int, datetime, Report | None], list[Draft]]
MAKERS: dict[str, Maker] = {
    "pos": pos.appeal,
    "112": emergency_112.incident,
    "safe_city": safe_city.scene,
    "housing": housing.complaint,
}
BREAKERS: dict[str, Breaker] = {
    "pos": pos.break_record,
    "112": emergency_112.break_record,
    "safe_city": safe_city.break_record,
    "housing": housing.break_record,
}


@dataclass
class GeneratedDay:
    day: date
    events: list[RawEvent]  # in the order the sources send them
    truth: Truth


def day_uid(day: date, n: int) -> int:
    """A source-wide unique number of the n-th appeal of a day (ids of every feed derive from it)."""
    return int(f"{day:%Y%m%d}{n:06d}")


def generate_day(
    day: date,
    appeals: int,
    seed: int,
    region_tz: ZoneInfo,
    *,
    until: datetime | None = None,
    quirks: Quirks = QUIRKS,
    mix: Mix = MIX,
) -> GeneratedDay:
    """The raw events of the problems that start on the region-local `day`, and their ground truth.

    `appeals` counts the reports of those problems (a Safe City scene seen by several cameras is one); the
    exact number of canonical appeals is in the truth. Most reports are created that day; a problem's later
    reports follow within `problems.MAX_SPAN`, and a recurrence of a problem resolved in the data (its
    reports repeats of it) 14-42 days after its last resolution, so a day stays independent of the others.
    Status changes follow over the next days; `until` (aware) leaves out whatever would happen after it,
    so a history ends at "now". The same (day, appeals, seed, quirks, mix) give the same events and truth.
    """
    gen = Gen(random.Random(f"{seed}:{day.isoformat()}"), region_tz, quirks=quirks, until=until, export_day=day)
    planner = Planner(gen, day, mix)
    planned = planner.plan(appeals)
    rendered = _Rendered()
    drafts = rendered.add(gen, day, planned.reports, 0)
    drafts += safe_city.heartbeats(gen, day, round(appeals * quirks.heartbeats_per_appeal))
    delivered = deliver(gen, drafts, BREAKERS)
    found = rendered.resolved_in_the_data(delivered)
    back: list[Report] = []
    for earlier in planned.problems:
        if earlier.problem_id in found and gen.chance(mix.recurrence):
            problem, reports = planner.recurrence(earlier, rendered.resolved_at[earlier.problem_id])
            planned.problems.append(problem)
            planned.negatives.append(("repeat", earlier.problem_id, problem.problem_id))
            back += reports
    delivered += deliver(gen, rendered.add(gen, day, back, len(planned.reports)), BREAKERS)
    events = happened(gen, delivered)
    events = sorted(events + control_records(day, events, region_tz, until), key=lambda e: e.sent_at)
    ends = {
        problem_id: at for problem_id, at in rendered.resolved_at.items() if until is None or at <= until
    }  # a problem whose last resolution is still to come is open "now"
    found_problems = [replace(p, end=ends.get(p.problem_id)) for p in planned.problems]
    truth = Truth.of(events, region_tz, gen.personal_data, problems=found_problems, negatives=planned.negatives)
    return GeneratedDay(day, events, truth)


class _Rendered:
    """What the feed modules made of a day's reports: which appeal reports which problem, and when each
    problem's latest resolution event happens (before quirks: what the source systems record)."""

    def __init__(self) -> None:
        self.problem_of: dict[tuple[str, str], str] = {}  # (feed, source_id) -> problem id
        self.resolved_at: dict[str, datetime] = {}

    def add(self, gen: Gen, day: date, reports: list[Report], first: int) -> list[Draft]:
        """The drafts of the reports, numbered from `first`; each appeal tagged with its problem."""
        drafts: list[Draft] = []
        for n, report in enumerate(reports, start=first):
            problem_id = report.problem.problem_id
            made = MAKERS[report.feed](gen, day_uid(day, n), report.at, report)
            for draft in made:
                expect = draft.expect
                if expect.appeal is not None:
                    draft.expect = Expect(
                        expect.outcome, expect.appeal, expect.events, burst=expect.burst, problem=problem_id
                    )
                    self.problem_of[(draft.feed, expect.appeal[0])] = problem_id
                for _source_id, at, status in expect.events:
                    latest = self.resolved_at.get(problem_id)
                    if status == "resolved" and (latest is None or at > latest):
                        self.resolved_at[problem_id] = at
            drafts += made
        return drafts

    def resolved_in_the_data(self, delivered: list[tuple[Draft, list[RawEvent]]]) -> set[str]:
        """The problems that look resolved once landed: an appeal of theirs landed with a resolved event."""
        landed: set[tuple[str, str]] = set()
        resolved: set[tuple[str, str]] = set()
        for _draft, events in delivered:
            expect = events[0].expect
            if expect.outcome != "ok":
                continue
            if expect.appeal is not None:
                landed.add((events[0].feed, expect.appeal[0]))
            resolved.update((events[0].feed, source_id) for source_id, _at, s in expect.events if s == "resolved")
        return {self.problem_of[key] for key in landed & resolved if key in self.problem_of}


def control_records(day: date, events: list[RawEvent], region_tz: ZoneInfo, until: datetime | None) -> list[RawEvent]:
    """Each feed's control total of the day's export (streams/control_totals.py): the records sent so far,
    by the kind the exporter made them, sent after the last of them. When some of them are only sent after
    `until` (late deliveries, replays), also the control total as of `until`, which the later one replaces:
    a history cut at `until` (the bulk loader) has the one that counts what it holds."""
    end = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=region_tz).astimezone(UTC)
    last = max((e.sent_at for e in events), default=end) + timedelta(seconds=1)
    cuts = [last]
    if until is not None and until < last:
        cuts.insert(0, until)
    controls = []
    for sent_at in cuts:
        for feed in FEEDS:
            kinds = Counter(e.sent_as for e in events if e.feed == feed and e.sent_at <= sent_at)
            value = json.dumps(control_totals.render(feed, day, kinds, sent_at, region_tz)).encode("utf-8")
            key = f"control:{day.isoformat()}".encode()
            expect = Expect(outcome="control")
            controls.append(RawEvent(feed, key, value, "control", sent_at, expect, day, "control"))
    return controls


def generate_days(
    days: Iterable[date],
    appeals_per_day: int,
    seed: int,
    region_tz: ZoneInfo,
    *,
    until: datetime | None = None,
    quirks: Quirks = QUIRKS,
    mix: Mix = MIX,
) -> tuple[list[RawEvent], Truth]:
    """Several days merged in send order: late records of earlier days arrive among later days' records."""
    events: list[RawEvent] = []
    truth = Truth(region_tz)
    for day in days:
        generated = generate_day(day, appeals_per_day, seed, region_tz, until=until, quirks=quirks, mix=mix)
        events += generated.events
        truth = truth.merge(generated.truth)
    events.sort(key=lambda e: e.sent_at)
    return events, truth


async def publish(
    events: list[RawEvent], settings: settings_module.Settings, *, progress: Callable[[int], None] | None = None
) -> None:
    """Send to the raw topics as fast as Kafka takes them; the key (the appeal's source id) keeps every
    record of one appeal in one partition, hence in order for one consumer."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=20)
    await producer.start()
    try:
        for n, event in enumerate(events, start=1):
            headers = control_totals.header(event.export_day) if event.export_day is not None else None
            await producer.send(settings.raw_topics[event.feed], key=event.key, value=event.value, headers=headers)
            if progress is not None and n % 5000 == 0:
                progress(n)
        await producer.flush()
    finally:
        await producer.stop()
