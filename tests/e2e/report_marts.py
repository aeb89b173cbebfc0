"""Stand-in KPI marts of the contract of issue 8, in a scratch database, for the report tests.

The tables have the columns and grain the contract names (`kpi_weekly`, `backlog_daily`,
`sla_breaches`, `tension_weekly`, `heatmap_weekly`, `fct_appeals`, the taxonomy seeds) and are
filled with seeded random figures: the tests compare what the reports show with what these tables
hold, read back with SQL of their own, so the random values are never restated in a test.
Quantile columns are real ClickHouse aggregate states, built from random samples with
`arrayReduce('quantilesExactState(0.5, 0.9)', ...)`, exactly as the marts store them.
"""

from __future__ import annotations

import csv
import json
import random
import uuid
from datetime import UTC, date, datetime, timedelta

import h3
from clickhouse_driver import Client

from cur import taxonomy
from cur.settings import Settings
from reports.marts import MEASURES  # the contract's additive measures of kpi_weekly

DIMS = (
    "sector String, sector_name_ru String, subcategory String, subcategory_name_ru String, sla_class String,"
    " municipality_code String, municipality_name_ru String, ministry_code String, ministry_name_ru String,"
    " executor String, source String"
)
STATES = ("first_answer_minutes_q", "resolution_hours_q", "reaction_minutes_q")
QSTATE = "AggregateFunction(quantilesExact(0.5, 0.9), Float64)"
# Rough centres of the municipalities, for H3 cells of the heat map.
CENTRES = {
    "29701000": (54.51, 36.26),
    "29715000": (55.10, 36.61),
    "29606000": (55.21, 36.49),
    "29623000": (55.01, 36.46),
    "29620000": (53.87, 34.44),
    "29616000": (54.04, 35.78),
    "29615000": (54.08, 34.31),
    "29612000": (55.03, 36.75),
    "29638000": (54.10, 35.35),
    "29639000": (54.72, 37.18),
}


def _owner(subcategory: str, sector: str) -> str:
    routes = {(r.sector_code, r.subcategory_code): r.authority_code for r in taxonomy.routing()}
    return routes.get((sector, subcategory)) or routes[(sector, "")]


