"""The canonical model, its ClickHouse DDL and the taxonomy tables agree with each other."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cur import sla, taxonomy
from cur.migrate import MIGRATIONS_DIR, _statements
from cur.schema import (
    APPEAL_NAMESPACE,
    COLUMNS,
    SOURCES,
    STATUS_EVENT_COLUMNS,
    STATUSES,
    Appeal,
    InvalidAppeal,
    appeal_id_for,
)


def ddl_columns(sql: str) -> list[str]:
    body = sql[sql.index("(") + 1 : sql.index("ENGINE")]
    return [m.group(1) for m in re.finditer(r"^\s{4}(\w+)\s", body, flags=re.MULTILINE)]


def added_columns(table: str) -> list[str]:
    """Columns that later migrations add to `table` with ALTER TABLE ... ADD COLUMN."""
    found: list[str] = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        for statement in _statements(path.read_text()):
            if re.match(rf"ALTER TABLE \{{db\}}\.{table}\s", statement):
                found += re.findall(r"ADD COLUMN IF NOT EXISTS (\w+)", statement)
    return found


def test_appeals_table_columns_match_the_model() -> None:
    sql = (MIGRATIONS_DIR / "0001_appeals.sql").read_text()
    assert ddl_columns(sql) + added_columns("appeals") == list(COLUMNS)


def test_status_events_table_matches_the_model() -> None:
    sql = (MIGRATIONS_DIR / "0004_status_events_delivery_metrics.sql").read_text()
    create = next(s for s in _statements(sql) if "CREATE TABLE IF NOT EXISTS {db}.appeal_status_events" in s)
    assert ddl_columns(create) + added_columns("appeal_status_events") == list(STATUS_EVENT_COLUMNS)


def test_state_ranks_statuses_in_lifecycle_order() -> None:
    """Every repetition of the lifecycle order in the migrations (0004's view, 0008's state) is STATUSES."""
    lists = [
        re.findall(r"'([^']+)'", ranks.group(1))
        for path in sorted(MIGRATIONS_DIR.glob("*.sql"))
        for ranks in re.finditer(r"indexOf\(\s*\[(.*?)\]", path.read_text(), flags=re.DOTALL)
    ]
    assert len(lists) >= 3
    assert all(found == list(STATUSES) for found in lists)


def test_state_backfill_is_the_materialized_view_query() -> None:
    """0008 back-fills appeal_state_agg with the materialized view's own query, not a variant of it."""
    statements = _statements((MIGRATIONS_DIR / "0008_executor_appeal_state_agg.sql").read_text())
    view = next(s for s in statements if s.startswith("CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.appeal_state_mv"))
    backfill = next(s for s in statements if s.startswith("INSERT INTO {db}.appeal_state_agg"))
    assert view.split(" AS\n", 1)[1] == backfill.split("\n", 1)[1]


def test_source_enum_matches_the_model() -> None:
    sql = (MIGRATIONS_DIR / "0001_appeals.sql").read_text()
    enum = re.search(r"source\s+Enum8\((.*?)\),\n", sql)
    assert enum is not None
    assert re.findall(r"'([^']+)'", enum.group(1)) == list(SOURCES)


def test_migrations_are_idempotent_statements() -> None:
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        for statement in _statements(path.read_text()):
            safe = (
                "IF NOT EXISTS" in statement
                or re.match(r"DROP (TABLE|VIEW) IF EXISTS ", statement)  # recreating derived data
                or re.search(r"MODIFY SETTING [\w\s=,]+$", statement)
                or statement.startswith("CREATE OR REPLACE VIEW ")
                # aggregation states that a second insert of the same events leaves as they are (0008)
                or statement.startswith("INSERT INTO {db}.appeal_state_agg\n")
            )
            assert safe, f"{path.name}: every statement must be safe to re-run: {statement[:80]}"


