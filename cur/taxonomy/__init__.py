"""One canonical taxonomy (sector → subcategory) and the versioned mapping from every feed's codes.

The tables are CSV files beside this module, so analysts and auditors can read them and dbt can
load the same files as seeds. A feed code that is not in `feed_codes.csv` is never guessed:
`subcategory_for` raises `UnmappedCode` and the record is rejected with that reason.

Mapping versions (`feed_codes.csv`, column `mapping_version`): every row says in which version of the
mapping it appeared. Version 1 is the initial mapping; version 2 added POS codes the portal introduced
later (1103, 1405, 1604, 2201). The mapping in effect is, per (feed, feed_code), the row with the highest
version, so the history stays readable and an auditor can tell which codes a given version knew.

How to add a version (a reviewed data change, like the SLA rules):
1. Append rows with `mapping_version` = the current highest + 1 (`latest_mapping_version()`); never edit
   or delete a released row. To remap a code, append a row with the same feed and code and the new version:
   the newer row wins, the older one stays as history.
2. Every `subcategory_code` must exist in `subcategories.csv` (checked at load, and by the dbt seed tests).
3. Deploy, then replay the records rejected for the codes now mapped:
   `python -m streams.replay_rejected --replay --feed pos --reason-contains "taxonomy mapping" --note "v3"`.
Readers of the seed in SQL take, per (feed, feed_code), the row with the highest `mapping_version`.
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


@dataclass(frozen=True)
class FeedCode:
    feed: str
    code: str
    subcategory_code: str
    mapping_version: int


@cache
def _mapping_rows() -> tuple[FeedCode, ...]:
    """Every row of feed_codes.csv, validated: a broken mapping stops the pipeline, it never half-works."""
    rows: list[FeedCode] = []
    seen: set[tuple[str, str, int]] = set()
    known = subcategories()
    for number, row in enumerate(_read("feed_codes.csv"), start=2):
        version = row.get("mapping_version") or ""
        if not version.isdigit() or int(version) < 1:
            raise ValueError(f"feed_codes.csv line {number}: mapping_version {version!r} is not a positive integer")
        item = FeedCode(row["feed"], row["feed_code"].strip(), row["subcategory_code"], int(version))
        if item.subcategory_code not in known:
            raise ValueError(f"feed_codes.csv line {number}: unknown subcategory {item.subcategory_code!r}")
        if (item.feed, item.code, item.mapping_version) in seen:
            raise ValueError(
                f"feed_codes.csv line {number}: {item.feed} code {item.code!r} listed twice in one version"
            )
        seen.add((item.feed, item.code, item.mapping_version))
        rows.append(item)
    return tuple(rows)


def _mapping(version: int | None) -> dict[tuple[str, str], FeedCode]:
    """(feed, code) → the row in effect at `version` (None: the latest)."""
    result: dict[tuple[str, str], FeedCode] = {}
    for row in _mapping_rows():
        if version is not None and row.mapping_version > version:
            continue
        current = result.get((row.feed, row.code))
        if current is None or row.mapping_version > current.mapping_version:
            result[(row.feed, row.code)] = row
    return result


@cache
def _feed_codes() -> dict[tuple[str, str], str]:
    return {key: row.subcategory_code for key, row in _mapping(None).items()}


def latest_mapping_version() -> int:
    return max(row.mapping_version for row in _mapping_rows())


def mapping_version(feed: str, feed_code: object) -> int:
    """The version of the mapping row in effect for this code (when it was added or last remapped)."""
    key = (feed, str(feed_code).strip())
    row = _mapping(None).get(key)
    if row is None:
        raise UnmappedCode(f"{feed} code {key[1]!r} is not in the taxonomy mapping")
    return row.mapping_version


def feed_codes(feed: str, *, version: int | None = None) -> list[str]:
    """The codes of one feed that the mapping knows (at `version`, default the latest), sorted."""
    return sorted(code for (f, code) in _mapping(version) if f == feed)


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


@dataclass(frozen=True)
class Authority:
    code: str
    name_ru: str
    kind: str  # ministry | agency


AUTHORITY_KINDS = ("ministry", "agency")


@cache
def authorities() -> dict[str, Authority]:
    """Regional ministries and agencies that answer for sectors (names differ by region: configuration)."""
    result: dict[str, Authority] = {}
    for number, row in enumerate(_read("authorities.csv"), start=2):
        item = Authority(row["authority_code"], row["authority_name_ru"], row["authority_kind"])
        if item.kind not in AUTHORITY_KINDS:
            raise ValueError(f"authorities.csv line {number}: kind {item.kind!r} is not one of {AUTHORITY_KINDS}")
        if item.code in result:
            raise ValueError(f"authorities.csv line {number}: {item.code!r} listed twice")
        result[item.code] = item
    return result


@dataclass(frozen=True)
class Route:
    sector_code: str
    subcategory_code: str  # '' = the whole sector
    authority_code: str


@cache
def routing() -> tuple[Route, ...]:
    """Who answers for what: one row per sector, plus a row per subcategory whose owner differs.

    Validated here so that a gap or a typo stops the load; dbt joins the same CSV (seed `routing`),
    where a subcategory row wins over its sector's row.
    """
    known = subcategories()
    owners = authorities()
    rows: list[Route] = []
    seen: set[tuple[str, str]] = set()
    for number, row in enumerate(_read("routing.csv"), start=2):
        item = Route(row["sector_code"], row["subcategory_code"].strip(), row["authority_code"])
        if item.sector_code not in sectors():
            raise ValueError(f"routing.csv line {number}: unknown sector {item.sector_code!r}")
        if item.subcategory_code and known.get(item.subcategory_code, None) is None:
            raise ValueError(f"routing.csv line {number}: unknown subcategory {item.subcategory_code!r}")
        if item.subcategory_code and known[item.subcategory_code].sector_code != item.sector_code:
            raise ValueError(f"routing.csv line {number}: {item.subcategory_code!r} is not in {item.sector_code!r}")
        if item.authority_code not in owners:
            raise ValueError(f"routing.csv line {number}: unknown authority {item.authority_code!r}")
        if (item.sector_code, item.subcategory_code) in seen:
            raise ValueError(f"routing.csv line {number}: {item.sector_code}/{item.subcategory_code} routed twice")
        seen.add((item.sector_code, item.subcategory_code))
        rows.append(item)
    missing = [s for s in sectors() if (s, "") not in seen]
    if missing:
        raise ValueError(f"routing.csv: sectors without an owner: {missing}")
    return tuple(rows)


def authority_sectors(authority_code: str) -> list[tuple[str, str]]:
    """The (sector, subcategory or '') rows an authority answers for, for recipients and access rules."""
    return [(r.sector_code, r.subcategory_code) for r in routing() if r.authority_code == authority_code]
