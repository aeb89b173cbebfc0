"""The frame each suite validates, read from ClickHouse for one data interval.

Why frames fed by clickhouse-connect rather than GX's SQL datasource: the unit of validation is a DAG
interval, one regional day = [21:00 UTC, 21:00 UTC). GX's SQL batch definitions split a table only by
calendar parts of a column (UTC days), a query asset freezes its SQL in the committed context, and
ClickHouse is outside GX's tested SQL dialects. One interval's rows fit in memory easily and are read
once, with `FINAL` — exactly the rows Spark and dbt read. What needs history or other tables (volume
bands, reconciliations, a problem's extent) is computed here in SQL, so GX compares a few columns.

Raw landing frames take what was *created or landed* in the interval: an appeal stamped five years
ahead lands today, and must be caught today, not in 2031.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cur import sla, taxonomy
from cur.schema import SOURCES
from cur.settings import Settings
from expectations import suite as suites

if TYPE_CHECKING:
    import pandas as pd
    from clickhouse_connect.driver.client import Client

BIG = 2**53  # an open upper bound that JSON and Data Docs still show as a number


@dataclass(frozen=True)
class Interval:
    start: datetime  # aware, UTC
    end: datetime
    now: datetime  # the run's clock (reference data is judged against it)

    @property
    def params(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end}


def client(settings: Settings) -> Client:
    import clickhouse_connect

    return clickhouse_connect.get_client(
        host=settings.clickhouse_host,
        port=settings.clickhouse_http_port,
        username=settings.clickhouse_user,
        password=settings.clickhouse_password,
    )


def _df(ch: Client, query: str, params: dict[str, Any]) -> pd.DataFrame:
    frame = ch.query_df(query, parameters=params)
    if frame.columns.empty:
        # An empty result comes back without columns: keep them, so column expectations are
        # evaluated (vacuously) and only the row count decides.
        empty = ch.query(f"{query} LIMIT 0", parameters=params)
        frame = frame.reindex(columns=list(empty.column_names))
    for name in frame.columns:  # clickhouse-connect gives naive UTC times; cur.sla wants aware ones
        if str(frame[name].dtype).startswith("datetime64") and getattr(frame[name].dt, "tz", None) is None:
            frame[name] = frame[name].dt.tz_localize("UTC")
    return frame


_IN_INTERVAL = "{col} >= {{start:DateTime64(3, 'UTC')}} AND {col} < {{end:DateTime64(3, 'UTC')}}"


def _within(col: str) -> str:
    return _IN_INTERVAL.format(col=col)


def raw_feed(feed: str) -> Callable[[Client, Settings, Interval], pd.DataFrame]:
    def read(ch: Client, settings: Settings, interval: Interval) -> pd.DataFrame:
        query = f"""
            SELECT appeal_id, toString(source) AS source, source_id, created_at, sector, subcategory,
                   municipality_code, toString(priority) AS priority, status, sla_deadline_at,
                   kafka_topic, kafka_partition, kafka_offset, ingested_at,
                   dateDiff('millisecond', ingested_at, created_at) / 60000 AS minutes_after_landing,
                   toYYYYMMDD(created_at, 'UTC') AS created_yyyymmdd
            FROM {settings.clickhouse_database}.appeals FINAL
            WHERE source = {{feed:String}} AND (({_within("created_at")}) OR ({_within("ingested_at")}))
            ORDER BY kafka_topic, kafka_partition, kafka_offset
        """
        return _df(ch, query, {**interval.params, "feed": feed})

    return read


def raw_status_events(ch: Client, settings: Settings, interval: Interval) -> pd.DataFrame:
    query = f"""
        SELECT toString(source) AS source, source_id, status, event_at, rating, kafka_topic, kafka_offset,
               dateDiff('millisecond', ingested_at, event_at) / 60000 AS minutes_after_landing
        FROM {settings.clickhouse_database}.appeal_status_events FINAL
        WHERE ({_within("event_at")}) OR ({_within("ingested_at")})
    """
    return _df(ch, query, interval.params)


def raw_volumes(ch: Client, settings: Settings, interval: Interval) -> pd.DataFrame:
    """Per feed: the interval's appeals, the same interval 1..W weeks before, the rejected share."""
    import pandas as pd

    rules = suites.rules()["volumes"]
    weeks = rules["history_weeks"]
    shifted = [
        f"countIf(created_at >= {{start:DateTime64(3, 'UTC')}} - INTERVAL {7 * k} DAY"
        f" AND created_at < {{end:DateTime64(3, 'UTC')}} - INTERVAL {7 * k} DAY) AS w{k}"
        for k in range(1, weeks + 1)
    ]
    db = settings.clickhouse_database
    counts = ch.query(
        f"""
        SELECT toString(source) AS feed, countIf({_within("created_at")}) AS received,
               countIf({_within("ingested_at")}) AS landed, {", ".join(shifted)}
        FROM {db}.appeals FINAL
        WHERE (created_at >= {{start:DateTime64(3, 'UTC')}} - INTERVAL {7 * weeks} DAY
               AND created_at < {{end:DateTime64(3, 'UTC')}}) OR ({_within("ingested_at")})
        GROUP BY feed
        """,
        parameters=interval.params,
    ).named_results()
    by_feed = {row["feed"]: row for row in counts}
    rejected = dict(
        ch.query(
            f"SELECT feed, count() FROM {db}.rejected_events FINAL WHERE {_within('rejected_at')} GROUP BY feed",
            parameters=interval.params,
        ).result_rows
    )
    rows = []
    for feed in SOURCES:
        row = by_feed.get(feed, {})
        history = [row.get(f"w{k}", 0) for k in range(1, weeks + 1)]
        days = [n for n in history if n > 0]
        banded = len(days) >= rules["min_history_days"]
        median = statistics.median(days) if days else 0
        landed, bad = row.get("landed", 0), rejected.get(feed, 0)
        rows.append(
            {
                "feed": feed,
                "received": row.get("received", 0),
                "history": ",".join(str(n) for n in history),
                "band_low": int(rules["band_low_factor"] * min(days)) if banded else 0,
                "band_high": int(rules["band_high_factor"] * max(days)) + 1 if banded else BIG,
                "silent_floor": 1 if banded and median >= rules["silent_median"] else 0,
                "rejected": bad,
                "rejected_share": bad / (landed + bad) if landed + bad else 0.0,
            }
        )
    return pd.DataFrame(rows)


