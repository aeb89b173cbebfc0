"""The figures of one week's report, read from the dbt marts of `analytics` (issue 8's contract).

This module selects and sums; it never recomputes a KPI from appeals. Shares are the summed
numerator over the summed denominator of the mart (`sum(first_answer_met) / sum(first_answer_due)`),
percentiles are the marts' quantile states merged at the recipient's cut, and the backlog of a week
is the snapshot of its Sunday, as the marts are meant to be read. A recipient's cut is its
`ministry_code` (a ministry or agency: the appeals the routing gives it) or its `municipality_code`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from clickhouse_driver import Client

from cur.settings import Settings
from reports.recipients import Recipient

TREND_WEEKS = 12
OLDEST_ITEMS = 8  # rows of the PDF's overdue table (the XLSX lists all of them)
TOP_TENSION = 5

# kpi_weekly's additive measures that the report reads, summed at the recipient's cut.
MEASURES = (
    "appeals_received",
    "signals_received",
    "problems_new",
    "first_answer_met",
    "first_answer_missed",
    "first_answer_due",
    "resolution_met",
    "resolution_missed",
    "resolution_due",
    "returned_appeals",
    "reopened_appeals",
    "repeat_appeals",
    "confirmed_appeals",
    "rated_appeals",
    "rating_sum",
)
BACKLOG_MEASURES = ("open_backlog", "overdue_backlog", "overdue_age_hours_sum")


def week_start_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """A share from summed columns; None when there is nothing to divide by."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def _num(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


@dataclass
class Totals:
    """kpi_weekly summed over a recipient's cut for one week (or one SLA class of it)."""

    sums: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEASURES, 0))
    first_answer_median: float | None = None
    first_answer_p90: float | None = None
    resolution_median: float | None = None
    resolution_p90: float | None = None

    def __getitem__(self, name: str) -> int:
        return self.sums[name]

    @property
    def first_answer_share(self) -> float | None:
        return ratio(self["first_answer_met"], self["first_answer_due"])

    @property
    def resolution_share(self) -> float | None:
        return ratio(self["resolution_met"], self["resolution_due"])

    @property
    def repeat_share(self) -> float | None:
        return ratio(self["repeat_appeals"], self["appeals_received"])

    @property
    def returned_share(self) -> float | None:
        return ratio(self["returned_appeals"], self["appeals_received"])

    @property
    def reopened_share(self) -> float | None:
        return ratio(self["reopened_appeals"], self["appeals_received"])

    @property
    def average_rating(self) -> float | None:
        return ratio(self["rating_sum"], self["rated_appeals"])


@dataclass
class Backlog:
    """backlog_daily at the end of a week (its Sunday's snapshot), summed over the cut."""

    open_backlog: int = 0
    overdue_backlog: int = 0
    overdue_age_hours_sum: float = 0.0
    overdue_age_hours_max: float | None = None

    @property
    def overdue_age_hours_mean(self) -> float | None:
        return ratio(self.overdue_age_hours_sum, self.overdue_backlog)


@dataclass
class ReportData:
    recipient: Recipient
    recipient_name: str
    week_start: date
    data_updated_at: datetime | None  # when the marts were last written
    latest_appeal_at: datetime | None  # the newest appeal the marts count
    week: Totals
    previous: Totals
    by_sla_class: list[tuple[str, Totals]]
    backlog: Backlog
    previous_backlog: Backlog
    backlog_by_sector: list[dict[str, Any]]
    overdue_items: list[dict[str, Any]]  # sla_breaches still open, oldest first
    tension: list[dict[str, Any]]
    heatmap: list[dict[str, Any]]
    trend: list[tuple[date, Totals, Backlog]]

    @property
    def week_end(self) -> date:
        return self.week_start + timedelta(days=6)