def _seed(client: Client, db: str, table: str) -> None:
    with (taxonomy.TAXONOMY_DIR / f"{table}.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    columns = list(rows[0])
    client.execute(
        f"CREATE TABLE {db}.{table} ({', '.join(f'{c} String' for c in columns)}) ENGINE = MergeTree ORDER BY tuple()"
    )
    client.execute(f"INSERT INTO {db}.{table} VALUES", [tuple(r[c] for c in columns) for r in rows])


def build(client: Client, settings: Settings, db: str, last_week: date, weeks: int = 13, seed: int = 11) -> None:
    """Create `db` with the stand-in marts, `weeks` weeks ending with the week starting `last_week`."""
    rng = random.Random(seed)
    client.execute(f"DROP DATABASE IF EXISTS {db}")
    client.execute(f"CREATE DATABASE {db}")
    for table in ("subcategories", "municipalities", "authorities", "routing"):
        _seed(client, db, table)
    client.execute(
        f"CREATE TABLE {db}._kpi_input (period_start Date, {DIMS}, {', '.join(f'{m} UInt64' for m in MEASURES)},"
        f" {', '.join(f'{s} Array(Float64)' for s in STATES)}) ENGINE = Memory"
    )
    client.execute(
        f"CREATE TABLE {db}.kpi_weekly (period_start Date, {DIMS}, {', '.join(f'{m} UInt64' for m in MEASURES)},"
        f" {', '.join(f'{s} {QSTATE}' for s in STATES)}) ENGINE = MergeTree ORDER BY period_start"
    )
    client.execute(
        f"CREATE TABLE {db}.backlog_daily (snapshot_date Date, {DIMS}, open_backlog UInt64, overdue_backlog UInt64,"
        " overdue_age_hours_sum Float64, overdue_age_hours_max Float64) ENGINE = MergeTree ORDER BY snapshot_date"
    )
    client.execute(
        f"CREATE TABLE {db}.sla_breaches (appeal_id UUID, source String, source_id String, ministry_code String,"
        " ministry_name_ru String, municipality_code String, municipality_name_ru String, sector String,"
        " sector_name_ru String, executor String, created_at DateTime64(3, 'UTC'), due_at DateTime64(3, 'UTC'),"
        " breach_kind String, age_hours Float64, overdue_hours Float64, is_open Bool)"
        " ENGINE = MergeTree ORDER BY created_at"
    )
    client.execute(
        f"CREATE TABLE {db}.tension_weekly (week_start Date, municipality_code String, municipality_name_ru String,"
        " sector String, sector_name_ru String, ministry_code String, appeals UInt64, baseline_appeals Float64,"
        " growth Nullable(Float64), overdue UInt64, due UInt64, repeat_appeals UInt64, tension_index Float64,"
        " tension_index_prev_week Nullable(Float64), tension_change Nullable(Float64), tension_rank Nullable(UInt32),"
        " is_ranked Bool) ENGINE = MergeTree ORDER BY week_start"
    )
    client.execute(
        f"CREATE TABLE {db}.heatmap_weekly (week_start Date, h3_cell String, municipality_code String, sector String,"
        " cell_lat Float64, cell_lon Float64, cell_boundary String, appeals UInt64, problems UInt64, overdue UInt64,"
        " tension_index Float64) ENGINE = MergeTree ORDER BY week_start"
    )
    client.execute(
        f"CREATE TABLE {db}.fct_appeals (appeal_id UUID, created_at DateTime64(3, 'UTC'), ministry_code String,"
        " municipality_code String, evaluated_at DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY created_at"
    )
    authorities = taxonomy.authorities()
    municipalities = taxonomy.municipalities()
    subcategories = list(taxonomy.subcategories().values())
    week_starts = [last_week - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    kpi, backlog, breaches, heat, tension = [], [], [], [], []
    prev_index: dict[tuple[str, str], float] = {}
    for week in week_starts:
        week_appeals: dict[tuple[str, str], int] = {}
        for sub in subcategories:
            for muni in rng.sample(sorted(municipalities), 4):
                owner = _owner(sub.code, sub.sector_code)
                source = rng.choice(["pos", "112", "safe_city", "housing"])
                dims = (
                    sub.sector_code,
                    sub.sector_name_ru,
                    sub.code,
                    sub.name_ru,
                    sub.sla_class,
                    muni,
                    municipalities[muni],
                    owner,
                    authorities[owner].name_ru,
                    f"Исполнитель {rng.randint(1, 5)}",
                    source,
                )
                received = rng.randint(1, 40)
                fa_due = rng.randint(0, received)
                fa_met = rng.randint(0, fa_due)
                res_due = rng.randint(0, received)
                res_met = rng.randint(0, res_due)
                rated = rng.randint(0, received)
                values = {
                    "appeals_received": received,
                    "signals_received": received if source == "safe_city" else 0,
                    "problems_new": rng.randint(0, received),
                    "first_answer_met": fa_met,
                    "first_answer_missed": fa_due - fa_met,
                    "first_answer_due": fa_due,
                    "resolution_met": res_met,
                    "resolution_missed": res_due - res_met,
                    "resolution_due": res_due,
                    "returned_appeals": rng.randint(0, received // 3),
                    "reopened_appeals": rng.randint(0, received // 4),
                    "repeat_appeals": rng.randint(0, received // 3),
                    "confirmed_appeals": rng.randint(0, received),
                    "rated_appeals": rated,
                    "rating_sum": sum(rng.randint(1, 5) for _ in range(rated)),
                }
                samples = [
                    [round(rng.uniform(5, 900), 1) for _ in range(fa_due)],
                    [round(rng.uniform(1, 200), 1) for _ in range(res_due)],
                    [round(rng.uniform(1, 120), 1) for _ in range(values["signals_received"])],
                ]
                kpi.append((week, *dims, *values.values(), *samples))
                overdue = rng.randint(0, 6)
                ages = [rng.uniform(1, 400) for _ in range(overdue)]
                backlog.append(
                    (
                        week + timedelta(days=6),
                        *dims,
                        overdue + rng.randint(0, 20),
                        overdue,
                        sum(ages),
                        max(ages, default=0.0),
                    )
                )
                if week == last_week:
                    for age in ages[:2]:
                        created = datetime.combine(week, datetime.min.time(), UTC) - timedelta(hours=age)
                        breaches.append(
                            (
                                uuid.UUID(int=rng.getrandbits(128)),
                                source,
                                f"{source.upper()}-{rng.randint(10**5, 10**6)}",
                                owner,
                                authorities[owner].name_ru,
                                muni,
                                municipalities[muni],
                                sub.sector_code,
                                sub.sector_name_ru,
                                dims[9],
                                created,
                                created + timedelta(hours=8),
                                rng.choice(["first_answer", "resolution"]),
                                round(age + 24, 1),
                                round(age + 16, 1),
                                True,
                            )
                        )
                key = (muni, sub.sector_code)
                week_appeals[key] = week_appeals.get(key, 0) + received
        ranked = []
        for (muni, sector), appeals in sorted(week_appeals.items()):
            index = round(rng.uniform(0, 3), 3)
            prev = prev_index.get((muni, sector))
            owner = _owner("", sector)
            baseline = round(rng.uniform(5, 40), 1)
            row = [
                week,
                muni,
                municipalities[muni],
                sector,
                taxonomy.sectors()[sector],
                owner,
                appeals,
                baseline,
                round(appeals / baseline - 1, 3),
                rng.randint(0, appeals),
                appeals,
                rng.randint(0, appeals // 3),
                index,
                prev,
                None if prev is None else round(index - prev, 3),
                None,
                appeals >= 10,
            ]
            prev_index[(muni, sector)] = index
            tension.append(row)
            if row[-1]:
                ranked.append(row)
            centre = h3.latlng_to_cell(*CENTRES[muni], 8)
            for cell in rng.sample(h3.grid_disk(centre, 3), 4):
                lat, lon = h3.cell_to_latlng(cell)
                ring = [[lo, la] for la, lo in h3.cell_to_boundary(cell)]
                boundary = json.dumps({"type": "Polygon", "coordinates": [[*ring, ring[0]]]})
                heat.append(
                    (
                        week,
                        cell,
                        muni,
                        sector,
                        lat,
                        lon,
                        boundary,
                        rng.randint(1, 30),
                        rng.randint(1, 10),
                        rng.randint(0, 5),
                        index,
                    )
                )
        for rank, row in enumerate(sorted(ranked, key=lambda r: -r[12]), start=1):
            row[15] = rank
    client.execute(f"INSERT INTO {db}._kpi_input VALUES", kpi)
    dim_names = ", ".join(d.split()[0] for d in DIMS.split(", "))
    states = ", ".join(f"arrayReduce('quantilesExactState(0.5, 0.9)', {s})" for s in STATES)
    client.execute(
        f"INSERT INTO {db}.kpi_weekly SELECT period_start, {dim_names}, {', '.join(MEASURES)}, {states}"
        f" FROM {db}._kpi_input"
    )
    client.execute(f"DROP TABLE {db}._kpi_input")
    client.execute(f"INSERT INTO {db}.backlog_daily VALUES", backlog)
    client.execute(f"INSERT INTO {db}.sla_breaches VALUES", breaches)
    client.execute(f"INSERT INTO {db}.tension_weekly VALUES", [tuple(r) for r in tension])
    client.execute(f"INSERT INTO {db}.heatmap_weekly VALUES", heat)
    newest = datetime.combine(last_week + timedelta(days=6), datetime.min.time(), UTC) + timedelta(hours=20)
    evaluated = newest + timedelta(hours=7)
    client.execute(f"INSERT INTO {db}.fct_appeals VALUES", [(uuid.uuid4(), newest, "minzdrav", "29701000", evaluated)])
