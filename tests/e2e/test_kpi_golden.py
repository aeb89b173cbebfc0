"""The KPI models on a golden dataset: a few dozen hand-made appeals whose figures are worked out by hand.

The appeals, their status events and problem links go into a scratch database on the real ClickHouse;
`dbt build` runs against it as the DAG runs it. Each appeal is there for an edge case, named in its
comment; the expected figures below are counted by hand from those comments, not read back from a run.
Deadlines come from cur.sla (the one place of the SLA rules), as the stream workers set them.

Region: Europe/Moscow (UTC+3, no DST). `AS_OF` is the moment the SLA states are evaluated at.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from clickhouse_driver import Client

from cur import sla, taxonomy
from cur.migrate import migrate
from cur.schema import appeal_id_for
from cur.settings import REPO_ROOT, Settings
from reports import render
from reports.marts import Marts
from reports.quality import week_gate
from reports.recipients import Recipient
from tests.e2e import report_figures

pytestmark = pytest.mark.e2e

DATABASE = "cur_golden"
ANALYTICS = "cur_golden_analytics"
AS_OF = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
KALUGA, OBNINSK = "29701000", "29715000"
REGION_TZ = ZoneInfo("Europe/Moscow")


def utc(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


@dataclass
class Appeal:
    key: str
    source: str
    subcategory: str
    created_at: datetime
    priority: str = "normal"
    official: bool = False
    municipality: str = KALUGA
    events: list[tuple[str, datetime, dict[str, Any]]] = field(default_factory=list)  # (status, at, extra)
    first_response_at: datetime | None = None  # as the 112 snapshot carries it in the appeal row
    lat: float | None = None
    lon: float | None = None

    @property
    def appeal_id(self) -> Any:
        return appeal_id_for(self.source, self.key)


def answered(at: datetime, **extra: Any) -> tuple[str, datetime, dict[str, Any]]:
    return ("answered", at, {"is_response": True, **extra})


GOLDEN: list[Appeal] = [
    # P1 — a deadline met to the second: normal, 8 h, answered at 14:00:00.000 exactly; rated 5 on its
    # resolution, which POS counts as the applicant's confirmation.
    Appeal(
        "P1",
        "pos",
        "healthcare.clinic_access",
        utc(16, 6),
        events=[
            ("received", utc(16, 6), {}),
            ("assigned", utc(16, 7), {"executor": "ГБУЗ КО «Поликлиника № 1»"}),
            answered(utc(16, 14)),
            ("resolved", utc(17, 10), {"rating": 5}),
        ],
    ),
    # P2 — one second late: a miss.
    Appeal(
        "P2",
        "pos",
        "healthcare.clinic_access",
        utc(16, 7),
        events=[("received", utc(16, 7), {}), answered(utc(16, 15, 0, 1))],
    ),
    # P3 — never answered: a miss once its deadline (15:30) passed, and overdue in the backlog.
    Appeal(
        "P3",
        "pos",
        "healthcare.clinic_access",
        utc(16, 7, 30),
        events=[("received", utc(16, 7, 30), {}), ("moderation", utc(16, 7, 40), {})],
    ),
    # P4 — created on the as-of day, deadline 18:00 not yet come: pending, neither hit nor miss.
    Appeal("P4", "pos", "healthcare.clinic_access", utc(25, 10), events=[("received", utc(25, 10), {})]),
    # P5 — a time-zone day boundary: 21:30 UTC on the 16th is 00:30 on the 17th in the region.
    Appeal(
        "P5",
        "pos",
        "healthcare.clinic_access",
        utc(16, 21, 30),
        events=[("received", utc(16, 21, 30), {}), answered(utc(17, 1))],
    ),
    # P6 — 20:59:59 UTC is 23:59:59 local: still the 16th. Answered 6 h later, within its 8 h.
    Appeal(
        "P6",
        "pos",
        "healthcare.clinic_access",
        utc(16, 20, 59, 59),
        events=[("received", utc(16, 20, 59, 59), {}), answered(utc(17, 2, 59, 59))],
    ),
    # L1 — answered after the day was first built: pending in the first build (as of 12:00 on the 16th),
    # met once the answer (15:00, deadline 16:00) arrives and the look-back rebuilds the day.
    Appeal("L1", "pos", "healthcare.clinic_access", utc(16, 8), events=[("received", utc(16, 8), {})]),
    # X1 — rejected by moderation: owed no answer, not in the backlog.
    Appeal(
        "X1",
        "pos",
        "healthcare.medicines",
        utc(17, 6),
        events=[("received", utc(17, 6), {}), ("rejected", utc(17, 6, 30), {})],
    ),
    # S1 — a holiday: snow, 1 working day from Tue 3 Nov; 4 Nov is a public holiday, so the fix is due
    # Thu 5 Nov 10:00 local. Resolved at 09:00 local on the 5th: met (a calendar day would have missed it).
    Appeal(
        "S1",
        "pos",
        "roads.snow_ice",
        utc(3, 7),
        events=[("received", utc(3, 7), {}), answered(utc(3, 9)), ("resolved", utc(5, 6), {})],
    ),
    # S2 — a weekend: snow on Fri 13 Nov, due Mon 16 Nov 10:00 local; resolved on Saturday: met.
    Appeal(
        "S2",
        "pos",
        "roads.snow_ice",
        utc(13, 7),
        events=[("received", utc(13, 7), {}), answered(utc(13, 8)), ("resolved", utc(14, 9), {})],
    ),
    # R1 — returned for rework and reopened: resolved, returned, worked again, resolved and rated 4.
    Appeal(
        "R1",
        "pos",
        "housing_utilities.yard_cleaning",
        utc(17, 6),
        events=[
            ("received", utc(17, 6), {}),
            ("assigned", utc(17, 7), {"executor": "ООО «УК Центр»"}),
            answered(utc(17, 10)),
            ("resolved", utc(18, 6), {}),
            ("returned", utc(18, 8), {}),
            ("in_progress", utc(18, 9), {}),
            ("resolved", utc(19, 6), {"rating": 4}),
        ],
    ),
    # RP1 — a repeat: a pothole back where an earlier problem was resolved. Answered within the hour, not
    # fixed by the as-of moment, fix due 26 Nov: pending and open, not overdue.
    Appeal(
        "RP1",
        "pos",
        "roads.pothole",
        utc(18, 6),
        lat=54.5293,
        lon=36.2754,
        events=[("received", utc(18, 6), {}), answered(utc(18, 7))],
    ),
    # D1, D2 — one problem, two channels: a 112 card (answered at dispatch, 30 min) and a POS appeal 1 h
    # later (45 min) about the same open manhole. Two appeals, one problem.
    Appeal(
        "D1",
        "112",
        "roads.open_manhole",
        utc(18, 8),
        priority="emergency",
        first_response_at=utc(18, 8, 30),
        events=[
            ("received", utc(18, 8), {}),
            ("in_progress", utc(18, 8, 30), {"is_response": True, "executor": "аварийная служба"}),
        ],
    ),
    Appeal(
        "D2",
        "pos",
        "roads.open_manhole",
        utc(18, 9),
        priority="emergency",
        lat=54.5301,
        lon=36.2760,
        events=[("received", utc(18, 9), {}), answered(utc(18, 9, 45))],
    ),
    # SC1 — a Safe City signal: no first-answer SLA; reaction = 12 min to an executor; the garbage fast
    # track (2 days, due 21 Nov 09:00 local) resolved on the 20th: met.
    Appeal(
        "SC1",
        "safe_city",
        "waste.garbage_removal",
        utc(19, 6),
        lat=54.5100,
        lon=36.2500,
        events=[
            ("received", utc(19, 6), {}),
            ("assigned", utc(19, 6, 12), {"executor": "МБУ «Спецавтохозяйство»"}),
            ("resolved", utc(20, 6), {}),
        ],
    ),
    # H1 — a 59-FZ housing complaint in Obninsk: 30 days to 19 Dec, a Saturday, moved to Mon 21 Dec 24:00
    # local; pending for both SLAs, open and not overdue.
    Appeal(
        "H1",
        "housing",
        "housing_utilities.heating",
        utc(19, 7),
        official=True,
        municipality=OBNINSK,
        events=[("received", utc(19, 7), {})],
    ),
]
LATE_ANSWER = ("L1", answered(utc(16, 15)))
PROBLEMS = {"D2": "D1"}  # appeal → the appeal whose id is its problem's id
REPEATS = {"RP1"}


def _deadlines(appeal: Appeal) -> sla.Deadlines:
    sla_class = taxonomy.subcategories()[appeal.subcategory].sla_class
    return sla.deadlines_for(
        appeal.created_at, sla.Priority(appeal.priority), sla_class, official=appeal.official, region_tz=REGION_TZ
    )


def _insert_appeals(client: Client, appeals: list[Appeal]) -> None:
    rows = []
    for n, a in enumerate(appeals):
        due = _deadlines(a)
        rows.append(
            {
                "appeal_id": a.appeal_id,
                "source": a.source,
                "source_id": a.key,
                "created_at": a.created_at,
                "sector": taxonomy.subcategories()[a.subcategory].sector_code,
                "subcategory": a.subcategory,
                "municipality_code": a.municipality,
                "address": "",
                "lat": a.lat,
                "lon": a.lon,
                "text": "",
                "priority": a.priority,
                "status": "received",
                "sla_deadline_at": due.first_answer_at,
                "first_response_at": a.first_response_at,
                "ingested_at": a.created_at,
                "kafka_topic": f"raw.{a.source}",
                "kafka_partition": 0,
                "kafka_offset": n,
                "version": 1,
                "resolve_by": due.resolve_by,
                "applicant_pseudonym": "",
            }
        )
    for table in ("appeals", "appeals_dedup"):
        client.execute(f"INSERT INTO {DATABASE}.{table} ({', '.join(rows[0])}) VALUES", rows)


def _insert_events(client: Client, items: list[tuple[Appeal, tuple[str, datetime, dict[str, Any]]]]) -> None:
    rows = [
        {
            "appeal_id": a.appeal_id,
            "source": a.source,
            "source_id": a.key,
            "status": status,
            "event_at": at,
            "is_response": extra.get("is_response", False),
            "rating": extra.get("rating"),
            "detail": "",
            "ingested_at": at,
            "kafka_topic": f"raw.{a.source}",
            "kafka_partition": 0,
            "kafka_offset": n,
            "executor": extra.get("executor", ""),
        }
        for n, (a, (status, at, extra)) in enumerate(items)
    ]
    client.execute(f"INSERT INTO {DATABASE}.appeal_status_events ({', '.join(rows[0])}) VALUES", rows)


def _insert_links(client: Client) -> None:
    by_key = {a.key: a for a in GOLDEN}
    rows = []
    for a in GOLDEN:
        first = by_key[PROBLEMS.get(a.key, a.key)]
        rows.append(
            {
                "appeal_id": a.appeal_id,
                "source": a.source,
                "source_id": a.key,
                "created_at": a.created_at,
                "problem_id": first.appeal_id,
                "is_repeat": a.key in REPEATS,
                "sector": "",
                "subcategory": a.subcategory,
                "municipality_code": a.municipality,
                "h3_cell": "",
                "street_key": "",
                "run_id": "golden",
                "computed_at": AS_OF,
            }
        )
    client.execute(f"INSERT INTO {DATABASE}.problem_links ({', '.join(rows[0])}) VALUES", rows)


def dbt(settings: Settings, command: str, **variables: Any) -> None:
    """Run dbt against the golden databases, as the DAG's task runs it (with a target of its own, so the
    project's dbt/target, which the DAG and the docs use, is left alone)."""
    env = {
        **os.environ,
        "CLICKHOUSE_DATABASE": DATABASE,
        "CUR_ANALYTICS_DATABASE": ANALYTICS,
        "DBT_TARGET_PATH": str(settings.state_dir / "dbt-golden" / "target"),
        "DBT_LOG_PATH": str(settings.state_dir / "dbt-golden" / "logs"),
    }
    project = str(REPO_ROOT / "dbt")
    args = [
        str(Path(sys.executable).with_name("dbt")),
        *command.split(),
        "--project-dir",
        project,
        "--profiles-dir",
        project,
        "--vars",
        json.dumps({k: v.isoformat() if isinstance(v, datetime) else v for k, v in variables.items()}),
    ]
    result = subprocess.run(args, env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:]


