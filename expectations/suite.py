"""The expectations of the canonical appeals table, derived from the code that defines it.

Allowed values come from `cur.schema`, `cur.sla` and `cur.taxonomy` rather than being typed in,
so the suite follows the taxonomy: after a taxonomy change, re-run `expectations.build_context`
(a unit test fails while the committed suite is stale).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cur import taxonomy
from cur.schema import SOURCES, STATUSES
from cur.sla import Priority
from expectations.context import SUITE

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite


def build_suite() -> ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    subcategories = taxonomy.subcategories()
    expectations = [
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        gxe.ExpectColumnValuesToNotBeNull(column="appeal_id"),
        gxe.ExpectColumnValuesToBeUnique(column="appeal_id"),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["source", "source_id"]),
        gxe.ExpectColumnValuesToBeInSet(column="source", value_set=list(SOURCES)),
        gxe.ExpectColumnValuesToNotBeNull(column="source_id"),
        gxe.ExpectColumnValuesToBeInSet(column="sector", value_set=sorted(taxonomy.sectors())),
        gxe.ExpectColumnValuesToBeInSet(column="subcategory", value_set=sorted(subcategories)),
        gxe.ExpectColumnPairValuesToBeInSet(
            column_A="sector",
            column_B="subcategory",
            value_pairs_set=sorted((s.sector_code, code) for code, s in subcategories.items()),
        ),
        gxe.ExpectColumnValuesToBeInSet(column="municipality_code", value_set=sorted(taxonomy.municipalities())),
        gxe.ExpectColumnValuesToBeInSet(column="priority", value_set=[p.value for p in Priority]),
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(STATUSES)),
        gxe.ExpectColumnValuesToNotBeNull(column="created_at"),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="sla_deadline_at", column_B="created_at"),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="first_response_at",
            column_B="created_at",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
        gxe.ExpectColumnValuesToBeBetween(column="lat", min_value=-90, max_value=90),
        gxe.ExpectColumnValuesToBeBetween(column="lon", min_value=-180, max_value=180),
    ]
    return gx.ExpectationSuite(
        name=SUITE,
        expectations=expectations,
        meta={"notes": "Canonical appeals of one data interval (cur.appeals_dedup). Built by expectations/suite.py."},
    )