def test_appeal_id_is_deterministic_per_source_and_id() -> None:
    assert appeal_id_for("pos", "1") == appeal_id_for("pos", "1")
    assert appeal_id_for("pos", "1") != appeal_id_for("112", "1")


def make_appeal(**overrides: object) -> Appeal:
    created = datetime(2026, 11, 20, 6, tzinfo=UTC)
    values: dict[str, object] = {
        "appeal_id": appeal_id_for("pos", "1"),
        "source": "pos",
        "source_id": "1",
        "created_at": created,
        "sector": "roads",
        "subcategory": "roads.pothole",
        "municipality_code": "29701000",
        "address": "",
        "lat": None,
        "lon": None,
        "text": "яма",
        "priority": sla.Priority.NORMAL,
        "status": "received",
        "sla_deadline_at": created + timedelta(hours=8),
        "first_response_at": None,
        "ingested_at": created,
        "kafka_topic": "raw.pos",
        "kafka_partition": 0,
        "kafka_offset": 0,
        "version": 1,
    }
    values.update(overrides)
    return Appeal(**values)  # type: ignore[arg-type]


@settings(max_examples=300)
@given(source=st.sampled_from(SOURCES), source_id=st.text(min_size=1, max_size=40))
def test_appeal_id_is_the_standard_uuid5(source: str, source_id: str) -> None:
    assert appeal_id_for(source, source_id) == uuid.uuid5(APPEAL_NAMESPACE, f"{source}:{source_id}")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"source": "fax"}, "unknown source"),
        ({"source_id": ""}, "empty source id"),
        ({"status": "lost"}, "unknown status"),
        ({"created_at": datetime(2026, 11, 20, 6)}, "created_at has no time zone"),
        ({"lat": 91.0}, "latitude"),
    ],
)
def test_invalid_appeals_are_refused(overrides: dict, message: str) -> None:
    with pytest.raises(InvalidAppeal, match=message):
        make_appeal(**overrides)


def test_row_has_times_as_epoch_milliseconds_and_plain_enum_values() -> None:
    appeal = make_appeal()
    row = appeal.as_row()
    assert len(row) == len(COLUMNS)
    assert row[COLUMNS.index("priority")] == "normal"
    assert row[COLUMNS.index("created_at")] == int(appeal.created_at.timestamp() * 1000)
    assert row[COLUMNS.index("first_response_at")] is None


def test_every_feed_code_maps_to_a_known_subcategory() -> None:
    subs = taxonomy.subcategories()
    for feed in SOURCES:
        codes = taxonomy.feed_codes(feed)
        assert codes, f"no mapping for feed {feed}"
        for code in codes:
            assert taxonomy.subcategory_for(feed, code).code in subs


def test_unmapped_code_is_an_error_not_a_guess() -> None:
    with pytest.raises(taxonomy.UnmappedCode, match="'0000'"):
        taxonomy.subcategory_for("pos", "0000")


def test_sla_classes_and_deadlines() -> None:
    assert {s.sla_class for s in taxonomy.subcategories().values()} <= {
        "normal",
        "high",
        "emergency",
        "fast_garbage",
        "fast_pothole",
        "fast_snow",
    }
    created = datetime(2026, 11, 20, 6, tzinfo=UTC)
    assert sla.first_answer_deadline(created, sla.Priority.EMERGENCY) == created + timedelta(hours=1)
    assert sla.first_answer_deadline(created, sla.Priority.HIGH) == created + timedelta(hours=3)
    assert sla.first_answer_deadline(created, sla.Priority.NORMAL) == created + timedelta(hours=8)
    assert sla.priority_for("normal", emergency=True) is sla.Priority.EMERGENCY
    assert sla.priority_for("emergency", high=True) is sla.Priority.EMERGENCY
    with pytest.raises(ValueError, match="time zone"):
        sla.first_answer_deadline(datetime(2026, 11, 20), sla.Priority.NORMAL)
