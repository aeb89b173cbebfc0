"""The command line every interval job shares: `--start`/`--end`, logging, the counts as the last line.

The Airflow DAG reads that last stdout line as the task's result (dags/appeals_daily.py), so every job
prints it the same way.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from cur import settings as settings_module


def iso_utc(value: str) -> datetime:
    """An ISO-8601 moment; a naive one is taken as UTC."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run_interval_job(
    description: str,
    run: Callable[[settings_module.Settings, datetime, datetime], Mapping[str, Any]],
    argv: list[str] | None = None,
) -> None:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--start", type=iso_utc, required=True, help="interval start, ISO-8601 (naive = UTC)")
    parser.add_argument("--end", type=iso_utc, required=True, help="interval end (exclusive), ISO-8601")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("py4j", "splink"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    counts = run(settings_module.load(), args.start, args.end)
    print(json.dumps(counts), flush=True)  # the last line of stdout: the counts, for the DAG's task
