"""The problem linkage's configuration and its evaluation metrics, without services."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from spark_jobs.problems import config
from spark_jobs.problems.evaluate import b_cubed, pairwise, repeat_marks

A, B, C, D = ("pos", "1"), ("pos", "2"), ("112", "3"), ("safe_city", "4")


def test_committed_configuration_and_model_load() -> None:
    linkage = config.load_config()
    assert 0 < linkage.match_threshold < min(linkage.stricter_thresholds)
    model = config.load_model()
    # The trained model carries parameters for every level of every comparison but the null levels.
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if not level.get("is_null_level"):
                assert level.get("m_probability") is not None, (comparison["output_column_name"], level)
                assert level.get("u_probability") is not None, (comparison["output_column_name"], level)


def test_a_model_trained_for_other_comparisons_is_refused(tmp_path: Path) -> None:
    model = json.loads(config.MODEL_PATH.read_text(encoding="utf-8"))
    model["comparisons"][0]["comparison_levels"][0]["sql_condition"] = "1 = 1"
    stale = tmp_path / "model.json"
    stale.write_text(json.dumps(model), encoding="utf-8")
    with pytest.raises(config.ConfigError, match="train it again"):
        config.load_model(stale)


def test_configuration_errors_name_file_and_key(tmp_path: Path) -> None:
    broken = tmp_path / "linkage.toml"
    valid = config.CONFIG_PATH.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^match_threshold = .*$", "match_threshold = 1.5", valid)
    assert "match_threshold = 1.5" in text
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(config.ConfigError, match=r"linkage\.toml: links\.match_threshold"):
        config.load_config(broken)
    without = re.sub(r"(?m)^lookback_days = .*\n", "", valid)
    assert without != valid
    broken.write_text(without, encoding="utf-8")
    with pytest.raises(config.ConfigError, match=r"\[window\] lookback_days is missing"):
        config.load_config(broken)
    span = config.load_config().max_span_days
    broken.write_text(re.sub(r"(?m)^lookback_days = .*$", f"lookback_days = {int(span) - 1}", valid), encoding="utf-8")
    with pytest.raises(config.ConfigError, match=r"lookback_days \(\d+\) is shorter than \[guard\] max_span_days"):
        config.load_config(broken)


def test_pairwise_scores_worked_out_by_hand() -> None:
    # Truth: {A, B, C} one problem, D alone. Prediction: {A, B} and {C, D}.
    actual = {A: "p1", B: "p1", C: "p1", D: "p2"}
    predicted = {A: "x", B: "x", C: "y", D: "y"}
    scores = pairwise(predicted, actual)
    # Predicted pairs AB, CD; true pairs AB, AC, BC; correct AB.
    assert (scores["all"].predicted, scores["all"].actual, scores["all"].correct) == (2, 3, 1)
    assert scores["all"].precision == 0.5 and scores["all"].recall == pytest.approx(1 / 3)
    assert (scores["pos–pos"].predicted, scores["pos–pos"].correct) == (1, 1)
    assert (scores["112–pos"].actual, scores["112–pos"].correct) == (2, 0)
    assert (scores["112–safe_city"].predicted, scores["112–safe_city"].actual) == (1, 0)


def test_b_cubed_worked_out_by_hand() -> None:
    actual = {A: "p1", B: "p1", C: "p1", D: "p2"}
    predicted = {A: "x", B: "x", C: "y", D: "y"}
    precision, recall, _ = b_cubed(predicted, actual)
    # Precision per appeal: A 2/2, B 2/2, C 1/2, D 1/2; recall: A 2/3, B 2/3, C 1/3, D 1/1.
    assert precision == pytest.approx((1 + 1 + 0.5 + 0.5) / 4)
    assert recall == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1) / 4)
    assert b_cubed(actual, actual) == (1.0, 1.0, 1.0)


def test_repeat_marks_count_only_appeals_present_in_both() -> None:
    score = repeat_marks([A, B], [B, C, ("pos", "absent")], {A, B, C})
    assert (score.predicted, score.actual, score.correct) == (2, 2, 1)
