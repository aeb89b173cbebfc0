"""Export the street model as the region's address registry: cur/reference/addresses.csv.

A real region geocodes an address from its register of addresses (ГАР/ФИАС, with the coordinates of
streets and houses). Here the generator's street model (places.py) stands in for it: one row per
street of each municipality, its official name, the number of its houses and the points of its first
and last house. Houses lie evenly along the street, so a house's point is interpolated between the two
ends, as an address-range geocoder does. Generated once and committed; tests/unit/test_address_registry.py
checks the file against the model.

    python -m streams.generator.address_registry
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

from streams.generator import places

REGISTRY_PATH = Path(__file__).resolve().parents[2] / "cur" / "reference" / "addresses.csv"
COLUMNS = ("municipality_code", "street", "houses", "lat_first", "lon_first", "lat_last", "lon_last")


def registry_rows() -> list[tuple[str, str, int, float, float, float, float]]:
    """Every street of every municipality, in a stable order, with the points of its first and last house."""
    rows = []
    for municipality in sorted(places.CENTRES):
        for street in places.streets(municipality):
            first = places.building(street, 1).point
            last = places.building(street, street.houses).point
            rows.append((municipality, street.street.name, street.houses, *first, *last))
    return sorted(rows)


def registry_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(registry_rows())
    return out.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REGISTRY_PATH)
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(registry_csv(), encoding="utf-8")
    print(f"{args.output}: {len(registry_rows())} streets")


if __name__ == "__main__":
    main()
