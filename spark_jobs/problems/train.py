"""Train the linkage model once, without labels, and save it beside its settings (model.json).

Fellegi–Sunter parameters from the appeals of a period in ClickHouse, as production would train on its
own history: the prior from deterministic rules, u-probabilities by random sampling, m-probabilities by
expectation maximisation in two sessions blocked on different evidence (the place, then the address),
so that every comparison is estimated in one of them. The subcategory's m is fixed in settings.json
(`fix_m_probability`, from the labelled training seed): EM leaves it as it is. Training costs minutes;
the daily job only loads model.json and predicts.

    python -m spark_jobs.problems.train --start 2026-09-01T00:00:00+03:00 --end 2026-09-16T00:00:00+03:00
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from spark_jobs.problems.config import MODEL_PATH, SETTINGS_PATH

if TYPE_CHECKING:
    from cur.settings import Settings

log = logging.getLogger(__name__)

# Pairs that are almost surely one problem, and the share of all true pairs they are believed to catch.
PRIOR_RULES = (
    "l.subcategory = r.subcategory AND l.municipality_code = r.municipality_code AND l.street_key = r.street_key"
    " AND l.house = r.house AND abs(l.created_s - r.created_s) <= 86400",
    "l.subcategory = r.subcategory AND l.h3_cell = r.h3_cell AND abs(l.created_s - r.created_s) <= 3600",
)
PRIOR_RECALL = 0.6
U_MAX_PAIRS = 500_000
# EM sessions: each leaves the comparisons of its blocking columns to the other.
EM_BLOCKING = (
    "l.sector = r.sector AND l.h3_cell = r.h3_cell",
    "l.municipality_code = r.municipality_code AND l.street_key = r.street_key AND l.house = r.house",
)


def train(settings: Settings, start: datetime, end: datetime, output: Path = MODEL_PATH, seed: int = 1) -> dict:
    from pyspark import StorageLevel
    from splink import Linker, SparkAPI

    from spark_jobs.problems.features import read_features
    from spark_jobs.session import spark_session

    began = time.monotonic()
    spark = spark_session(settings, "train_problem_linkage", splink=True)
    try:
        features = read_features(spark, settings, start, end).persist(StorageLevel.MEMORY_AND_DISK)
        records = features.count()
        log.info("training on %d appeals of [%s, %s)", records, start.isoformat(), end.isoformat())
        linker = Linker(
            SparkAPI(spark_session=spark).register(features), json.loads(SETTINGS_PATH.read_text(encoding="utf-8"))
        )
        linker.training.estimate_probability_two_random_records_match(list(PRIOR_RULES), recall=PRIOR_RECALL)
        linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=seed)
        for rule in EM_BLOCKING:
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
        linker.misc.save_model_to_json(str(output), overwrite=True)
    finally:
        spark.stop()
    summary = {"appeals": records, "model": str(output), "seconds": round(time.monotonic() - began, 1)}
    log.info("saved %s", summary)
    return summary


def main(argv: list[str] | None = None) -> None:
    from cur import settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=datetime.fromisoformat, required=True, help="ISO-8601 with a zone")
    parser.add_argument("--end", type=datetime.fromisoformat, required=True, help="ISO-8601 with a zone")
    parser.add_argument("--output", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)
    print(json.dumps(train(settings.load(), args.start, args.end, args.output)), flush=True)


if __name__ == "__main__":
    main()