@pytest.fixture(scope="module")
def golden(settings: Settings, clickhouse: Client) -> Client:
    for db in (DATABASE, ANALYTICS):
        clickhouse.execute(f"DROP DATABASE IF EXISTS {db} SYNC")
    own = replace(settings, clickhouse_database=DATABASE, analytics_database=ANALYTICS)
    migrate(own)
    _insert_appeals(clickhouse, GOLDEN)
    _insert_events(clickhouse, [(a, e) for a in GOLDEN for e in a.events])
    _insert_links(clickhouse)
    # First build: as of 12:00 UTC on the 16th, the days up to the 16th (local).
    dbt(settings, "build --full-refresh", interval_end=utc(16, 21), as_of=utc(16, 12))
    clickhouse.execute(f"CREATE TABLE {DATABASE}.first_build ENGINE = Memory AS SELECT * FROM {ANALYTICS}.kpi_daily")
    # The answer to L1 arrives; the run of the 25th rebuilds its day and the 40-day look-back.
    _insert_events(clickhouse, [({a.key: a for a in GOLDEN}[LATE_ANSWER[0]], LATE_ANSWER[1])])
    dbt(settings, "build", interval_start=utc(24, 21), interval_end=utc(25, 21), as_of=AS_OF)
    return clickhouse


