"""One package per feed, each with the normalizer from the feed's raw shapes to canonical appeals and status events.

What they share (record types, SLA at ingest, the personal-data policy and free-text redaction) is in
`streams.feeds.common`; field parsing and the kinds of rejection reasons in `streams.parsing`.
"""

from __future__ import annotations

from streams.feeds.emergency_112.normalize import normalize as normalize_112
from streams.feeds.housing.normalize import normalize as normalize_housing
from streams.feeds.pos.normalize import normalize as normalize_pos
from streams.feeds.safe_city.normalize import normalize as normalize_safe_city
from streams.records import Normalizer

NORMALIZERS: dict[str, Normalizer] = {
    "pos": normalize_pos,
    "112": normalize_112,
    "safe_city": normalize_safe_city,
    "housing": normalize_housing,
}
