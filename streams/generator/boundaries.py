"""Export the municipalities' boundaries as GeoJSON: cur/reference/municipalities.geojson.

The repository has no legal boundaries (ОКТМО territories) and the machine no internet, but the
dashboards need an offline map per municipality. The generator's geography is a centre per
municipality with its streets around it (places.py), so the boundaries are derived from it: the
Voronoi cells of the centres (every point of the region belongs to the municipality whose centre is
nearest), clipped to the region's outline, which is the hull of every street of the model widened by
`REGION_MARGIN_M`. The cells partition the region, and every street of the model lies in its own
municipality's cell (tests/unit/test_municipality_boundaries.py checks both), so the choropleth and
the H3 cells of the heat map agree. A real deployment replaces the file with the region's boundaries
in the same shape (one Polygon feature per municipality code); cur.migrate loads it into
`{db}.municipality_boundaries` at every migrate.

The geometry is shapely's (GEOS), computed in a local plane in metres (an equirectangular projection
at the region's mean latitude, where degrees of longitude are shorter), so a cell's edge is the line of
equal distance on the ground. Generated once and committed; the unit test checks the file is current:

    python -m streams.generator.boundaries
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Polygon, mapping

from cur import taxonomy
from cur.migrate import BOUNDARIES_PATH
from streams.generator import places

# How far the region reaches beyond the outermost street of the model.
REGION_MARGIN_M = 25_000.0
# Segments per quarter circle of the margin's rounded corners (few: the map is a sketch of the region).
QUAD_SEGMENTS = 4
# Decimal places of the coordinates: 1e-5 degrees is about a metre.
PRECISION = 5
_LAT0 = math.radians(sum(lat for lat, _ in places.CENTRES.values()) / len(places.CENTRES))


def to_plane(lonlat: np.ndarray) -> np.ndarray:
    """[lon, lat] degrees -> [east, north] metres of the local plane."""
    return np.column_stack((lonlat[:, 0] * math.cos(_LAT0), lonlat[:, 1])) * places.METRES_PER_DEGREE


def to_degrees(xy: np.ndarray) -> np.ndarray:
    lonlat = xy / places.METRES_PER_DEGREE
    return np.column_stack((lonlat[:, 0] / math.cos(_LAT0), lonlat[:, 1]))


def _street_points() -> np.ndarray:
    """[lon, lat] of the first and last house of every street of the model (a street is a straight line)."""
    points = []
    for municipality in sorted(places.CENTRES):
        for street in places.streets(municipality):
            for house in (1, street.houses):
                lat, lon = places.building(street, house).point
                points.append((lon, lat))
    return np.array(points)


def region() -> Polygon:
    """The region's outline in the local plane: the hull of every street, widened by the margin."""
    hull = MultiPoint(to_plane(_street_points())).convex_hull
    return hull.buffer(REGION_MARGIN_M, quad_segs=QUAD_SEGMENTS)


def cells() -> dict[str, Polygon]:
    """{municipality code: its cell in degrees [lon, lat]}, for every municipality of the taxonomy."""
    codes = sorted(taxonomy.municipalities())
    missing = [code for code in codes if code not in places.CENTRES]
    if missing:
        raise ValueError(f"municipalities without a centre in streams/generator/places.py: {missing}")
    outline = region()
    centres = to_plane(np.array([places.CENTRES[code][::-1] for code in codes]))
    # ordered: the i-th cell is the i-th centre's
    voronoi = shapely.voronoi_polygons(MultiPoint(centres), extend_to=outline, ordered=True)
    found = {}
    for code, cell in zip(codes, voronoi.geoms, strict=True):
        clipped = cell.intersection(outline)
        if not isinstance(clipped, Polygon):
            raise ValueError(f"{code}: the clipped cell is a {clipped.geom_type}, not one polygon")
        found[code] = shapely.transform(clipped, to_degrees)
    return found


def _feature(code: str, name: str, cell: Polygon, area_km2: float) -> dict[str, Any]:
    # RFC 7946: exterior rings counter-clockwise; coordinates rounded once, so neighbours share edges exactly
    geometry = mapping(shapely.orient_polygons(shapely.set_precision(cell, 10**-PRECISION)))
    lat, lon = places.CENTRES[code]
    return {
        "type": "Feature",
        "properties": {
            "municipality_code": code,
            "municipality_name_ru": name,
            "centre_lat": lat,
            "centre_lon": lon,
            "area_km2": round(area_km2, 1),
        },
        "geometry": {
            "type": geometry["type"],
            "coordinates": [
                [[round(x, PRECISION), round(y, PRECISION)] for x, y in ring] for ring in geometry["coordinates"]
            ],
        },
    }


def geojson() -> str:
    """The FeatureCollection, one feature per line (readable diffs), features by municipality code."""
    names = taxonomy.municipalities()
    features = []
    for code, cell in cells().items():
        area_km2 = shapely.transform(cell, to_plane).area / 1e6
        features.append(json.dumps(_feature(code, names[code], cell, area_km2), ensure_ascii=False))
    header = '{"type": "FeatureCollection", "name": "municipalities", "features": [\n'
    return header + ",\n".join(features) + "\n]}\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=BOUNDARIES_PATH)
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(geojson(), encoding="utf-8")
    print(f"{args.output}: {len(taxonomy.municipalities())} municipalities")


if __name__ == "__main__":
    main()
