"""The Spark work of one day of the DAG: the dedup, then the problem linkage, in one Spark application.

The two jobs are unchanged (`spark_jobs.dedup_appeals`, `spark_jobs.problems.job`; each still runs
alone); here they share one SparkSession (`spark_jobs.session.shared_session`), so the day pays one
Python start, one JVM, one session and one load of the JDBC driver and Splink's jar instead of two.
The linkage reads the canonical appeals the dedup has just swapped in, as it did as the next task.

Prints `{"dedup": <its counts>, "problems": <its counts>}` as the last line of stdout (spark_jobs/cli.py).

    python -m spark_jobs.daily --start 2026-11-19T21:00:00Z --end 2026-11-20T21:00:00Z
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from cur.settings import Settings
    from spark_jobs.dedup_appeals import DedupCounts
    from spark_jobs.problems.job import ProblemCounts

log = logging.getLogger(__name__)


class DailyCounts(TypedDict):
    dedup: DedupCounts
    problems: ProblemCounts


def run(settings: Settings, start: datetime, end: datetime) -> DailyCounts:
    """Dedup [start, end) into cur.appeals_dedup, then link it into cur.problem_links, in one session."""
    from spark_jobs import dedup_appeals
    from spark_jobs.problems import job
    from spark_jobs.problems.config import load_model
    from spark_jobs.session import shared_session

    load_model()  # a missing or stale model fails before Spark starts, and before the dedup
    with shared_session(settings, "appeals_daily"):
        dedup = dedup_appeals.run(settings, start, end)
        problems = job.run(settings, start, end)
    return DailyCounts(dedup=dedup, problems=problems)


def main(argv: list[str] | None = None) -> None:
    from spark_jobs.cli import run_interval_job

    run_interval_job(__doc__.splitlines()[0], run, argv)


if __name__ == "__main__":
    main()