def _one(client: Client, sql: str) -> tuple:
    rows = client.execute(sql)
    assert len(rows) == 1, rows
    return rows[0]


def _states(client: Client) -> dict[str, tuple]:
    rows = client.execute(
        f"SELECT source_id, first_answer_state, resolution_state, toString(created_date), is_open, is_overdue,"
        f" round(overdue_hours, 2), round(first_answer_minutes, 2), round(resolution_hours, 2),"
        f" round(reaction_minutes, 2), is_returned, is_reopened, is_repeat, is_confirmed, rating, ministry_code,"
        f" executor FROM {ANALYTICS}.fct_appeals"
    )
    return {row[0]: row[1:] for row in rows}


def test_every_appeal_state_is_the_one_worked_out_by_hand(golden: Client) -> None:
    s = _states(golden)
    assert len(s) == len(GOLDEN)
    # (first answer, resolution, regional day, open, overdue, overdue h, answer min, resolution h, reaction min)
    expected = {
        "P1": ("met", "not_applicable", "2026-11-16", False, False, None, 480.0, 28.0, None),
        "P2": ("missed", "not_applicable", "2026-11-16", False, False, None, 480.02, None, None),
        "P3": ("missed", "not_applicable", "2026-11-16", True, True, 212.5, None, None, None),
        "P4": ("pending", "not_applicable", "2026-11-25", True, False, None, None, None, None),
        "P5": ("met", "not_applicable", "2026-11-17", False, False, None, 210.0, None, None),
        "P6": ("met", "not_applicable", "2026-11-16", False, False, None, 360.0, None, None),
        "L1": ("met", "not_applicable", "2026-11-16", False, False, None, 420.0, None, None),
        "X1": ("not_applicable", "not_applicable", "2026-11-17", False, False, None, None, None, None),
        "S1": ("met", "met", "2026-11-03", False, False, None, 120.0, 47.0, None),
        "S2": ("met", "met", "2026-11-13", False, False, None, 60.0, 26.0, None),
        "R1": ("met", "not_applicable", "2026-11-17", False, False, None, 240.0, 48.0, None),
        "RP1": ("met", "pending", "2026-11-18", True, False, None, 60.0, None, None),
        "D1": ("met", "not_applicable", "2026-11-18", False, False, None, 30.0, None, None),
        "D2": ("met", "not_applicable", "2026-11-18", False, False, None, 45.0, None, None),
        "SC1": ("not_applicable", "met", "2026-11-19", False, False, None, None, 24.0, 12.0),
        "H1": ("pending", "pending", "2026-11-19", True, False, None, None, None, None),
    }
    assert {k: v[:9] for k, v in s.items()} == expected
    # rework, reopen, repeat, confirmation (POS only: null elsewhere), rating
    assert s["R1"][9:14] == (True, True, False, True, 4)
    assert s["P1"][9:14] == (False, False, False, True, 5)
    assert s["P2"][12] is False and s["D1"][12] is None
    assert s["RP1"][11] is True
    assert s["P1"][14:] == ("minzdrav", "ГБУЗ КО «Поликлиника № 1»")
    assert s["R1"][14:] == ("minstroy", "ООО «УК Центр»")
    assert s["H1"][14] == "minstroy" and s["SC1"][15] == "МБУ «Спецавтохозяйство»"