def _deadlines_match(row: Any, tz: Any) -> bool:
    """The recorded deadlines are cur.sla's for this appeal (59-FZ or not: the flag is not stored)."""
    subcategory = taxonomy.subcategories().get(row.subcategory)
    if subcategory is None:
        return False
    created = row.created_at.to_pydatetime()
    recorded = (
        row.sla_deadline_at.to_pydatetime(),
        None if _missing(row.resolve_by) else row.resolve_by.to_pydatetime(),
    )
    for official in (False, True):
        try:
            wanted = sla.deadlines_for(
                created, sla.Priority(row.priority), subcategory.sla_class, official=official, region_tz=tz
            )
        except ValueError:  # OutsideCalendar, an unknown priority: not what the rules give
            return False
        if (wanted.first_answer_at, wanted.resolve_by) == recorded:
            return True
    return False


def _missing(value: Any) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))


def canonical_appeals(ch: Client, settings: Settings, interval: Interval) -> pd.DataFrame:
    query = f"""
        SELECT * EXCEPT (text, address, applicant_pseudonym, source, priority),
               toString(source) AS source, toString(priority) AS priority,
               dateDiff('millisecond', created_at, sla_deadline_at) / 3600000 AS first_answer_hours
        FROM {settings.clickhouse_database}.appeals_dedup FINAL
        WHERE {_within("created_at")}
        ORDER BY source, source_id
    """
    frame = _df(ch, query, interval.params)
    # FINAL collapses copies, as dbt reads them; the dedup job's own promise is that none are left.
    copies = ch.query(
        f"SELECT source, source_id, count() FROM {settings.clickhouse_database}.appeals_dedup"
        f" WHERE {_within('created_at')} GROUP BY source, source_id HAVING count() > 1",
        parameters=interval.params,
    ).result_rows
    extra = {(str(source), source_id): n for source, source_id, n in copies}
    frame["copies"] = [extra.get(key, 1) for key in zip(frame["source"], frame["source_id"], strict=True)]
    size = suites.rules()["sla"]["sample_size"]
    frame["sla_matches_rules"] = None
    if len(frame):
        # A sample spread over the interval, the same on every run: every k-th appeal by id.
        order = frame["appeal_id"].astype(str).sort_values().index
        sample = order[:: max(1, len(order) // size)][:size]
        frame["sla_matches_rules"] = frame["sla_matches_rules"].astype(object)
        for i in sample:
            frame.at[i, "sla_matches_rules"] = _deadlines_match(frame.loc[i], settings.tz)
    return frame


def problems(ch: Client, settings: Settings, interval: Interval) -> pd.DataFrame:
    db = settings.clickhouse_database
    query = f"""
        SELECT d.appeal_id AS appeal_id, toString(d.source) AS source, d.source_id AS source_id,
               d.sector AS sector, l.problem_id AS problem_id, p.problem_sectors AS problem_sectors,
               p.problem_extent_m AS problem_extent_m, p.problem_span_days AS problem_span_days
        FROM (SELECT appeal_id, source, source_id, sector FROM {db}.appeals_dedup FINAL
              WHERE {_within("created_at")}) AS d
        LEFT JOIN {db}.problem_links AS l ON l.source = d.source AND l.source_id = d.source_id
        LEFT JOIN (
            SELECT problem_id, uniqExact(sector) AS problem_sectors,
                   ifNull(greatCircleDistance(min(lon), min(lat), max(lon), max(lat)), 0) AS problem_extent_m,
                   dateDiff('millisecond', min(created_at), max(created_at)) / 86400000 AS problem_span_days
            FROM {db}.problem_links
            WHERE problem_id IN (SELECT problem_id FROM {db}.problem_links WHERE {_within("created_at")})
            GROUP BY problem_id
        ) AS p ON p.problem_id = l.problem_id
        ORDER BY source, source_id
        SETTINGS join_use_nulls = 1
    """
    return _df(ch, query, interval.params)


def reference_data(ch: Client, settings: Settings, interval: Interval) -> pd.DataFrame:
    """One row per calendar that deadlines are counted on, one per subcategory (its sla_class)."""
    import pandas as pd

    db = settings.clickhouse_database
    latest = ch.query(
        f"SELECT max(created_at), count() FROM {db}.appeals FINAL WHERE {_within('ingested_at')}",
        parameters=interval.params,
    ).result_rows[0]
    latest_day = latest[0].astimezone(settings.tz).date() if latest[1] else interval.end.astimezone(settings.tz).date()
    today = interval.now.astimezone(settings.tz).date()
    ends: dict[str, date | None] = {
        "cur/calendar/ru_production_calendar.csv (cur.sla)": date(max(sla.CALENDAR.years), 12, 31)
    }
    exists = ch.query(
        "SELECT count() FROM system.tables WHERE database = {db:String} AND name = 'production_calendar'",
        parameters={"db": db},
    ).result_rows[0][0]
    if exists:
        last = ch.query(f"SELECT max(day), count() FROM {db}.production_calendar").result_rows[0]
        ends[f"{db}.production_calendar"] = last[0] if last[1] else today - timedelta(days=1)
    rows: list[dict[str, Any]] = [
        {
            "reference": name,
            "last_day": end.isoformat() if end else None,
            "days_ahead": (end - today).days if end else None,
            "days_after_latest_appeal": (end - latest_day).days if end else None,
            "sla_class": None,
        }
        for name, end in ends.items()
    ]
    rows += [
        {
            "reference": f"subcategory {code}",
            "last_day": None,
            "days_ahead": None,
            "days_after_latest_appeal": None,
            "sla_class": s.sla_class,
        }
        for code, s in taxonomy.subcategories().items()
    ]
    return pd.DataFrame(rows)


def kpi_marts(ch: Client, settings: Settings, interval: Interval) -> pd.DataFrame:
    """Per day of analytics.kpi_daily from its first day (60 days back at most) to the interval's last:
    shares of the summed numerators and denominators, appeals against the canonical table, gaps."""
    a, db, tz = settings.analytics_database, settings.clickhouse_database, settings.region_tz
    query = f"""
        WITH toDate({{start:DateTime64(3, 'UTC')}}, '{tz}') AS first_day,
             toDate({{end:DateTime64(3, 'UTC')}} - INTERVAL 1 MILLISECOND, '{tz}') AS last_day,
             (SELECT greatest(min(report_date), first_day - 60) FROM {a}.kpi_daily
              WHERE report_date >= first_day - 60) AS window_start,
             days AS (SELECT arrayJoin(range(toUInt32(dateDiff('day', least(window_start, first_day), last_day)) + 1))
                             AS n, least(window_start, first_day) + n AS report_date),
             mart AS (SELECT report_date, sum(appeals_received) AS appeals, sum(first_answer_met) AS fa_met,
                             sum(first_answer_due) AS fa_due, sum(resolution_met) AS res_met,
                             sum(resolution_due) AS res_due, sum(repeat_appeals) AS repeats,
                             sum(confirmed_appeals) AS confirmed, count() AS mart_rows
                      FROM {a}.kpi_daily WHERE report_date BETWEEN least(window_start, first_day) AND last_day
                      GROUP BY report_date),
             canonical AS (SELECT toDate(created_at, '{tz}') AS report_date, count() AS appeals
                           FROM {db}.appeals_dedup FINAL WHERE {_within("created_at")} GROUP BY report_date)
        SELECT toString(days.report_date) AS report_date,
               days.report_date >= first_day AS in_interval,
               ifNull(mart.mart_rows, 0) > 0 AS has_rows,
               if(in_interval, toInt64(ifNull(mart.appeals, 0)), NULL) AS mart_appeals,
               if(in_interval, toInt64(ifNull(canonical.appeals, 0)), NULL) AS canonical_appeals,
               if(mart.fa_due > 0, mart.fa_met / mart.fa_due, NULL) AS first_answer_share,
               if(mart.res_due > 0, mart.res_met / mart.res_due, NULL) AS resolution_share,
               if(mart.appeals > 0, mart.repeats / mart.appeals, NULL) AS repeat_share,
               if(mart.appeals > 0, mart.confirmed / mart.appeals, NULL) AS confirmed_share
        FROM days
        LEFT JOIN mart ON mart.report_date = days.report_date
        LEFT JOIN canonical ON canonical.report_date = days.report_date
        ORDER BY days.report_date
        SETTINGS join_use_nulls = 1
    """
    return _df(ch, query, interval.params)


READERS: dict[str, Callable[[Client, Settings, Interval], pd.DataFrame]] = {
    "reference_data": reference_data,
    **{f"raw_{feed}": raw_feed(feed) for feed in SOURCES},
    "raw_status_events": raw_status_events,
    "raw_volumes": raw_volumes,
    "canonical_appeals": canonical_appeals,
    "problems": problems,
    "kpi_marts": kpi_marts,
}


def utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{value.isoformat()} has no time zone; give the interval in UTC, e.g. ...+00:00")
    return value.astimezone(UTC)
