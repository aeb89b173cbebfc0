"""One canonical taxonomy (sector → subcategory) and the versioned mapping from every feed's codes.

The tables are CSV files beside this module, so analysts and auditors can read them and dbt can
load the same files as seeds. A feed code that is not in `feed_codes.csv` is never guessed:
`subcategory_for` raises `UnmappedCode` and the record is rejected with that reason.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TAXONOMY_DIR = Path(__file__).resolve().parent


class UnmappedCode(LookupError):
    """A feed sent a code that the mapping table does not know."""


@dataclass(frozen=True)
class Subcategory:
    code: str
    name_ru: str
    sector_code: str
    sector_name_ru: str
    sla_class: str


def _read(name: str) -> list[dict[str, str]]:
    with (TAXONOMY_DIR / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@cache
def subcategories() -> dict[str, Subcategory]:
    return {
        row["subcategory_code"]: Subcategory(
            code=row["subcategory_code"],
            name_ru=row["subcategory_name_ru"],
            sector_code=row["sector_code"],
            sector_name_ru=row["sector_name_ru"],
            sla_class=row["sla_class"],
        )
        for row in _read("subcategories.csv")
    }


@cache
def sectors() -> dict[str, str]:
    """Sector code → Russian name, in the order of the table."""
    return {s.sector_code: s.sector_name_ru for s in subcategories().values()}


@cache
def _feed_codes() -> dict[tuple[str, str], str]:
    return {(row["feed"], row["feed_code"]): row["subcategory_code"] for row in _read("feed_codes.csv")}


def feed_codes(feed: str) -> list[str]:
    """The codes of one feed that the mapping table knows, sorted."""
    return sorted(code for (f, code) in _feed_codes() if f == feed)


@cache
def municipalities() -> dict[str, str]:
    """OKTMO code → Russian name."""
    return {row["municipality_code"]: row["municipality_name_ru"] for row in _read("municipalities.csv")}


@cache
def municipality_by_name() -> dict[str, str]:
    return {name.casefold(): code for code, name in municipalities().items()}


def subcategory_for(feed: str, feed_code: object) -> Subcategory:
    key = (feed, str(feed_code).strip())
    try:
        return subcategories()[_feed_codes()[key]]
    except KeyError:
        raise UnmappedCode(f"{feed} code {key[1]!r} is not in the taxonomy mapping") from None
