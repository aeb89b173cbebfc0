"""Train the linkage model on the labelled training seed and save it beside its settings (model.json).

Fellegi–Sunter parameters, reproducible from one command: the training seed's history is generated and
bulk-loaded into a scratch database (as the evaluation does), its features are read from ClickHouse as the
job reads them, and Splink estimates
- the prior from deterministic rules (pairs that are almost surely one problem, and their assumed recall);
- the u-probabilities by random sampling of pairs;
- the m-probabilities from labelled pairs (`estimate_m_from_label_column`): the generator's truth of the
  training seed, which stands in for a clerical review of sampled pairs in production (Splink's labelling
  tool). EM without labels mixed look-alike problems of one place into its match class (same subcategory
  m 0.72–0.79 where the truth says 0.97; bench/RESULTS.md), so the labels decide.
The evaluation seed (23) is never trained or tuned on. Training costs minutes; the daily job only loads
model.json and predicts.

    python -m spark_jobs.problems.train --database cur_train --seed 11 --days 15 --appeals-per-day 2000
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections import Counter
from datetime import date
from pathlib import Path

from spark_jobs.problems.config import MODEL_PATH, SETTINGS_PATH

log = logging.getLogger(__name__)

# Pairs that are almost surely one problem, and the share of all true pairs they are believed to catch.
PRIOR_RULES = (
    "l.subcategory = r.subcategory AND l.municipality_code = r.municipality_code AND l.street_key = r.street_key"
    " AND l.house = r.house AND abs(l.created_s - r.created_s) <= 86400",
    "l.subcategory = r.subcategory AND l.h3_cell = r.h3_cell AND abs(l.created_s - r.created_s) <= 3600",
)
PRIOR_RECALL = 0.6
U_MAX_PAIRS = 500_000
LABEL_COLUMN = "true_problem_id"


def with_unseen_levels(model: dict, labelled_pairs: int) -> list[str]:
    """Give a level that no labelled pair reached (e.g. reports more than 7 days apart) the m of half a
    pair in `labelled_pairs`, instead of none: Splink leaves its m unset, and "never seen among the true
    pairs" is strong evidence against a match, not none. The names of those levels."""
    unseen = []
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if not level.get("is_null_level") and level.get("m_probability") is None:
                level["m_probability"] = 0.5 / max(labelled_pairs, 1)
                unseen.append(f"{comparison['output_column_name']}: {level['label_for_charts']}")
    return unseen


def train(
    database: str,
    seed: int,
    days: int,
    appeals_per_day: int,
    start_day: date,
    output: Path = MODEL_PATH,
    sample_seed: int = 1,
) -> dict:
    """Load the training seed into `database` (dropped first), estimate the model, write it to `output`."""
    from pyspark import StorageLevel
    from splink import Linker, SparkAPI

    from spark_jobs.problems.evaluate import load_seed
    from spark_jobs.problems.features import read_features
    from spark_jobs.session import spark_session

    began = time.monotonic()
    seeded = load_seed(database, seed, days, appeals_per_day, start_day)
    loaded = time.monotonic()
    spark = spark_session(seeded.settings, "train_problem_linkage", splink=True)
    try:
        labels = spark.createDataFrame(
            [(source, source_id, problem) for (source, source_id), problem in seeded.problem_of.items()],
            f"source string, source_id string, {LABEL_COLUMN} string",
        )
        features = (
            read_features(spark, seeded.settings, seeded.first, seeded.last)
            .join(labels, ["source", "source_id"], "left")
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        records = features.count()
        log.info("training on %d appeals of seed %d", records, seed)
        linker = Linker(
            SparkAPI(spark_session=spark).register(features), json.loads(SETTINGS_PATH.read_text(encoding="utf-8"))
        )
        linker.training.estimate_probability_two_random_records_match(list(PRIOR_RULES), recall=PRIOR_RECALL)
        linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=sample_seed)
        linker.training.estimate_m_from_label_column(LABEL_COLUMN)
        model = linker.misc.save_model_to_json(overwrite=True)
    finally:
        spark.stop()
    group_sizes = Counter(seeded.problem_of.values())
    labelled_pairs = sum(n * (n - 1) // 2 for n in group_sizes.values())
    unseen = with_unseen_levels(model, labelled_pairs)
    output.write_text(json.dumps(model, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    summary = {
        "seed": seed,
        "appeals": records,
        "labelled_pairs": labelled_pairs,
        "levels_without_labelled_pairs": unseen,
        "model": str(output),
        "load_seconds": round(loaded - began, 1),
        "seconds": round(time.monotonic() - began, 1),
    }
    log.info("saved %s", summary)
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="cur_train", help="a scratch database, dropped and recreated")
    parser.add_argument("--seed", type=int, default=11, help="the training seed (never the evaluation's)")
    parser.add_argument("--days", type=int, default=15)
    parser.add_argument("--appeals-per-day", type=int, default=2000)
    parser.add_argument("--start-day", type=date.fromisoformat, default=date(2026, 9, 1))
    parser.add_argument("--output", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)
    summary = train(args.database, args.seed, args.days, args.appeals_per_day, args.start_day, args.output)
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
