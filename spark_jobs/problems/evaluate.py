"""Evaluate the problem linkage against the generator's truth, on a seed it was not tuned on.

A generated history is bulk-loaded into a database of its own (streams.generator.bulk), the job links
it in one run over all its days, and the links are compared with the truth (streams/generator/
problems.py): pairwise precision, recall and F1 of "same problem", overall and per feed pair; cluster
B-cubed precision, recall and F1; precision and recall of the repeat marks.

    python -m spark_jobs.problems.evaluate --database cur_eval --seed 23 --days 14 --appeals-per-day 1000
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from itertools import combinations
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cur.settings import Settings

Appeal = tuple[str, str]  # (source, source_id)


@dataclass(frozen=True)
class Score:
    predicted: int
    actual: int
    correct: int

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.actual if self.actual else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "predicted": self.predicted,
            "actual": self.actual,
            "correct": self.correct,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


def _pairs_by_feeds(groups: Iterable[Iterable[Appeal]]) -> Counter[tuple[str, str]]:
    """Pairs inside the groups, counted per (feed, feed) from each group's feed counts (no enumeration)."""
    counts: Counter[tuple[str, str]] = Counter()
    for group in groups:
        feeds = Counter(source for source, _ in group)
        for feed, n in feeds.items():
            counts[(feed, feed)] += n * (n - 1) // 2
        for a, b in combinations(sorted(feeds), 2):
            counts[(a, b)] += feeds[a] * feeds[b]
    return counts


def pairwise(predicted: Mapping[Appeal, str], actual: Mapping[Appeal, str]) -> dict[str, Score]:
    """Scores of "same problem" over all pairs of appeals present in both mappings, overall ("all") and
    per feed pair ("pos–112", ...)."""
    common = predicted.keys() & actual.keys()
    pred_groups: dict[str, list[Appeal]] = defaultdict(list)
    true_groups: dict[str, list[Appeal]] = defaultdict(list)
    cells: dict[tuple[str, str], list[Appeal]] = defaultdict(list)
    for appeal in common:
        pred_groups[predicted[appeal]].append(appeal)
        true_groups[actual[appeal]].append(appeal)
        cells[(predicted[appeal], actual[appeal])].append(appeal)
    p, a, c = (_pairs_by_feeds(g.values()) for g in (pred_groups, true_groups, cells))
    scores = {f"{x}–{y}": Score(p[(x, y)], a[(x, y)], c[(x, y)]) for x, y in sorted(p.keys() | a.keys())}
    scores["all"] = Score(sum(p.values()), sum(a.values()), sum(c.values()))
    return scores


def b_cubed(predicted: Mapping[Appeal, str], actual: Mapping[Appeal, str]) -> tuple[float, float, float]:
    """Cluster-level B-cubed precision, recall and F1, averaged over the appeals present in both."""
    common = predicted.keys() & actual.keys()
    if not common:
        return 1.0, 1.0, 1.0
    pred_size = Counter(predicted[x] for x in common)
    true_size = Counter(actual[x] for x in common)
    cell = Counter((predicted[x], actual[x]) for x in common)
    precision = sum(cell[(predicted[x], actual[x])] / pred_size[predicted[x]] for x in common) / len(common)
    recall = sum(cell[(predicted[x], actual[x])] / true_size[actual[x]] for x in common) / len(common)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def repeat_marks(predicted: Iterable[Appeal], actual: Iterable[Appeal], present: set[Appeal]) -> Score:
    marked, true = set(predicted) & present, set(actual) & present
    return Score(len(marked), len(true), len(marked & true))


def report(scores: dict[str, Score], cubed: tuple[float, float, float], repeats: Score) -> str:
    lines = ["pairwise 'same problem'", f"  {'feeds':<22}{'pairs':>9}{'true':>9}{'P':>8}{'R':>8}{'F1':>8}"]
    for name, score in scores.items():
        lines.append(
            f"  {name:<22}{score.predicted:>9}{score.actual:>9}"
            f"{score.precision:>8.3f}{score.recall:>8.3f}{score.f1:>8.3f}"
        )
    lines.append(f"B-cubed: P {cubed[0]:.3f}  R {cubed[1]:.3f}  F1 {cubed[2]:.3f}")
    lines.append(
        f"repeat marks: {repeats.predicted} marked, {repeats.actual} true, P {repeats.precision:.3f}"
        f"  R {repeats.recall:.3f}  F1 {repeats.f1:.3f}"
    )
    return "\n".join(lines)


