"""The Airflow assets the platform's DAGs publish and consume, named once here.

The daily DAG (`appeals_daily`) updates them in this order for each regional day, with the day in
the asset event's `extra` (`{"day": "YYYY-MM-DD", "interval_start": ..., "interval_end": ...}`):

    CANONICAL_APPEALS  reconciled and deduplicated appeals of the day (cur.appeals_dedup),
    + PROBLEMS         with the day's cross-channel problems (cur.problem_links): one Spark task
                       writes both and publishes the two events in no fixed order
    → KPI_MARTS        the KPI marts built for the day (analytics.kpi_*)
    → PUBLISHED        the day passed the quality gate: the marts that Superset and the reports read

Downstream DAGs (the weekly reports) are scheduled on PUBLISHED (`schedule=[PUBLISHED]`), so they
start when a day is published, never on a day held back by a check.
"""

from __future__ import annotations

from airflow.sdk import Asset

GROUP = "cur"
CANONICAL_APPEALS = Asset(name="cur.canonical_appeals", uri="clickhouse://cur/appeals_dedup", group=GROUP)
PROBLEMS = Asset(name="cur.problems", uri="clickhouse://cur/problem_links", group=GROUP)
KPI_MARTS = Asset(name="analytics.kpi_marts", uri="clickhouse://analytics/kpi_daily", group=GROUP)
PUBLISHED = Asset(name="analytics.published", uri="clickhouse://analytics/published", group=GROUP)
# The steps of the daily DAG in order, each with the assets its one task publishes.
STEPS: tuple[tuple[Asset, ...], ...] = ((CANONICAL_APPEALS, PROBLEMS), (KPI_MARTS,), (PUBLISHED,))
