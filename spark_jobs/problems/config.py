"""The linkage's configuration (linkage.toml) and model files (settings.json, model.json), validated on load.

Errors name the file and the key, so a wrong edit is found before Spark starts.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CONFIG_PATH = HERE / "linkage.toml"
SETTINGS_PATH = HERE / "settings.json"  # Splink settings: blocking rules and comparisons (reviewed like code)
MODEL_PATH = HERE / "model.json"  # the same settings with their trained parameters (spark_jobs.problems.train)


class ConfigError(ValueError):
    """A configuration file is missing a key or holds a value out of range."""


@dataclass(frozen=True)
class LinkageConfig:
    match_threshold: float
    lookback_days: int
    max_extent_m: float
    max_span_days: float
    stricter_thresholds: tuple[float, ...]
    repeat_min_gap_days: float
    repeat_window_days: int
    repeat_max_distance_m: float
    repeat_max_house_gap: int
    repeat_max_point_gap_m: float  # the same house is not one place when both points lie further apart


def _get(table: dict[str, Any], path: Path, section: str, key: str, kind: type) -> Any:
    try:
        value = table[section][key]
    except KeyError:
        raise ConfigError(f"{path}: [{section}] {key} is missing") from None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ConfigError(f"{path}: [{section}] {key} must be a {kind.__name__}, not {value!r}")
    return value


def load_config(path: Path = CONFIG_PATH) -> LinkageConfig:
    with path.open("rb") as file:
        raw = tomllib.load(file)
    threshold = _get(raw, path, "links", "match_threshold", float)
    stricter = tuple(float(t) for t in _get(raw, path, "guard", "stricter_thresholds", list))
    for name, value in [
        ("links.match_threshold", threshold),
        *((f"guard.stricter_thresholds[{i}]", t) for i, t in enumerate(stricter)),
    ]:
        if not 0 < value < 1:
            raise ConfigError(f"{path}: {name} must lie strictly between 0 and 1, not {value}")
    if list(stricter) != sorted(stricter) or (stricter and stricter[0] <= threshold):
        raise ConfigError(f"{path}: [guard] stricter_thresholds must rise from above links.match_threshold")
    config = LinkageConfig(
        match_threshold=threshold,
        lookback_days=_get(raw, path, "window", "lookback_days", int),
        max_extent_m=_get(raw, path, "guard", "max_extent_m", float),
        max_span_days=_get(raw, path, "guard", "max_span_days", float),
        stricter_thresholds=stricter,
        repeat_min_gap_days=_get(raw, path, "repeats", "min_gap_days", float),
        repeat_window_days=_get(raw, path, "repeats", "window_days", int),
        repeat_max_distance_m=_get(raw, path, "repeats", "max_distance_m", float),
        repeat_max_house_gap=_get(raw, path, "repeats", "max_house_gap", int),
        repeat_max_point_gap_m=_get(raw, path, "repeats", "max_point_gap_m", float),
    )
    for name in (
        "lookback_days",
        "max_extent_m",
        "max_span_days",
        "repeat_window_days",
        "repeat_max_distance_m",
        "repeat_max_point_gap_m",
    ):
        if getattr(config, name) <= 0:
            raise ConfigError(f"{path}: {name} must be positive")
    if config.lookback_days < config.max_span_days:
        # A problem spans at most max_span_days (the guard splits longer ones), so a look-back of that
        # length holds every earlier report of the interval's problems; a shorter one would cut them.
        raise ConfigError(
            f"{path}: [window] lookback_days ({config.lookback_days}) is shorter than [guard] max_span_days"
            f" ({config.max_span_days:g}): the earlier reports of a problem would fall outside the window"
        )
    return config


def load_model(path: Path = MODEL_PATH) -> dict[str, Any]:
    """The trained model; refuses one whose comparisons or blocking rules differ from settings.json."""
    if not path.exists():
        raise ConfigError(f"{path} is missing: train the model first (python -m spark_jobs.problems.train)")
    model = json.loads(path.read_text(encoding="utf-8"))
    settings = json.loads(SETTINGS_PATH.read_text(encoding="utf-8"))
    if _shape(model) != _shape(settings):
        raise ConfigError(
            f"{path} was trained for other comparisons or blocking rules than {SETTINGS_PATH}: train it again"
        )
    return model


def _shape(settings: dict[str, Any]) -> tuple:
    """What must agree between the settings and the trained model: rules and comparison levels."""
    rules = tuple(rule["blocking_rule"] for rule in settings["blocking_rules_to_generate_predictions"])
    comparisons = tuple(
        (c["output_column_name"], tuple(level["sql_condition"] for level in c["comparison_levels"]))
        for c in settings["comparisons"]
    )
    return rules, comparisons