@dataclass(frozen=True)
class Seeded:
    """A generated history loaded into a database of its own, and its truth."""

    settings: Settings
    first: datetime  # the first day's start (region-local midnight)
    last: datetime  # the end of the last day
    problem_of: dict[Appeal, str]  # every appeal created in [first, last) -> its true problem id
    repeat_appeals: set[Appeal]


def load_seed(database: str, seed: int, days: int, appeals_per_day: int, start_day: date) -> Seeded:
    """Drop and recreate `database`, migrate it, bulk-load the seed's history, and regenerate its truth.

    The history runs on 60 days past the last day, as it would: later reports and answers exist."""
    from cur import settings as settings_module
    from cur.clickhouse import native_client
    from cur.migrate import migrate
    from streams.generator import generate_days
    from streams.generator.bulk import load_history

    settings = replace(settings_module.load(), clickhouse_database=database)
    tz = settings.tz
    first = datetime.combine(start_day, time(0), tzinfo=tz)
    last = datetime.combine(start_day + timedelta(days=days), time(0), tzinfo=tz)
    until = last + timedelta(days=60)
    client = native_client(settings)
    try:
        client.execute(f"DROP DATABASE IF EXISTS {database} SYNC")
        client.execute(f"CREATE DATABASE {database}")
    finally:
        client.disconnect()
    migrate(settings)
    load_history(start_day, [appeals_per_day] * days, seed, settings, until=until)
    day_list = [start_day + timedelta(days=n) for n in range(days)]
    _, truth = generate_days(day_list, appeals_per_day, seed, tz, until=until)
    in_range = {k for k, created in _created(truth).items() if first <= created < last}
    problem_of = {k: v for k, v in truth.problem_of.items() if k in in_range}
    return Seeded(settings, first, last, problem_of, set(truth.repeat_appeals()) & in_range)


def evaluate(database: str, seed: int, days: int, appeals_per_day: int, start_day: date) -> dict:
    """Load, link and score; the figures as a dict (also printed as a table)."""
    from cur.clickhouse import native_client
    from spark_jobs.problems import job

    seeded = load_seed(database, seed, days, appeals_per_day, start_day)
    counts = job.run(seeded.settings, seeded.first, seeded.last)
    client = native_client(seeded.settings)
    rows = client.execute(
        f"SELECT toString(source), source_id, toString(problem_id), is_repeat FROM {database}.problem_links"
    )
    client.disconnect()
    predicted = {(s, i): p for s, i, p, _ in rows}
    marked = [(s, i) for s, i, _, r in rows if r]
    actual = seeded.problem_of
    scores = pairwise(predicted, actual)
    cubed = b_cubed(predicted, actual)
    repeats = repeat_marks(marked, seeded.repeat_appeals, predicted.keys() & actual.keys())
    print(report(scores, cubed, repeats), flush=True)
    return {
        "seed": seed,
        "days": days,
        "appeals": len(predicted),
        "missing_from_links": len(actual.keys() - predicted.keys()),
        "job": counts,
        "pairwise": {name: score.as_dict() for name, score in scores.items()},
        "b_cubed": dict(zip(("precision", "recall", "f1"), (round(x, 4) for x in cubed), strict=True)),
        "repeats": repeats.as_dict(),
    }


def _created(truth) -> dict[Appeal, datetime]:
    return {(feed, source_id): at for feed, ft in truth.feeds.items() for source_id, at in ft.appeals.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="cur_eval", help="a scratch database, dropped and recreated")
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--appeals-per-day", type=int, default=1000)
    parser.add_argument("--start-day", type=date.fromisoformat, default=date(2026, 9, 1))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    result = evaluate(args.database, args.seed, args.days, args.appeals_per_day, args.start_day)
    print(json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()

__all__ = ["Score", "Seeded", "b_cubed", "evaluate", "load_seed", "pairwise", "repeat_marks"]