def _daily(client: Client, table: str = f"{ANALYTICS}.kpi_daily") -> dict[tuple[str, str], tuple]:
    rows = client.execute(
        "SELECT toString(report_date), ministry_code, sum(appeals_received), sum(problems_new),"
        " sum(first_answer_met), sum(first_answer_missed), sum(first_answer_due), sum(first_answer_pending),"
        " sum(resolution_met), sum(resolution_missed), sum(resolution_due), sum(resolution_pending),"
        " sum(returned_appeals), sum(reopened_appeals), sum(repeat_appeals), sum(confirmed_appeals),"
        " sum(confirmable_appeals), sum(rated_appeals), sum(rating_sum), sum(signals_received)"
        f" FROM {table} GROUP BY 1, 2"
    )
    return {(r[0], r[1]): r[2:] for r in rows}


def test_daily_kpis_by_ministry(golden: Client) -> None:
    # (appeals, problems, FA met, missed, due, pending, RES met, missed, due, pending,
    #  returned, reopened, repeats, confirmed, confirmable, rated, rating sum, signals)
    assert _daily(golden) == {
        # P1 met, P2 missed, P3 missed, P6 met, L1 met (late answer): 3 of 5 on time; P1 confirmed, rated 5
        ("2026-11-16", "minzdrav"): (5, 5, 3, 2, 5, 0, 0, 0, 0, 0, 0, 0, 0, 1, 5, 1, 5, 0),
        # P5 met; X1 rejected: counted as received, owed nothing
        ("2026-11-17", "minzdrav"): (2, 2, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0),
        ("2026-11-25", "minzdrav"): (1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0),
        ("2026-11-03", "mindor"): (1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0),
        ("2026-11-13", "mindor"): (1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0),
        # RP1 (a repeat, fix pending), D1 and D2 (one problem): 3 appeals, 2 problems; D1 is a 112 card
        ("2026-11-18", "mindor"): (3, 2, 3, 0, 3, 0, 0, 0, 0, 1, 0, 0, 1, 0, 2, 0, 0, 0),
        # R1 returned and reopened, confirmed with a 4
        ("2026-11-17", "minstroy"): (1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 1, 4, 0),
        # SC1 (a signal: resolution met, no first answer) and H1 (59-FZ, both pending)
        ("2026-11-19", "minstroy"): (2, 2, 0, 0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1),
    }


