"""What the four stand-in source systems share: raw events, the ground truth, quirks, places and people.

Each feed module (pos, emergency_112, safe_city, housing) turns one appeal's life into `Draft`s: the records
its source system would send, each with the canonical outcome the generator *intends* (`Expect`), worked
out from its own model of the appeal, not by calling the normalizers. `finish` then applies the quirks
every real feed has (late and out-of-order delivery, exact replays, Windows-1251, malformed records) and
adjusts the expectation of each record it breaks. `Truth` adds up the expectations of what was sent.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from cur import sla, taxonomy
from cur.schema import STATUS_RANK
from streams.generator.places import CAPITAL, CENTRES

if TYPE_CHECKING:
    from streams.generator.problems import Problem

FEEDS: tuple[str, ...] = ("pos", "112", "safe_city", "housing")
# Feed shares of a day's appeals: the portal dominates, as in the articles.
FEED_WEIGHTS: Mapping[str, float] = MappingProxyType({"pos": 0.55, "112": 0.15, "safe_city": 0.2, "housing": 0.1})
EventKey = tuple[str, datetime, str]  # (source_id, event_at, status): a status event's key within one source
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
OUTSIDE_CAPITAL = [m for m in CENTRES if m != CAPITAL]


@dataclass(frozen=True)
class Quirks:
    """How often each quirk happens; `NO_QUIRKS` gives a clean feed (for tests that need one)."""

    malformed: float = 0.02  # broken records (truncated JSON, unknown codes, missing ids, bad times, ...)
    replay: float = 0.03  # exact byte-for-byte resend of a record, as after a producer reconnect
    late: float = 0.03  # a record delivered 6 h to 3 days after the change it describes
    out_of_order: float = 0.06  # POS: the appeal itself delivered after its first status changes
    cp1251: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({"pos": 0.03, "112": 0.1, "safe_city": 0.0, "housing": 0.4})
    )  # legacy exporters that write Windows-1251
    ascii_escaped: float = 0.2  # JSON with \\uXXXX escapes instead of UTF-8 text
    missing_optional: float = 0.06  # an optional field left out
    personal_data_in_text: float = 0.08  # the applicant writes a phone, e-mail or name into free text
    invalid_contact: float = 0.05  # a phone or e-mail that cannot be canonicalized
    heartbeats_per_appeal: float = 0.4  # Safe City camera pings per appeal of the day
    low_confidence: float = 0.12  # Safe City detections below the normalizer's threshold
    burst: float = 0.25  # Safe City: one scene seen by 2-4 cameras within minutes


QUIRKS = Quirks()
NO_QUIRKS = Quirks(
    malformed=0,
    replay=0,
    late=0,
    out_of_order=0,
    cp1251=MappingProxyType({}),
    ascii_escaped=0,
    missing_optional=0,
    personal_data_in_text=0,
    invalid_contact=0,
    heartbeats_per_appeal=0,
    low_confidence=0,
    burst=0,
)


@dataclass(frozen=True)
class Expect:
    """What the pipeline must make of one raw record."""

    outcome: str = "ok"  # "ok", "filtered" (a valid record without an appeal), "rejected" or "control"
    appeal: tuple[str, datetime] | None = None  # (source_id, created_at) of the appeal it carries
    events: frozenset[EventKey] = frozenset()
    reason_kind: str = ""  # for "rejected": one of streams.parsing.REASON_KINDS
    burst: str = ""  # Safe City: the scene this detection belongs to, when several cameras saw it
    problem: str = ""  # the real-world problem its appeal reports (problems.Problem.problem_id)


@dataclass(frozen=True)
class RawEvent:
    feed: str
    key: bytes
    value: bytes
    kind: str  # "appeal", "update" (a re-sent snapshot), "status", "noise", "malformed", "replay" or "control"
    sent_at: datetime = EPOCH  # when the source system sends it; events are published in this order
    expect: Expect = Expect()
    # The day of the export it belongs to (Kafka header `export-day`, streams/control_totals.py) and the
    # kind its exporter counts it as (a Draft's kind: a malformed or replayed record keeps its own).
    export_day: date | None = None
    sent_as: str = ""


@dataclass
class FeedTruth:
    """The ground truth of one feed: what the normalized outcome must be, exactly."""

    records: int = 0  # raw records sent, replays included
    replays: int = 0  # of which exact resends of an earlier record
    appeals: dict[str, datetime] = field(default_factory=dict)  # distinct source ids -> created_at
    status_events: set[EventKey] = field(default_factory=set)  # distinct after replays collapse
    rejected_by_kind: Counter[str] = field(default_factory=Counter)  # every rejected record, replays included
    filtered: int = 0  # valid records without an appeal (heartbeats, unsure detections), replays included

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_kind.values())

    @property
    def unmapped(self) -> int:
        return self.rejected_by_kind["unmapped_code"]

    def current_status(self) -> dict[str, str]:
        """Per source id: the latest event by time, ties by lifecycle order (as the appeal_state view)."""
        latest: dict[str, tuple[datetime, int, str]] = {}
        for source_id, at, status in self.status_events:
            candidate = (at, STATUS_RANK[status], status)
            if source_id not in latest or candidate[:2] > latest[source_id][:2]:
                latest[source_id] = candidate
        return {source_id: value[2] for source_id, value in latest.items()}

    def merge(self, other: FeedTruth) -> FeedTruth:
        return FeedTruth(
            records=self.records + other.records,
            replays=self.replays + other.replays,
            appeals={**self.appeals, **other.appeals},
            status_events=self.status_events | other.status_events,
            rejected_by_kind=self.rejected_by_kind + other.rejected_by_kind,
            filtered=self.filtered + other.filtered,
        )


AppealKey = tuple[str, str]  # (source, source_id): an appeal, as ClickHouse keys it


@dataclass
class Truth:
    """The ground truth of a generated set of raw events, per feed, plus what spans feeds.

    Counts of records (rejected, filtered) are per Kafka record, as the stream workers count them, so a
    replayed broken record counts twice; appeals and status events are sets, as ClickHouse collapses them.

    Problems (streams/generator/problems.py): `problem_of` maps every landed appeal to its problem;
    `problems` holds the problems with at least one landed appeal, `negatives` the hard-negative pairs
    (kind, problem id, problem id) whose two problems both landed. Checked in tests/unit/test_generator_problems.py.
    """

    region_tz: ZoneInfo
    feeds: dict[str, FeedTruth] = field(default_factory=lambda: {feed: FeedTruth() for feed in FEEDS})
    burst_members: dict[str, set[str]] = field(default_factory=dict)  # scene -> Safe City event ids landed
    personal_data: set[str] = field(default_factory=set)  # valid personal data sent, to check for leaks
    problem_of: dict[AppealKey, str] = field(default_factory=dict)  # landed appeal -> problem id
    problems: dict[str, Problem] = field(default_factory=dict)  # problem id -> problem (landed ones)
    negatives: set[tuple[str, str, str]] = field(default_factory=set)  # (kind, problem id, problem id)

    @classmethod
    def of(
        cls,
        events: Iterable[RawEvent],
        region_tz: ZoneInfo,
        personal_data: Iterable[str] = (),
        *,
        problems: Iterable[Problem] = (),
        negatives: Iterable[tuple[str, str, str]] = (),
    ) -> Truth:
        truth = cls(region_tz, personal_data=set(personal_data))
        for event in events:
            truth.add(event)
        landed = set(truth.problem_of.values())
        truth.problems = {p.problem_id: p for p in problems if p.problem_id in landed}
        truth.negatives = {n for n in negatives if n[1] in landed and n[2] in landed}
        return truth

    def add(self, event: RawEvent) -> None:
        feed = self.feeds[event.feed]
        expect = event.expect
        feed.records += 1
        feed.replays += event.kind == "replay"
        if expect.outcome == "control":  # the export's control total: stored, counts nothing itself
            return
        if expect.outcome == "rejected":
            feed.rejected_by_kind[expect.reason_kind] += 1
            return
        if expect.outcome == "filtered":
            feed.filtered += 1
            return
        if expect.appeal is not None:
            source_id, created_at = expect.appeal
            feed.appeals[source_id] = created_at
            if expect.burst:
                self.burst_members.setdefault(expect.burst, set()).add(source_id)
            if expect.problem:
                self.problem_of[(event.feed, source_id)] = expect.problem
        feed.status_events |= expect.events

    def __call__(self) -> dict[str, Counter[str]]:
        """Per-feed counters of the generator's first API (`generated.truth()`): distinct appeals ("appeal"),
        rejected records ("malformed"), exact replays sent ("replay"), filtered records ("filtered").
        Kept so that callers written against it (tests/e2e/test_stream_faults.py) keep working."""
        return {
            name: Counter(
                appeal=len(feed.appeals), malformed=feed.rejected, replay=feed.replays, filtered=feed.filtered
            )
            for name, feed in self.feeds.items()
        }

    def merge(self, other: Truth) -> Truth:
        members = {scene: set(ids) for scene, ids in self.burst_members.items()}
        for scene, ids in other.burst_members.items():
            members.setdefault(scene, set()).update(ids)
        return Truth(
            self.region_tz,
            {feed: self.feeds[feed].merge(other.feeds[feed]) for feed in FEEDS},
            members,
            self.personal_data | other.personal_data,
            {**self.problem_of, **other.problem_of},
            {**self.problems, **other.problems},
            self.negatives | other.negatives,
        )

    @property
    def bursts(self) -> list[frozenset[str]]:
        """Safe City appeals that are one scene seen by several cameras (2+ of them landed as appeals)."""
        return sorted((frozenset(ids) for ids in self.burst_members.values() if len(ids) > 1), key=sorted)

    def appeals_per_day(self) -> Counter[date]:
        """Distinct appeals of every feed per region-local day of created_at."""
        return Counter(
            created.astimezone(self.region_tz).date()
            for feed in self.feeds.values()
            for created in feed.appeals.values()
        )

    # --- problems -------------------------------------------------------------------------------------------

    def clusters(self) -> dict[str, set[AppealKey]]:
        """Problem id -> its landed appeals: the true clusters, for pairwise and B-cubed scores."""
        members: dict[str, set[AppealKey]] = {}
        for appeal, problem_id in self.problem_of.items():
            members.setdefault(problem_id, set()).add(appeal)
        return members

    @property
    def repeats(self) -> dict[str, str]:
        """Problem id -> the earlier problem it is a recurrence of (both landed)."""
        return {p.problem_id: p.repeat_of for p in self.problems.values() if p.repeat_of in self.problems}

    def repeat_appeals(self) -> dict[AppealKey, str]:
        """Every landed appeal that is a repeat -> the earlier problem's id (what `is_repeat` must mark)."""
        repeats = self.repeats
        return {appeal: repeats[p] for appeal, p in self.problem_of.items() if p in repeats}

    def hard_negatives(self) -> dict[str, list[tuple[str, str]]]:
        """Kind -> pairs of distinct problems that look alike on purpose (see problems.NEGATIVE_KINDS)."""
        pairs: dict[str, list[tuple[str, str]]] = {}
        for kind, a, b in sorted(self.negatives):
            pairs.setdefault(kind, []).append((a, b))
        return pairs

    def summary(self) -> list[str]:
        lines = []
        for name, feed in self.feeds.items():
            kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(feed.rejected_by_kind.items()))
            lines.append(
                f"{name:>9}: {feed.records} records, {len(feed.appeals)} appeals, {len(feed.status_events)} status"
                f" events, {feed.rejected} rejected ({kinds or 'none'}), {feed.filtered} filtered"
            )
        lines.append(f"safe_city bursts: {len(self.bursts)} scenes seen by several cameras")
        return lines + self.problem_summary()

    def problem_summary(self) -> list[str]:
        clusters = self.clusters()
        if not clusters:
            return []
        sizes = Counter(min(len(members), 9) for members in clusters.values())
        cross = sum(len({source for source, _ in members}) > 1 for members in clusters.values())
        several = sum(n for size, n in sizes.items() if size > 1)
        negatives = ", ".join(f"{kind} {len(pairs)}" for kind, pairs in self.hard_negatives().items())
        return [
            f"problems: {len(clusters)} for {len(self.problem_of)} appeals;"
            f" {several} reported more than once, {cross} across feeds",
            "  appeals per problem: " + ", ".join(f"{'9+' if k == 9 else k}: {sizes[k]}" for k in sorted(sizes)),
            f"  hard negatives (pairs of distinct problems): {negatives or 'none'}",
            f"  repeats: {len(self.repeats)} problems back after being resolved,"
            f" {len(self.repeat_appeals())} repeat appeals",
        ]


