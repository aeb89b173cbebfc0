"""Which source appeals stand behind a figure of a KPI mart: an auditor's trace, from the mart to Kafka.

    python -m cur.trace --mart kpi_daily --kpi first_answer_missed \\
        --where report_date=2026-11-20 --where ministry_code=min_transport [--format table|csv|json]

Lists the appeals that the figure counts, each with its lineage (source, source id, Kafka topic,
partition and offset, its problem), and checks that their number equals the figure in the mart.

The KPI formulas are not repeated here: they are read from dbt's manifest (`dbt/target/manifest.json`),
where the marts declare them as `meta.trace`:
- the model: `config.meta.trace = {from: fct_appeals, columns: {report_date: created_date}}`: the
  row-level model the figures are counted from, and the expressions over it of the mart's dimensions
  that are not fct_appeals columns of the same name;
- each KPI column: `meta.trace = "<condition over fct_appeals>"` (the figure counts the rows where it
  holds), or `{where: "<condition>", sum: "<expression>"}` for a sum (rating_sum). A mart without a
  column's meta (kpi_weekly, kpi_monthly sum kpi_daily) takes it from the model it is built from, in
  the manifest's lineage.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cur import settings as settings_module
from cur.clickhouse import native_client
from cur.settings import REPO_ROOT, Settings

MANIFEST = REPO_ROOT / "dbt" / "target" / "manifest.json"
LINEAGE = (
    "appeal_id",
    "source",
    "source_id",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
    "created_at",
    "problem_id",
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class TraceError(ValueError):
    """The trace cannot be made as asked (unknown mart, KPI or dimension, no trace meta)."""


@dataclass(frozen=True)
class Kpi:
    mart: str
    column: str
    source_model: str  # the row-level model (fct_appeals)
    condition: str
    sum_of: str | None  # None: the figure counts the rows
    dimensions: dict[str, str]  # mart dimension -> expression over the source model


def _models(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["name"]: n for n in manifest["nodes"].values() if n.get("resource_type") == "model"}


def _meta(node: dict[str, Any]) -> dict[str, Any]:
    return {**node.get("meta", {}), **node.get("config", {}).get("meta", {})}


def _column_trace(models: dict[str, dict[str, Any]], model: str, column: str) -> Any | None:
    """The column's trace meta, on the model or, failing that, on the models it is built from."""
    seen: set[str] = set()
    queue = [model]
    while queue:
        name = queue.pop(0)
        if name in seen or name not in models:
            continue
        seen.add(name)
        node = models[name]
        col = node.get("columns", {}).get(column)
        if col is not None:
            found = _meta(col).get("trace")
            if found is not None:
                return found
        parents = [p.rsplit(".", 1)[-1] for p in node.get("depends_on", {}).get("nodes", []) if p.startswith("model.")]
        queue += parents
    return None


def kpi_of(manifest: dict[str, Any], mart: str, column: str) -> Kpi:
    models = _models(manifest)
    if mart not in models:
        raise TraceError(f"no model {mart!r} in the dbt manifest")
    trace = _meta(models[mart]).get("trace")
    if not isinstance(trace, dict) or "from" not in trace:
        raise TraceError(f"{mart} has no meta.trace {{from: ..., columns: ...}}: it cannot be traced")
    found = _column_trace(models, mart, column)
    if found is None:
        raise TraceError(f"{mart}.{column} has no meta.trace (the fct_appeals condition it counts)")
    if isinstance(found, str):
        condition, sum_of = found, None
    elif isinstance(found, dict) and "where" in found:
        condition, sum_of = str(found["where"]), found.get("sum")
    else:
        raise TraceError(f"{mart}.{column}: meta.trace must be a condition or {{where: ..., sum: ...}}, got {found!r}")
    return Kpi(mart, column, str(trace["from"]), condition, sum_of, dict(trace.get("columns") or {}))


def load_manifest(path: Path = MANIFEST) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TraceError(f"{path} not found: run `dbt parse` (or the DAG) first") from None


@dataclass(frozen=True)
class Trace:
    kpi: Kpi
    where: dict[str, str]
    figure: float  # the mart's value at that cut (summed over its rows)
    rows: list[tuple]  # LINEAGE columns, then the summed value when the KPI is a sum

    @property
    def traced(self) -> float:
        if self.kpi.sum_of is None:
            return len(self.rows)
        return sum(row[-1] or 0 for row in self.rows)

    @property
    def agrees(self) -> bool:
        return self.figure == self.traced


def trace(settings: Settings, manifest: dict[str, Any], mart: str, column: str, where: dict[str, str]) -> Trace:
    kpi = kpi_of(manifest, mart, column)
    for name in (column, *where):
        if not _IDENTIFIER.match(name):
            raise TraceError(f"{name!r} is not a column name")
    db = settings.analytics_database
    params = {f"v{n}": value for n, value in enumerate(where.values())}
    mart_filter = " AND ".join(f"toString({name}) = %(v{n})s" for n, name in enumerate(where)) or "1"
    row_filter = " AND ".join(f"toString({kpi.dimensions.get(name, name)}) = %(v{n})s" for n, name in enumerate(where))
    conditions = " AND ".join(f"({c})" for c in (kpi.condition, row_filter) if c)
    extra = f", ({kpi.sum_of})" if kpi.sum_of else ""
    client = native_client(settings)
    try:
        figure = client.execute(f"SELECT sum({column}) FROM {db}.{mart} WHERE {mart_filter}", params)[0][0]
        rows = client.execute(
            f"SELECT {', '.join(LINEAGE)}{extra} FROM {db}.{kpi.source_model} WHERE {conditions}"
            " ORDER BY created_at, source, source_id",
            params,
        )
    finally:
        client.disconnect()
    return Trace(kpi, dict(where), figure or 0, rows)


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"--where needs column=value, got {text!r}")
    return name.strip(), value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cur.trace", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mart", required=True, help="a KPI mart of analytics (kpi_daily, kpi_weekly, ...)")
    parser.add_argument("--kpi", required=True, help="one of its measures (first_answer_missed, ...)")
    parser.add_argument("--where", type=_pair, action="append", default=[], help="dimension=value, repeatable")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    args = parser.parse_args(argv)
    settings = settings_module.load()
    try:
        result = trace(settings, load_manifest(args.manifest), args.mart, args.kpi, dict(args.where))
    except TraceError as exc:
        parser.error(str(exc))
    columns = [*LINEAGE, *([result.kpi.sum_of] if result.kpi.sum_of else [])]
    cut = ", ".join(f"{k}={v}" for k, v in result.where.items()) or "all rows"
    summary = (
        f"{args.mart}.{args.kpi} at {cut}: {result.figure:g} in the mart, {result.traced:g} from"
        f" {len(result.rows)} appeals of {result.kpi.source_model} where {result.kpi.condition}"
    )
    if args.format == "json":
        records = [
            dict(zip(columns, (str(v) if v is not None else None for v in row), strict=True)) for row in result.rows
        ]
        print(json.dumps({"summary": summary, "agrees": result.agrees, "appeals": records}, ensure_ascii=False))
    elif args.format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(result.rows)
    else:
        print(summary)
        for row in result.rows:
            print("  " + "  ".join(str(v) for v in row))
    if not result.agrees:
        print(f"the appeals listed do not add up to the figure: {summary}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