def test_an_answer_after_the_first_build_changes_the_day(golden: Client) -> None:
    first = _daily(golden, f"{DATABASE}.first_build")
    # As of 12:00 on the 16th: P1 answered 14:00 and P2 15:00:01 had not happened yet; P1's deadline
    # (14:00), P2's (15:00), P3's (15:30) and L1's (16:00) had not come. All pending, none due.
    assert first[("2026-11-16", "minzdrav")][2:6] == (0, 0, 0, 5)
    assert _daily(golden)[("2026-11-16", "minzdrav")][2:6] == (3, 2, 5, 0)


def test_percentiles_merge_at_any_cut(golden: Client) -> None:
    # minzdrav's answered appeals: 210, 360, 420, 480, 480.02 min. quantileExact takes the value at
    # rank floor(level · n): the 3rd of 5 for the median, the 5th for p90.
    p50, p90 = _one(
        golden,
        f"SELECT round(quantilesExactMerge(0.5, 0.9)(first_answer_minutes_q)[1], 2),"
        f" round(quantilesExactMerge(0.5, 0.9)(first_answer_minutes_q)[2], 2)"
        f" FROM {ANALYTICS}.kpi_weekly WHERE ministry_code = 'minzdrav' AND period_start = '2026-11-16'",
    )
    assert (p50, p90) == (420.0, 480.02)
    # the weekly view sums the same counts as the days
    assert _one(
        golden, f"SELECT sum(first_answer_due) FROM {ANALYTICS}.kpi_weekly WHERE period_start = '2026-11-16'"
    ) == (10,)


