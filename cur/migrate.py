"""Apply the versioned ClickHouse migrations in `cur/migrations/` in order; safe to re-run.

Each applied file is recorded in `{db}.schema_migrations` with its checksum; a recorded file
whose text has changed is an error, because a migration that already ran must not be edited.
A migration names the canonical database `{db}`, the analytics database `{analytics}` (dbt's, for
views that read its tables) and the region's time zone `{tz}` (CUR_REGION_TZ, for partition keys by
the region-local month), all filled in from settings.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
from pathlib import Path

from clickhouse_driver import Client

from cur import settings as settings_module
from cur import sla
from cur.clickhouse import native_client

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
ADDRESSES_PATH = Path(__file__).resolve().parent / "reference" / "addresses.csv"
BOUNDARIES_PATH = Path(__file__).resolve().parent / "reference" / "municipalities.geojson"
_POINT_COLUMNS = ("lat_first", "lon_first", "lat_last", "lon_last")
log = logging.getLogger("cur.migrate")


def _statements(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _fill(text: str, settings: settings_module.Settings) -> str:
    names = {"{db}": settings.clickhouse_database, "{analytics}": settings.analytics_database, "{tz}": settings.tz.key}
    for placeholder, value in names.items():
        text = text.replace(placeholder, value)
    return text


def migrate(settings: settings_module.Settings) -> list[str]:
    """Returns the names of the migrations applied by this call."""
    client = native_client(settings)
    db = settings.clickhouse_database
    client.execute(f"CREATE DATABASE IF NOT EXISTS {db}")
    client.execute(f"CREATE DATABASE IF NOT EXISTS {settings.analytics_database}")
    client.execute(
        f"CREATE TABLE IF NOT EXISTS {db}.schema_migrations "
        "(name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        "ENGINE = MergeTree ORDER BY name"
    )
    applied = dict(client.execute(f"SELECT name, checksum FROM {db}.schema_migrations"))
    done: list[str] = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        checksum = hashlib.sha256(text.encode()).hexdigest()
        if path.name in applied:
            if applied[path.name] != checksum:
                raise RuntimeError(f"migration {path.name} was edited after it was applied; add a new one instead")
            continue
        for statement in _statements(_fill(text, settings)):
            client.execute(statement)
        client.execute(f"INSERT INTO {db}.schema_migrations (name, checksum) VALUES", [(path.name, checksum)])
        log.info("applied %s", path.name)
        done.append(path.name)
    _load_calendar(client, db)
    _load_addresses(client, db)
    _load_boundaries(client, db)
    client.disconnect()
    return done


def _load_calendar(client: Client, db: str) -> None:
    """Replace {db}.production_calendar with every day of the covered years, as cur.sla counts them."""
    rows = sla.calendar_days()
    client.execute(f"TRUNCATE TABLE IF EXISTS {db}.production_calendar")
    client.execute(f"INSERT INTO {db}.production_calendar (day, is_working_day, kind, reason) VALUES", rows)


def _load_addresses(client: Client, db: str) -> None:
    """Replace {db}.address_registry with cur/reference/addresses.csv (the stand-in for the region's ГАР)."""
    with ADDRESSES_PATH.open(encoding="utf-8", newline="") as file:
        rows = [
            (r["municipality_code"], r["street"], int(r["houses"]), *(float(r[c]) for c in _POINT_COLUMNS))
            for r in csv.DictReader(file)
        ]
    client.execute(f"TRUNCATE TABLE IF EXISTS {db}.address_registry")
    client.execute(
        f"INSERT INTO {db}.address_registry (municipality_code, street, houses, {', '.join(_POINT_COLUMNS)}) VALUES",
        rows,
    )


def boundary_rows() -> list[tuple[str, str, str, float, float, float]]:
    """The rows of {db}.municipality_boundaries: one per feature of cur/reference/municipalities.geojson."""
    features = json.loads(BOUNDARIES_PATH.read_text(encoding="utf-8"))["features"]
    rows = []
    for feature in features:
        p = feature["properties"]
        geometry = json.dumps(feature["geometry"], separators=(",", ":"))
        rows.append(
            (
                p["municipality_code"],
                p["municipality_name_ru"],
                geometry,
                p["centre_lat"],
                p["centre_lon"],
                p["area_km2"],
            )
        )
    return rows


def _load_boundaries(client: Client, db: str) -> None:
    """Replace {db}.municipality_boundaries with the file (the heat map's choropleth reads it through dbt)."""
    client.execute(f"TRUNCATE TABLE IF EXISTS {db}.municipality_boundaries")
    client.execute(
        f"INSERT INTO {db}.municipality_boundaries"
        " (municipality_code, municipality_name_ru, boundary, centre_lat, centre_lon, area_km2) VALUES",
        boundary_rows(),
    )


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    applied = migrate(settings_module.load())
    print(f"migrations applied: {len(applied)} ({', '.join(applied) or 'schema already current'})")


if __name__ == "__main__":
    main()
