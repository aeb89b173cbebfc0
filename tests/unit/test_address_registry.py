"""The address registry (cur/reference/addresses.csv) is the generator's street model, and interpolating
a house along its street, as features.sql geocodes, gives the model's point of that house."""

from __future__ import annotations

import csv
import math
import random

from streams.generator import places
from streams.generator.address_registry import REGISTRY_PATH, registry_csv


def test_the_committed_registry_is_the_street_model() -> None:
    assert REGISTRY_PATH.read_text(encoding="utf-8") == registry_csv(), (
        "cur/reference/addresses.csv is stale: python -m streams.generator.address_registry"
    )


def test_every_street_once_and_houses_interpolate_to_the_model() -> None:
    with REGISTRY_PATH.open(encoding="utf-8", newline="") as file:
        rows = {(r["municipality_code"], r["street"]): r for r in csv.DictReader(file)}
    model = {(s.municipality, s.street.name): s for m in places.CENTRES for s in places.streets(m)}
    assert rows.keys() == model.keys()
    rng = random.Random(5)
    for key in rng.sample(sorted(model), 200):
        street, row = model[key], rows[key]
        houses = int(row["houses"])
        assert houses == street.houses
        house = rng.randint(1, houses)
        share = (house - 1) / (houses - 1)
        lat = float(row["lat_first"]) + (float(row["lat_last"]) - float(row["lat_first"])) * share
        lon = float(row["lon_first"]) + (float(row["lon_last"]) - float(row["lon_first"])) * share
        true_lat, true_lon = places.building(street, house).point
        north = (lat - true_lat) * places.METRES_PER_DEGREE
        east = (lon - true_lon) * places.METRES_PER_DEGREE * math.cos(math.radians(lat))
        assert math.hypot(north, east) < 1.0, (key, house)