@dataclass
class Draft:
    """One record a source system will send, before quirks."""

    feed: str
    key: str
    payload: dict[str, Any]
    at: datetime  # the moment of the change it describes
    kind: str  # "appeal", "update", "status" or "noise"
    expect: Expect
    defects: tuple[str, ...]  # the reason kinds this record type can be broken into
    sent_at: datetime | None = None  # set to force a delivery time (out-of-order); else at + transmission


# --- places, people, texts -----------------------------------------------------------------------------

SURNAMES = (
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
)
MALE = ("Александр", "Дмитрий", "Максим", "Сергей", "Андрей", "Алексей", "Артём", "Никита", "Михаил", "Роман")
FEMALE = ("Анна", "Мария", "Елена", "Ольга", "Татьяна", "Наталья", "Ирина", "Екатерина", "Светлана", "Юлия")
PATRONYMIC_ROOTS = ("Александров", "Дмитриев", "Сергеев", "Андреев", "Алексеев", "Николаев", "Петров", "Викторов")
_TRANSLIT = str.maketrans(
    {
        **dict(zip("абвгдезийклмнопрстуфыэ", "abvgdeziyklmnoprstufye", strict=True)),
        **{"ё": "e", "ж": "zh", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ю": "yu", "я": "ya"},
        **{"ъ": "", "ь": ""},
    }
)
MAIL_DOMAINS = ("mail.ru", "yandex.ru", "gmail.com", "rambler.ru", "bk.ru")
INVALID_PHONES = ("8-910-12", "12345", "+7 (910) 12-34", "доб. 204")
INVALID_EMAILS = ("ivanov@", "почта не указана@", "petrova mail.ru", "@yandex.ru")


@dataclass(frozen=True)
class Person:
    fio: str
    phone: str | None
    email: str | None
    esia_id: str


def translit(text: str) -> str:
    return text.lower().translate(_TRANSLIT)


class Gen:
    """The random source and the shared makers of one generation run (a day, or a live stream)."""

    def __init__(
        self,
        rng: random.Random,
        region_tz: ZoneInfo,
        *,
        quirks: Quirks = QUIRKS,
        scale: float = 1.0,
        until: datetime | None = None,
        export_day: date | None = None,
    ) -> None:
        self.rng = rng
        self.export_day = export_day  # the export its records belong to (generate_day's day)
        self.tz = region_tz
        self.quirks = quirks
        self.scale = scale  # lifecycle delays are multiplied by it (a live stream can run faster than life)
        self.until = until  # nothing that happens later is generated (history up to "now")
        self.personal_data: set[str] = set()

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def after(self, moment: datetime, lo_s: float, hi_s: float) -> datetime:
        """A later moment, whole seconds, at least one second later."""
        return moment + timedelta(seconds=max(1, round(self.rng.uniform(lo_s, hi_s) * self.scale)))

    def moment_in(self, day: date) -> datetime:
        """A moment of the region-local day, daytime-heavy (most appeals arrive 07:00-23:00)."""
        start = datetime.combine(day, time(0, 0), tzinfo=self.tz)
        return (start + timedelta(seconds=int(self.rng.triangular(0, 86_399, 13 * 3600)))).astimezone(UTC)

    def municipality(self) -> str:
        # About 60% of appeals concern the regional capital (Kaluga's figure).
        return CAPITAL if self.chance(0.6) else self.rng.choice(OUTSIDE_CAPITAL)

    def phone(self) -> str:
        """A Russian mobile number in one of the ways people write it."""
        digits = f"9{self.rng.randint(0, 99):02d}{self.rng.randint(0, 9_999_999):07d}"
        self.personal_data.add(digits)
        a, b, c, d = digits[:3], digits[3:6], digits[6:8], digits[8:]
        return self.rng.choice(
            (f"+7{digits}", f"8 ({a}) {b}-{c}-{d}", f"8-{a}-{b}-{c}-{d}", f"+7 {a} {b} {c} {d}", f"8{digits}")
        )

    def person(self) -> Person:
        female = self.chance(0.55)
        surname = self.rng.choice(SURNAMES) + ("а" if female else "")
        first = self.rng.choice(FEMALE if female else MALE)
        patronymic = self.rng.choice(PATRONYMIC_ROOTS) + ("на" if female else "ич")
        fio = f"{surname} {first} {patronymic}"
        self.personal_data.add(fio)
        phone: str | None = None
        email: str | None = None
        if not self.chance(self.quirks.missing_optional * 3):
            phone = self.rng.choice(INVALID_PHONES) if self.chance(self.quirks.invalid_contact) else self.phone()
        if self.chance(0.6):
            if self.chance(self.quirks.invalid_contact):
                email = self.rng.choice(INVALID_EMAILS)
            else:
                email = (
                    f"{translit(surname)}.{translit(first)}{self.rng.randint(1, 99)}@{self.rng.choice(MAIL_DOMAINS)}"
                )
                self.personal_data.add(email)
        esia_id = str(1_000_000_000 + self.rng.randint(0, 10**8))
        self.personal_data.add(esia_id)
        return Person(fio, phone, email, esia_id)

    def with_personal_data(self, text: str, person: Person | None, phone: str | None = None) -> str:
        """Free text to which the applicant sometimes adds contact data of their own."""
        if not self.chance(self.quirks.personal_data_in_text):
            return text
        known = phone is not None and "".join(ch for ch in phone if ch.isdigit())[-10:] in self.personal_data
        options: list[str] = [f"Мой телефон {phone if known else self.phone()}, перезвоните."]
        if person is not None:
            valid = person.email if person.email in self.personal_data else None
            options.append(f"Ответ прошу направить на {valid or self.email_for(person)}.")
            options.append(f"С уважением, {person.fio}.")
        return f"{text} {self.rng.choice(options)}"

    def email_for(self, person: Person) -> str:
        email = f"{translit(person.fio.split()[0])}{self.rng.randint(100, 999)}@{self.rng.choice(MAIL_DOMAINS)}"
        self.personal_data.add(email)
        return email

    def local(self, moment: datetime, fmt: str) -> str:
        return moment.astimezone(self.tz).strftime(fmt)

    def iso(self, moment: datetime) -> str:
        """ISO 8601 as the portal writes it: region offset mostly, sometimes UTC with Z."""
        if self.chance(0.1):
            return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return moment.astimezone(self.tz).isoformat(timespec="seconds")

    def optional(self) -> bool:
        """True when an optional field is to be left out."""
        return self.chance(self.quirks.missing_optional)


def deadlines_covered(
    created_at: datetime,
    subcategory: taxonomy.Subcategory,
    priority: sla.Priority,
    *,
    official: bool,
    region_tz: ZoneInfo,
) -> bool:
    """Whether the production calendar covers this appeal's deadlines (else the pipeline rejects it)."""
    try:
        sla.deadlines_for(created_at, priority, subcategory.sla_class, official=official, region_tz=region_tz)
    except sla.OutsideCalendar:
        return False
    return True


def appeal_expect(
    source_id: str,
    created_at: datetime,
    events: Iterable[EventKey],
    *,
    covered: bool = True,
    burst: str = "",
) -> Expect:
    if not covered:
        return Expect(outcome="rejected", reason_kind="outside_calendar")
    return Expect(appeal=(source_id, created_at), events=frozenset(events), burst=burst)


def events_expect(*events: EventKey) -> Expect:
    return Expect(events=frozenset(events))


# --- quirks and encoding ---------------------------------------------------------------------------------

TRANSMISSION_S: Mapping[str, tuple[float, float]] = MappingProxyType(
    {"pos": (5, 120), "112": (10, 180), "safe_city": (1, 10), "housing": (600, 8 * 3600)}
)
Breaker = Callable[[Gen, Draft, str], dict[str, Any]]


def encode(gen: Gen, feed: str, payload: dict[str, Any]) -> bytes:
    """JSON as the source writes it: UTF-8, sometimes \\u-escaped, from legacy exporters sometimes cp1251."""
    text = json.dumps(payload, ensure_ascii=gen.chance(gen.quirks.ascii_escaped))
    if gen.chance(gen.quirks.cp1251.get(feed, 0.0)):
        try:
            legacy = text.encode("cp1251")
        except UnicodeEncodeError:
            return text.encode("utf-8")
        try:
            legacy.decode("utf-8")
        except UnicodeDecodeError:
            return legacy  # a cp1251 record that cannot be mistaken for UTF-8, as the reader assumes
        return text.encode("utf-8")
    return text.encode("utf-8")


def deliver(gen: Gen, drafts: list[Draft], breakers: Mapping[str, Breaker]) -> list[tuple[Draft, list[RawEvent]]]:
    """Apply the quirks to each draft: the records its source sends for it (the record, maybe a replay),
    whether or not it has happened by `gen.until` (every draw is made either way; see `finish`)."""
    q, rng = gen.quirks, gen.rng
    delivered: list[tuple[Draft, list[RawEvent]]] = []
    for draft in drafts:
        lo, hi = TRANSMISSION_S[draft.feed]
        sent_at = draft.sent_at or draft.at + timedelta(seconds=rng.uniform(lo, hi) * gen.scale)
        if gen.chance(q.late):
            sent_at += timedelta(seconds=rng.uniform(6 * 3600, 72 * 3600) * gen.scale)
        payload, expect, kind, truncate = draft.payload, draft.expect, draft.kind, False
        if draft.defects and gen.chance(q.malformed):
            defect = rng.choice(draft.defects)
            expect, kind = Expect(outcome="rejected", reason_kind=defect), "malformed"
            if defect == "malformed":
                truncate = True
            else:
                payload = breakers[draft.feed](gen, draft, defect)
        value = encode(gen, draft.feed, payload)
        if truncate:  # any proper prefix of a JSON object is invalid JSON
            value = value[: rng.randint(1, len(value) - 1)]
        event = RawEvent(
            draft.feed, draft.key.encode("utf-8"), value, kind, sent_at, expect, gen.export_day, draft.kind
        )
        replay = gen.chance(q.replay)
        resent = sent_at + timedelta(seconds=rng.uniform(30, 12 * 3600) * gen.scale)
        delivered.append((draft, [event, replace(event, kind="replay", sent_at=resent)] if replay else [event]))
    return delivered


def happened(gen: Gen, delivered: Iterable[tuple[Draft, list[RawEvent]]]) -> list[RawEvent]:
    """The records of the drafts that have happened by `gen.until`, in the order their sources send them.
    Everything was drawn before this cut, so `until` leaves out records without changing any other."""
    events = [e for draft, sent in delivered if gen.until is None or draft.at <= gen.until for e in sent]
    events.sort(key=lambda e: e.sent_at)
    return events


def finish(gen: Gen, drafts: list[Draft], breakers: Mapping[str, Breaker]) -> list[RawEvent]:
    """Apply the quirks to the drafts and return the raw events in the order their sources send them."""
    return happened(gen, deliver(gen, drafts, breakers))