def test_backlog_is_a_stock_at_each_day_end(golden: Client) -> None:
    rows = golden.execute(
        f"SELECT toString(snapshot_date), sum(open_backlog), sum(overdue_backlog),"
        f" round(sum(overdue_age_hours_sum), 2),"
        f" round(max(overdue_age_hours_max), 2) FROM {ANALYTICS}.backlog_daily"
        f" WHERE snapshot_date IN ('2026-11-16', '2026-11-25') GROUP BY 1 ORDER BY 1"
    )
    # End of the 16th (21:00 UTC): P3 (overdue since 15:30, 5.5 h) and P6 (created 20:59:59, due 04:59:59).
    # As of 12:00 on the 25th: P3 (212.5 h overdue), P4, RP1 (fix due the 26th) and H1.
    assert rows == [("2026-11-16", 2, 1, 5.5, 5.5), ("2026-11-25", 4, 1, 212.5, 212.5)]


def test_tiny_denominators_get_no_tension_rank(golden: Client) -> None:
    # Kaluga × healthcare has 7 appeals in the week of the 16th: below the 10 a rank needs.
    ranked, rank = _one(
        golden,
        f"SELECT is_ranked, tension_rank FROM {ANALYTICS}.tension_weekly"
        f" WHERE week_start = '2026-11-16' AND municipality_code = '{KALUGA}' AND sector = 'healthcare'",
    )
    assert (ranked, rank) == (False, None)


REPORT_WEEK = date(2026, 11, 16)  # Monday: the week of most golden appeals


def test_a_weekly_report_on_these_marts_carries_their_figures(
    settings: Settings, golden: Client, tmp_path: Path
) -> None:
    """The weekly report (reports/) rendered from the marts this real `dbt build` made, not stand-ins: its PDF
    text and XLSX cells are the marts' figures of the week for Kaluga and for minzdrav (tests/e2e/report_figures.py).
    A thin week: no municipality × sector reaches the 10 appeals a tension rank needs, and minzdrav has no
    resolution due, so those read «—» and the checks expect exactly that."""
    own = replace(settings, clickhouse_database=DATABASE, analytics_database=ANALYTICS)
    marts = Marts(golden, own)
    gate = week_gate(golden, own, REPORT_WEEK)
    for recipient in (Recipient("municipality", KALUGA, ()), Recipient("ministry", "minzdrav", ())):
        data = marts.report(recipient, REPORT_WEEK)
        pdf, xlsx = render.render(data, gate, own.tz, "25.11.2026 15:00")
        pdf_path, xlsx_path = tmp_path / f"{recipient.key}.pdf", tmp_path / f"{recipient.key}.xlsx"
        pdf_path.write_bytes(pdf)
        xlsx_path.write_bytes(xlsx)
        pages = report_figures.check_pdf(golden, ANALYTICS, recipient.key, str(pdf_path), REPORT_WEEK)
        assert "16.11.2026 — 22.11.2026" in pages[0] and "нет данных о проверке" in pages[0], recipient.key
        report_figures.check_xlsx(golden, ANALYTICS, recipient.key, str(xlsx_path), REPORT_WEEK, own.tz)


