"""The municipality boundaries (cur/reference/municipalities.geojson) are what the generator derives, one
polygon per municipality of the taxonomy, partitioning the region, each holding its own streets."""

from __future__ import annotations

import csv
import itertools
import json

import shapely
from shapely.geometry import LineString, shape

from cur import taxonomy
from cur.migrate import ADDRESSES_PATH, BOUNDARIES_PATH, boundary_rows
from streams.generator.boundaries import geojson, region, to_degrees


def _features() -> list[dict]:
    return json.loads(BOUNDARIES_PATH.read_text(encoding="utf-8"))["features"]


def test_the_committed_file_is_what_the_generator_derives() -> None:
    assert BOUNDARIES_PATH.read_text(encoding="utf-8") == geojson(), (
        "cur/reference/municipalities.geojson is stale: python -m streams.generator.boundaries"
    )


def test_every_municipality_of_the_taxonomy_has_exactly_one_feature() -> None:
    codes = [f["properties"]["municipality_code"] for f in _features()]
    assert sorted(codes) == sorted(taxonomy.municipalities())
    assert len(codes) == len(set(codes))
    names = {f["properties"]["municipality_code"]: f["properties"]["municipality_name_ru"] for f in _features()}
    assert names == taxonomy.municipalities()


def test_the_polygons_partition_the_region() -> None:
    polygons = {f["properties"]["municipality_code"]: shape(f["geometry"]) for f in _features()}
    for code, polygon in polygons.items():
        assert polygon.geom_type == "Polygon" and polygon.is_valid, code
        assert polygon.exterior.is_ccw, code  # RFC 7946
    for (a, first), (b, second) in itertools.combinations(polygons.items(), 2):
        assert first.intersection(second).area < 1e-9, (a, b)  # neighbours share an edge, no area
    union = shapely.union_all(list(polygons.values()))
    total = sum(p.area for p in polygons.values())
    assert abs(union.area - total) < 1e-6 * total
    assert union.geom_type == "Polygon" and not union.interiors  # one region, no holes between cells
    # and the cells cover the region's outline, to the rounding of their coordinates
    outline = shapely.transform(region(), to_degrees)
    assert outline.symmetric_difference(union).area < 1e-4 * outline.area


def test_every_street_lies_in_its_own_municipality() -> None:
    polygons = {f["properties"]["municipality_code"]: shape(f["geometry"]) for f in _features()}
    with ADDRESSES_PATH.open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            street = LineString(
                [(float(row["lon_first"]), float(row["lat_first"])), (float(row["lon_last"]), float(row["lat_last"]))]
            )
            assert polygons[row["municipality_code"]].contains(street), (row["municipality_code"], row["street"])


def test_migrate_loads_one_row_per_feature_with_its_geometry() -> None:
    rows = boundary_rows()
    assert [r[0] for r in rows] == [f["properties"]["municipality_code"] for f in _features()]
    for (code, _, boundary, *_), feature in zip(rows, _features(), strict=True):
        assert json.loads(boundary) == feature["geometry"], code