class Marts:
    """Read-only queries on the marts for one recipient's cut."""

    def __init__(self, client: Client, settings: Settings) -> None:
        self.client = client
        self.db = settings.analytics_database
        self.tz = settings.tz

    def _scope(self, recipient: Recipient, column_prefix: str = "") -> tuple[str, dict[str, Any]]:
        column = {"ministry": "ministry_code", "municipality": "municipality_code"}[recipient.kind]
        return f"{column_prefix}{column} = %(code)s", {"code": recipient.code}

    def _rows(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        rows, columns = self.client.execute(sql, params, with_column_types=True)
        names = [name for name, _ in columns]
        return [dict(zip(names, row, strict=True)) for row in rows]

    def recipient_name(self, recipient: Recipient) -> str:
        if recipient.kind == "ministry":
            sql = f"SELECT authority_name_ru FROM {self.db}.authorities WHERE authority_code = %(code)s"
        else:
            sql = f"SELECT municipality_name_ru FROM {self.db}.municipalities WHERE municipality_code = %(code)s"
        rows = self.client.execute(sql, {"code": recipient.code})
        if not rows:
            raise LookupError(f"{recipient.kind} {recipient.code!r} is not in the seeds of {self.db}")
        return str(rows[0][0])

    def totals_by(self, recipient: Recipient, weeks: list[date], by: str | None = None) -> dict[Any, Totals]:
        """kpi_weekly summed per week (by=None) or per `by` column for the single week given."""
        where, params = self._scope(recipient)
        key = "period_start" if by is None else by
        sums = ", ".join(f"sum({m}) AS {m}" for m in MEASURES)
        sql = (
            f"SELECT {key} AS k, {sums},"
            " quantilesExactMerge(0.5, 0.9)(first_answer_minutes_q) AS fa_q,"
            " quantilesExactMerge(0.5, 0.9)(resolution_hours_q) AS res_q"
            f" FROM {self.db}.kpi_weekly WHERE {where} AND period_start IN %(weeks)s GROUP BY k ORDER BY k"
        )
        result: dict[Any, Totals] = {}
        for row in self._rows(sql, {**params, "weeks": tuple(weeks)}):
            fa, res = row["fa_q"], row["res_q"]
            result[row["k"]] = Totals(
                sums={m: row[m] for m in MEASURES},
                first_answer_median=_num(fa[0]) if fa else None,
                first_answer_p90=_num(fa[1]) if fa else None,
                resolution_median=_num(res[0]) if res else None,
                resolution_p90=_num(res[1]) if res else None,
            )
        return result

    def backlogs(self, recipient: Recipient, weeks: list[date]) -> dict[date, Backlog]:
        """The Sunday snapshot of each week."""
        where, params = self._scope(recipient)
        sundays = tuple(w + timedelta(days=6) for w in weeks)
        sql = (
            "SELECT snapshot_date, sum(open_backlog), sum(overdue_backlog), sum(overdue_age_hours_sum),"
            f" max(overdue_age_hours_max) FROM {self.db}.backlog_daily"
            f" WHERE {where} AND snapshot_date IN %(days)s GROUP BY snapshot_date"
        )
        result = {}
        for day, open_, overdue, age_sum, age_max in self.client.execute(sql, {**params, "days": sundays}):
            result[day - timedelta(days=6)] = Backlog(
                open_, overdue, float(age_sum), _num(age_max) if overdue else None
            )
        return result

    def backlog_by_sector(self, recipient: Recipient, week_start: date) -> list[dict[str, Any]]:
        where, params = self._scope(recipient)
        sql = (
            "SELECT sector_name_ru, sum(open_backlog) AS open_backlog, sum(overdue_backlog) AS overdue_backlog,"
            " max(overdue_age_hours_max) AS overdue_age_hours_max"
            f" FROM {self.db}.backlog_daily WHERE {where} AND snapshot_date = %(day)s"
            " GROUP BY sector_name_ru HAVING open_backlog > 0 ORDER BY overdue_backlog DESC, sector_name_ru"
        )
        return self._rows(sql, {**params, "day": week_start + timedelta(days=6)})

    def overdue_items(self, recipient: Recipient, week_start: date) -> list[dict[str, Any]]:
        """Open breaches of appeals created before the week's end, oldest first (no personal data)."""
        where, params = self._scope(recipient)
        end = datetime.combine(week_start + timedelta(days=7), datetime.min.time(), tzinfo=self.tz).astimezone(UTC)
        sql = (
            "SELECT source, source_id, breach_kind, sector_name_ru, municipality_name_ru, ministry_name_ru,"
            " executor, created_at, due_at, age_hours, overdue_hours"
            f" FROM {self.db}.sla_breaches WHERE {where} AND is_open AND created_at < %(end)s"
            " ORDER BY age_hours DESC, source, source_id, breach_kind"
        )
        return self._rows(sql, {**params, "end": end.replace(tzinfo=None)})

    def tension(self, recipient: Recipient, week_start: date) -> list[dict[str, Any]]:
        where, params = self._scope(recipient)
        sql = (
            "SELECT tension_rank, municipality_name_ru, sector_name_ru, appeals, baseline_appeals, growth,"
            " tension_index, tension_index_prev_week, tension_change"
            f" FROM {self.db}.tension_weekly WHERE {where} AND week_start = %(week)s AND is_ranked"
            " ORDER BY tension_rank LIMIT %(top)s"
        )
        return self._rows(sql, {**params, "week": week_start, "top": TOP_TENSION})

    def heatmap(self, recipient: Recipient, week_start: date) -> list[dict[str, Any]]:
        """H3 cells of the cut: the municipality, or the sectors the ministry answers for (routing seed)."""
        if recipient.kind == "municipality":
            where, params = self._scope(recipient)
        else:
            where = f"sector IN (SELECT sector_code FROM {self.db}.routing WHERE authority_code = %(code)s)"
            params = {"code": recipient.code}
        sql = (
            "SELECT h3_cell, any(cell_boundary) AS cell_boundary, sum(appeals) AS appeals, sum(overdue) AS overdue"
            f" FROM {self.db}.heatmap_weekly WHERE {where} AND week_start = %(week)s GROUP BY h3_cell ORDER BY h3_cell"
        )
        return self._rows(sql, {**params, "week": week_start})

    def freshness(self) -> tuple[datetime | None, datetime | None]:
        """When the marts were last evaluated (fct_appeals.evaluated_at), and the newest appeal they count."""
        evaluated, latest, rows = self.client.execute(
            f"SELECT max(evaluated_at), max(created_at), count() FROM {self.db}.fct_appeals"
        )[0]
        if not rows:
            return None, None
        return evaluated.astimezone(UTC), latest.astimezone(UTC)

    def report(self, recipient: Recipient, week_start: date) -> ReportData:
        if week_start.weekday() != 0:
            raise ValueError(f"{week_start} is not a Monday: a report week runs Monday to Sunday")
        weeks = [week_start - timedelta(weeks=n) for n in range(TREND_WEEKS - 1, -1, -1)]
        totals = self.totals_by(recipient, weeks)
        backlogs = self.backlogs(recipient, weeks)
        previous = week_start - timedelta(weeks=1)
        if previous not in totals:
            totals.update(self.totals_by(recipient, [previous]))
        if previous not in backlogs:
            backlogs.update(self.backlogs(recipient, [previous]))
        updated, latest = self.freshness()
        return ReportData(
            recipient=recipient,
            recipient_name=self.recipient_name(recipient),
            week_start=week_start,
            data_updated_at=updated,
            latest_appeal_at=latest,
            week=totals.get(week_start, Totals()),
            previous=totals.get(previous, Totals()),
            by_sla_class=sorted(self.totals_by(recipient, [week_start], by="sla_class").items()),
            backlog=backlogs.get(week_start, Backlog()),
            previous_backlog=backlogs.get(previous, Backlog()),
            backlog_by_sector=self.backlog_by_sector(recipient, week_start),
            overdue_items=self.overdue_items(recipient, week_start),
            tension=self.tension(recipient, week_start),
            heatmap=self.heatmap(recipient, week_start),
            trend=[(w, totals.get(w, Totals()), backlogs.get(w, Backlog())) for w in weeks],
        )
