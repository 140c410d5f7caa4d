"""The scipy drift tests: calibration under no drift, effect sizes, the report-less engine."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from drift.stattests import (
    CHI2_HOMOGENEITY,
    KS,
    ScipyDriftEngine,
    chisquare_test,
    ks_test,
    mask_unseen,
)
from zenops.kernel.config import ModelSpec

SPEC = ModelSpec.model_validate(
    {
        "name": "m",
        "task": "classification",
        "target": "y",
        "id_column": "id",
        "timestamp_column": "ts",
        "features": {"numerical": ["x"], "categorical": ["c"]},
        "training_data": "t.parquet",
        "batches": "b",
        "labels": "l",
        "trainer": {"estimator": "sklearn.linear_model.LogisticRegression"},
    }
)


def categories(rng: np.random.Generator, n: int, probs=(0.5, 0.3, 0.15, 0.05)) -> pd.Series:
    return pd.Series(rng.choice(list("abcd"), n, p=list(probs)), dtype="str")


def test_the_homogeneity_test_is_calibrated_when_the_reference_is_not_huge():
    rng = np.random.default_rng(0)
    trials = 600
    p = [chisquare_test(categories(rng, 2000), categories(rng, 1000)).p_value for _ in range(trials)]
    rate = np.mean(np.array(p) < 0.01)
    assert rate <= 0.01 + 3 * math.sqrt(0.01 * 0.99 / trials)
    assert 0.02 < np.mean(np.array(p) < 0.05) < 0.08  # neither liberal nor absurdly conservative


def test_the_homogeneity_test_sees_a_change_in_the_mix():
    rng = np.random.default_rng(1)
    result = chisquare_test(categories(rng, 5000), categories(rng, 5000, (0.4, 0.3, 0.15, 0.15)))
    assert result.p_value < 1e-10
    assert result.effect == pytest.approx(0.1, abs=0.03)


def test_a_category_missing_from_the_reference_is_strong_evidence_but_not_an_error():
    reference = pd.Series(["a", "b"] * 500)
    current = pd.Series(["a", "b", "z"] * 100)
    result = chisquare_test(reference, current)
    assert result.p_value < 1e-10


def test_a_single_category_on_both_sides_is_no_drift():
    assert chisquare_test(pd.Series(["a"] * 10), pd.Series(["a"] * 5)).p_value == 1.0


def test_missing_values_are_dropped_and_an_empty_side_is_not_testable():
    result = ks_test(pd.Series([1.0, 2.0, np.nan, np.inf]), pd.Series([np.nan, np.nan]))
    assert math.isnan(result.p_value)
    assert math.isnan(chisquare_test(pd.Series(["a"]), pd.Series([None], dtype="str")).p_value)


def test_the_ks_effect_is_the_ks_statistic():
    rng = np.random.default_rng(2)
    result = ks_test(pd.Series(rng.normal(0, 1, 20_000)), pd.Series(rng.normal(0.5, 1, 20_000)))
    assert result.effect == pytest.approx(0.197, abs=0.02)  # 2·Φ(0.25) − 1
    assert result.p_value < 1e-50


def test_mask_unseen_blanks_only_unknown_categories():
    masked, count = mask_unseen(pd.Series(["a", "b"]), pd.Series(["a", "z", None, "b"], dtype="str"))
    assert count == 1
    assert masked.isna().tolist() == [False, True, True, False]


def test_the_scipy_engine_measures_features_and_prediction_without_a_report(tmp_path):
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"x": rng.normal(size=2000), "c": categories(rng, 2000)})
    current = pd.DataFrame({"x": rng.normal(1, 1, 500), "c": categories(rng, 500)})
    reference["prediction_proba"] = rng.uniform(size=2000)
    current["prediction_proba"] = rng.uniform(size=500)
    measurement = ScipyDriftEngine().measure(reference, current, SPEC)
    assert measurement.rows == 500
    assert measurement.reference_rows == 2000
    methods = {f.column: f.method for f in measurement.features}
    assert methods == {"x": KS, "c": CHI2_HOMOGENEITY}
    assert measurement.p_values["x"] < 1e-20
    assert measurement.prediction is not None and measurement.prediction.column == "prediction_proba"
    assert json.loads(measurement.report_json)["engine"] == "scipy"
    written = measurement.save_html(tmp_path / "report.html")
    assert written == [tmp_path / "report.html"]
    assert "<table>" in written[0].read_text()
