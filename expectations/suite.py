"""The expectation suites of every layer, derived from the code that defines each closed set.

Allowed values come from `cur.schema`, `cur.sla`, `cur.taxonomy` and the linkage's guard
(`spark_jobs/problems/linkage.toml`), thresholds from `expectations/rules.toml`, rather than being
typed in: the committed JSON suites repeat them, and a unit test fails while they are stale
(re-run `python -m expectations.build_context`).

Every expectation carries a severity (GX's own `severity` field): `critical` stops the interval's
publication, `warning` is recorded and shown. `meta.layer` names the layer, `meta.why` says what a
failure means, for the Data Docs reader and for `cur.dq_results`.

Each suite validates one frame that `expectations.frames` reads from ClickHouse; checks that need
the history or another table (volume bands, reconciliations, cluster extents) are computed there in
SQL, so GX compares a few columns instead of loading whole tables.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cur import sla, taxonomy
from cur.schema import SOURCES, STATUSES
from cur.sla import Priority

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite
    from great_expectations.expectations import Expectation

RULES_PATH = Path(__file__).resolve().parent / "rules.toml"
LINKAGE_PATH = Path(__file__).resolve().parent.parent / "spark_jobs" / "problems" / "linkage.toml"
CRITICAL, WARNING = "critical", "warning"
# Layers in the order the gate runs them; `source` layers gate the marts' build, `marts` checks them.
LAYERS: tuple[str, ...] = ("reference", "raw", "canonical", "problems", "marts")
SOURCE_LAYERS: tuple[str, ...] = ("reference", "raw", "canonical", "problems")


@functools.cache
def rules() -> dict[str, Any]:
    with RULES_PATH.open("rb") as f:
        return tomllib.load(f)


@functools.cache
def linkage_guard() -> dict[str, Any]:
    with LINKAGE_PATH.open("rb") as f:
        return tomllib.load(f)["guard"]


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    layer: str
    notes: str
    build: Callable[[], list[Expectation]]


def _mark(expectation: Expectation, severity: str, layer: str, why: str) -> Expectation:
    expectation.severity = severity  # type: ignore[assignment]
    expectation.meta = {"layer": layer, "why": why}
    return expectation


def _code_sets() -> dict[str, tuple[list[str], str]]:
    """Each coded column of an appeal, its closed set and where that set is defined."""
    return {
        "sector": (sorted(taxonomy.sectors()), "cur/taxonomy/subcategories.csv"),
        "subcategory": (sorted(taxonomy.subcategories()), "cur/taxonomy/subcategories.csv"),
        "municipality_code": (sorted(taxonomy.municipalities()), "cur/taxonomy/municipalities.csv"),
        "priority": ([p.value for p in Priority], "cur.sla.Priority"),
        "status": (list(STATUSES), "cur.schema.STATUSES"),
    }


def _known_codes(layer: str, columns: tuple[str, ...] | None = None) -> list[Expectation]:
    import great_expectations.expectations as gxe

    return [
        _mark(gxe.ExpectColumnValuesToBeInSet(column=c, value_set=values), CRITICAL, layer, f"{c} known to {where}")
        for c, (values, where) in _code_sets().items()
        if columns is None or c in columns
    ]


def _raw_feed(feed: str) -> Callable[[], list[Expectation]]:
    def build() -> list[Expectation]:
        import great_expectations.expectations as gxe

        layer = "raw"
        times = rules()["times"]
        started = times["feed_started"][feed]
        required = ["appeal_id", "source_id", "created_at", "sector", "subcategory", "municipality_code"]
        required += ["priority", "status", "sla_deadline_at", "kafka_topic", "kafka_partition", "kafka_offset"]
        out: list[Expectation] = [
            _mark(gxe.ExpectColumnValuesToNotBeNull(column=c), CRITICAL, layer, f"every landed appeal has {c}")
            for c in required
        ]
        out += [
            _mark(
                gxe.ExpectColumnValuesToBeInSet(column="source", value_set=[feed]),
                CRITICAL,
                layer,
                "the frame holds this feed only",
            ),
            _mark(
                gxe.ExpectColumnValuesToNotBeInSet(column="source_id", value_set=[""]),
                CRITICAL,
                layer,
                "a source id identifies the record in its feed",
            ),
            _mark(
                gxe.ExpectCompoundColumnsToBeUnique(column_list=["kafka_topic", "kafka_partition", "kafka_offset"]),
                CRITICAL,
                layer,
                "one landed appeal per raw record (lineage: topic, partition, offset)",
            ),
            *_known_codes(layer),
            _mark(
                gxe.ExpectColumnValuesToBeBetween(
                    column="minutes_after_landing", max_value=times["clock_skew_minutes"]
                ),
                CRITICAL,
                layer,
                "not created in the future: at most the clock skew after the record landed",
            ),
            _mark(
                gxe.ExpectColumnValuesToBeBetween(column="created_yyyymmdd", min_value=int(started.strftime("%Y%m%d"))),
                CRITICAL,
                layer,
                f"not created before the feed existed ({started.isoformat()})",
            ),
        ]
        return out

    return build


def _raw_status_events() -> list[Expectation]:
    import great_expectations.expectations as gxe

    layer = "raw"
    skew = rules()["times"]["clock_skew_minutes"]
    return [
        _mark(gxe.ExpectColumnValuesToNotBeNull(column=c), CRITICAL, layer, f"every status event has {c}")
        for c in ("source", "source_id", "status", "event_at", "kafka_topic", "kafka_offset")
    ] + [
        _mark(
            gxe.ExpectColumnValuesToBeInSet(column="source", value_set=list(SOURCES)),
            CRITICAL,
            layer,
            "a known feed",
        ),
        *_known_codes(layer, ("status",)),
        _mark(
            gxe.ExpectColumnValuesToBeBetween(column="minutes_after_landing", max_value=skew),
            CRITICAL,
            layer,
            "no step in the future: at most the clock skew after the record landed",
        ),
        _mark(
            gxe.ExpectColumnValuesToBeBetween(column="rating", min_value=1, max_value=5),
            CRITICAL,
            layer,
            "a rating is 1 to 5 stars",
        ),
    ]


def _raw_volumes() -> list[Expectation]:
    import great_expectations.expectations as gxe

    layer = "raw"
    volumes = rules()["volumes"]
    return [
        _mark(
            gxe.ExpectColumnDistinctValuesToEqualSet(column="feed", value_set=list(SOURCES)),
            CRITICAL,
            layer,
            "one row per feed",
        ),
        _mark(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="received", column_B="silent_floor", or_equal=True),
            CRITICAL,
            layer,
            f"a feed whose usual day has at least {volumes['silent_median']} appeals sent some: "
            "an empty day is an outage, not a quiet day",
        ),
        _mark(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="received", column_B="band_low", or_equal=True),
            WARNING,
            layer,
            "the day's appeals not below the usual band of this feed and weekday",
        ),
        _mark(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="band_high", column_B="received", or_equal=True),
            WARNING,
            layer,
            "the day's appeals not above the usual band of this feed and weekday",
        ),
        _mark(
            gxe.ExpectColumnValuesToBeBetween(
                column="rejected_share", min_value=0, max_value=volumes["rejected_share_max"]
            ),
            WARNING,
            layer,
            "few of the feed's records of the day rejected (cur.rejected_events)",
        ),
    ]


def _canonical() -> list[Expectation]:
    import great_expectations.expectations as gxe

    layer = "canonical"
    subcategories = taxonomy.subcategories()
    region = rules()["region"]
    first_answer_hours = [d.total_seconds() / 3600 for d in sla.FIRST_ANSWER_DEADLINE.values()]
    return [
        _mark(gxe.ExpectTableRowCountToBeBetween(min_value=1), CRITICAL, layer, "the interval has appeals"),
        _mark(gxe.ExpectColumnValuesToNotBeNull(column="appeal_id"), CRITICAL, layer, "every appeal has an id"),
        _mark(gxe.ExpectColumnValuesToBeUnique(column="appeal_id"), CRITICAL, layer, "one row per appeal id"),
        _mark(
            gxe.ExpectColumnValuesToBeBetween(column="copies", min_value=1, max_value=1),
            CRITICAL,
            layer,
            "one canonical row per (source, source id): the dedup job left no copy (read without FINAL)",
        ),
        _mark(
            gxe.ExpectColumnValuesToBeInSet(column="source", value_set=list(SOURCES)), CRITICAL, layer, "a known feed"
        ),
        _mark(gxe.ExpectColumnValuesToNotBeNull(column="source_id"), CRITICAL, layer, "every appeal has a source id"),
        *_known_codes(layer),
        _mark(
            gxe.ExpectColumnPairValuesToBeInSet(
                column_A="sector",
                column_B="subcategory",
                value_pairs_set=sorted((s.sector_code, code) for code, s in subcategories.items()),
            ),
            CRITICAL,
            layer,
            "the subcategory belongs to the sector",
        ),
        _mark(gxe.ExpectColumnValuesToNotBeNull(column="created_at"), CRITICAL, layer, "every appeal has a time"),
        _mark(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="sla_deadline_at", column_B="created_at"),
            CRITICAL,
            layer,
            "the first-answer deadline is after the appeal",
        ),
        _mark(
            gxe.ExpectColumnValuesToBeBetween(
                column="first_answer_hours", min_value=min(first_answer_hours), max_value=None
            ),
            CRITICAL,
            layer,
            "no first-answer deadline shorter than the shortest rule of cur/sla_rules.toml",
        ),
        _mark(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="resolve_by", column_B="created_at", ignore_row_if="either_value_is_missing"
            ),
            CRITICAL,
            layer,
            "a fix or 59-FZ deadline is after the appeal",
        ),
        _mark(
            gxe.ExpectColumnValuesToBeInSet(column="sla_matches_rules", value_set=[True]),
            CRITICAL,
            layer,
            f"recorded deadlines equal cur.sla's for a sample of {rules()['sla']['sample_size']} appeals "
            "(empty: not in the sample)",
        ),
        _mark(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="first_response_at",
                column_B="created_at",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            ),
            CRITICAL,
            layer,
            "no answer before the appeal",
        ),
        _mark(
            gxe.ExpectColumnValuesToBeBetween(column="lat", min_value=region["lat_min"], max_value=region["lat_max"]),
            CRITICAL,
            layer,
            "the point lies inside the region (latitude)",
        ),
        _mark(
            gxe.ExpectColumnValuesToBeBetween(column="lon", min_value=region["lon_min"], max_value=region["lon_max"]),
            CRITICAL,
            layer,
            "the point lies inside the region (longitude)",
        ),
    ]


def _problems() -> list[Expectation]:
    import great_expectations.expectations as gxe

    layer = "problems"
    guard = linkage_guard()
    # ClickHouse's greatCircleDistance differs from the job's haversine by well under 1 %.
    max_extent = round(guard["max_extent_m"] * 1.01, 1)
    return [
        _mark(
            gxe.ExpectColumnValuesToNotBeNull(column="problem_id"),
            CRITICAL,
            layer,
            "every canonical appeal of the interval is linked to a problem (cur.problem_links)",
        ),
        _mark(
            gxe.ExpectColumnValuesToBeBetween(column="problem_sectors", min_value=1, max_value=1),
            CRITICAL,
            layer,
            "a problem's reports are of one sector (both blocking rules compare the sector)",
        ),
        _mark(
            gxe.ExpectColumnValuesToBeBetween(column="problem_extent_m", min_value=0, max_value=max_extent),
            CRITICAL,
            layer,
            f"a problem spans at most {guard['max_extent_m']} m (the linkage's guard)",
        ),
        _mark(
            gxe.ExpectColumnValuesToBeBetween(
                column="problem_span_days", min_value=0, max_value=guard["max_span_days"]
            ),
            CRITICAL,
            layer,
            f"a problem spans at most {guard['max_span_days']} days (the linkage's guard)",
        ),
        _mark(
            gxe.ExpectColumnValuesToBeUnique(column="appeal_id"),
            CRITICAL,
            layer,
            "an appeal belongs to one problem",
        ),
    ]


def _reference() -> list[Expectation]:
    import great_expectations.expectations as gxe

    layer = "reference"
    calendar = rules()["calendar"]
    return [
        _mark(
            gxe.ExpectColumnValuesToBeBetween(column="days_ahead", min_value=calendar["critical_days"]),
            CRITICAL,
            layer,
            f"the production calendar (cur/calendar/, cur.production_calendar) covers the next "
            f"{calendar['critical_days']} days: deadlines beyond it cannot be computed",
        ),
        _mark(
            gxe.ExpectColumnValuesToBeBetween(column="days_after_latest_appeal", min_value=calendar["critical_days"]),
            CRITICAL,
            layer,
            f"the calendar covers {calendar['critical_days']} days beyond the latest appeal that landed",
        ),
        _mark(
            gxe.ExpectColumnValuesToBeBetween(column="days_ahead", min_value=calendar["warning_days"]),
            WARNING,
            layer,
            f"the calendar reaches {calendar['warning_days']} days ahead: time to add next year's decree",
        ),
        _mark(
            gxe.ExpectColumnValuesToBeInSet(column="sla_class", value_set=sorted(sla.RULES.sla_classes)),
            CRITICAL,
            layer,
            "every subcategory's sla_class has a rule in cur/sla_rules.toml",
        ),
    ]


def _marts() -> list[Expectation]:
    import great_expectations.expectations as gxe

    layer = "marts"
    shares = [
        _mark(
            gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1),
            CRITICAL,
            layer,
            f"{c} is a share: between 0 and 1",
        )
        for c in ("first_answer_share", "resolution_share", "repeat_share", "confirmed_share")
    ]
    return [
        *shares,
        _mark(
            gxe.ExpectColumnPairValuesToBeEqual(column_A="mart_appeals", column_B="canonical_appeals"),
            CRITICAL,
            layer,
            "appeals_received of analytics.kpi_daily sums to the canonical appeals of the day",
        ),
        _mark(
            gxe.ExpectColumnValuesToBeInSet(column="has_rows", value_set=[True]),
            CRITICAL,
            layer,
            "no day without rows in analytics.kpi_daily between its first day and the interval",
        ),
    ]


SUITES: tuple[SuiteSpec, ...] = (
    SuiteSpec("reference_data", "reference", "Reference data: production calendar and SLA classes.", _reference),
    *(
        SuiteSpec(
            f"raw_{feed}", "raw", f"Raw landing of the {feed} feed (cur.appeals) in the interval.", _raw_feed(feed)
        )
        for feed in SOURCES
    ),
    SuiteSpec(
        "raw_status_events",
        "raw",
        "Status events landed in the interval (cur.appeal_status_events).",
        _raw_status_events,
    ),
    SuiteSpec(
        "raw_volumes", "raw", "Per feed: the day's volume against its weekday band, rejected share.", _raw_volumes
    ),
    SuiteSpec("canonical_appeals", "canonical", "Canonical appeals of the interval (cur.appeals_dedup).", _canonical),
    SuiteSpec("problems", "problems", "Problem links of the interval's appeals (cur.problem_links).", _problems),
    SuiteSpec("kpi_marts", "marts", "KPI marts of the interval's days (analytics.kpi_daily).", _marts),
)
SUITE_NAMES: tuple[str, ...] = tuple(s.name for s in SUITES)


def spec(name: str) -> SuiteSpec:
    return next(s for s in SUITES if s.name == name)


def build_suite(name: str) -> ExpectationSuite:
    import great_expectations as gx

    suite_spec = spec(name)
    return gx.ExpectationSuite(
        name=name,
        expectations=suite_spec.build(),
        meta={"layer": suite_spec.layer, "notes": f"{suite_spec.notes} Built by expectations/suite.py."},
    )