MARTS = (
    "fct_appeals",
    "sla_breaches",
    "kpi_daily",
    "backlog_daily",
    "tension_weekly",
    "heatmap_cells_weekly",
    "heatmap_weekly",
)


def _snapshot(client: Client) -> dict[str, list]:
    result = {}
    for mart in MARTS:
        columns = [
            name
            for (name,) in client.execute(
                f"SELECT name FROM system.columns WHERE database = '{ANALYTICS}' AND table = '{mart}'"
                " AND type NOT LIKE 'AggregateFunction%'"
            )
        ]
        result[mart] = sorted(client.execute(f"SELECT {', '.join(columns)} FROM {ANALYTICS}.{mart}"), key=repr)
    return result


def _runs_in_shuffled_order(settings: Settings) -> None:
    """Three runs in shuffled order whose look-backs together cover every day of the dataset."""
    days = [date(2026, 11, 25), date(2026, 11, 14), date(2026, 11, 4)]
    random.Random(7).shuffle(days)
    for day in days:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=3)
        dbt(
            settings, "run", interval_start=start, interval_end=start + timedelta(days=1), as_of=AS_OF, lookback_days=10
        )


def test_full_refresh_equals_incremental_runs_in_any_order(settings: Settings, golden: Client) -> None:
    incremental = _snapshot(golden)
    dbt(settings, "run --full-refresh", interval_end=utc(25, 21), as_of=AS_OF)
    full = _snapshot(golden)
    assert full == incremental
    # From empty marts: every mart of the runs' own days equals the full refresh...
    for mart in MARTS:
        golden.execute(f"DROP TABLE IF EXISTS {ANALYTICS}.{mart}")
    _runs_in_shuffled_order(settings)
    again = _snapshot(golden)
    assert {m: rows for m, rows in again.items() if m != "backlog_daily"} == {
        m: rows for m, rows in full.items() if m != "backlog_daily"
    }
    # ...but a day's backlog counts appeals of every earlier day, so a run that came before the build of
    # the days before it missed them (the model's header says so). Once every day is built, the same
    # runs in the same shuffled order give the full refresh's backlog too.
    _runs_in_shuffled_order(settings)
    assert _snapshot(golden) == full


RELAID = {"backlog_daily": "snapshot_date", "sla_breaches": "created_date", "heatmap_cells_weekly": "week_start"}


def _layouts(client: Client) -> dict[str, tuple[str, str]]:
    rows = client.execute(
        "SELECT name, partition_key, sorting_key FROM system.tables WHERE database = %(db)s AND name IN %(names)s",
        {"db": ANALYTICS, "names": tuple(RELAID)},
    )
    return {name: (partition_key, sorting_key) for name, partition_key, sorting_key in rows}


def test_a_mart_made_with_another_layout_is_laid_out_again(settings: Settings, golden: Client) -> None:
    # Tables made before a change of the models' partition_by and order_by (as backlog_daily's month
    # partitions were): REPLACE PARTITION from the run's new data would fail on them ("different partition
    # key"). The next incremental run copies their rows into the models' layout first and goes on.
    before, wanted = _snapshot(golden), _layouts(golden)
    for mart, day in RELAID.items():
        golden.execute(
            f"CREATE TABLE {ANALYTICS}.{mart}__old ENGINE = MergeTree PARTITION BY toYYYYMM({day}) ORDER BY tuple()"
            f" AS SELECT * FROM {ANALYTICS}.{mart}"
        )
        golden.execute(f"EXCHANGE TABLES {ANALYTICS}.{mart}__old AND {ANALYTICS}.{mart}")
        golden.execute(f"DROP TABLE {ANALYTICS}.{mart}__old")
    old = _layouts(golden)
    assert all(old[mart] != wanted[mart] for mart in RELAID), old
    dbt(
        settings,
        "run --select " + " ".join(RELAID),
        interval_start=utc(24, 21),
        interval_end=utc(25, 21),
        as_of=AS_OF,
    )
    assert _layouts(golden) == wanted
    assert _snapshot(golden) == before
