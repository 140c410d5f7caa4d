"""Measured performance on labelled rows and the glue from measurement to verdict."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, mean_squared_error, roc_auc_score

from drift.assess import assess, assess_problems, observe
from drift.batches import check_frame
from drift.estimates import PerformanceEstimate, estimation_method
from drift.measurement import ColumnDrift, DriftMeasurement
from drift.metrics import MeasuredPerformance, higher_is_better, measured_performance
from drift.policy import DATA_QUALITY, REBUILD, REFRESH, WARN
from zenops.kernel.config import ModelSpec
from zenops.kernel.errors import DataError


def spec(task: str = "classification", metric: str | None = None) -> ModelSpec:
    return ModelSpec.model_validate(
        {
            "name": "m",
            "task": task,
            "target": "y",
            "id_column": "id",
            "timestamp_column": "ts",
            "features": {"numerical": ["x"], "categorical": ["c"]},
            "training_data": "t.parquet",
            "batches": "b",
            "labels": "l",
            "trainer": {"estimator": "sklearn.linear_model.LogisticRegression"},
            "metric": metric,
        }
    )


def labelled_classification(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    proba = rng.uniform(size=n)
    y = (rng.uniform(size=n) < proba).astype(int)
    return pd.DataFrame({"y": y, "prediction": (proba > 0.5).astype(int), "prediction_proba": proba})


def test_classification_metrics_match_scikit_learn():
    frame = labelled_classification()
    result = measured_performance(frame, spec())
    assert result.metric == "roc_auc"
    assert result.value == pytest.approx(roc_auc_score(frame.y, frame.prediction_proba))
    assert result.values["f1"] == pytest.approx(f1_score(frame.y, frame.prediction))
    assert result.rows == 400
    assert 0.005 < result.standard_error < 0.05


def test_the_bootstrap_error_is_seeded():
    frame = labelled_classification()
    assert (
        measured_performance(frame, spec()).standard_error
        == measured_performance(frame, spec()).standard_error
    )


def test_regression_metrics_match_scikit_learn():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"y": rng.normal(size=300)})
    frame["prediction"] = frame.y + rng.normal(0, 0.5, 300)
    result = measured_performance(frame, spec("regression"))
    assert result.metric == "rmse"
    assert result.value == pytest.approx(math.sqrt(mean_squared_error(frame.y, frame.prediction)))
    assert set(result.values) == {"rmse", "mae", "r2"}


def test_rows_without_a_label_are_left_out():
    frame = labelled_classification(100).astype({"y": float})
    frame.loc[:49, "y"] = np.nan
    assert measured_performance(frame, spec()).rows == 50


def test_a_metric_needing_probabilities_without_them_is_a_data_error():
    with pytest.raises(DataError, match="prediction_proba"):
        measured_performance(labelled_classification().drop(columns="prediction_proba"), spec())


def test_one_class_gives_an_undefined_roc_auc_not_an_error():
    frame = labelled_classification()
    frame["y"] = 1
    assert math.isnan(measured_performance(frame, spec()).value)


def test_metric_directions():
    assert higher_is_better("roc_auc") and higher_is_better("r2")
    assert not higher_is_better("rmse") and not higher_is_better("log_loss")
    with pytest.raises(DataError):
        higher_is_better("mape")


def test_estimation_methods_by_task_and_metric():
    assert estimation_method(spec()) == "CBPE"
    assert estimation_method(spec(metric="log_loss")) is None
    assert estimation_method(spec(), classes=3) is None
    assert estimation_method(spec("regression")) == "DLE"
    assert estimation_method(spec("regression", "r2")) is None


def measurement(p_x: float = 0.5, performance: MeasuredPerformance | None = None) -> DriftMeasurement:
    return DriftMeasurement(
        engine="fake",
        rows=1000,
        reference_rows=5000,
        features=[
            ColumnDrift("x", "numerical", "ks", p_x, p_x, 0.005, 0.3),
            ColumnDrift("c", "categorical", "chi2_homogeneity", 0.4, 0.4, 0.005, 0.01),
        ],
        performance=performance,
        labelled_rows=0 if performance is None else performance.rows,
    )


def test_observe_carries_p_values_effects_and_both_performance_readings():
    perf = MeasuredPerformance("roc_auc", 0.7, 500, 0.01, {"roc_auc": 0.7})
    estimate = PerformanceEstimate("roc_auc", 0.75, 0.7, 0.8, 0.02, "CBPE", 1000)
    observation = observe(
        measurement(1e-9, perf), spec(), baseline=0.8, estimate=estimate, previous_drift_cycles=1
    )
    assert [(t.column, t.p_value, t.effect) for t in observation.features] == [
        ("x", 1e-9, 0.3),
        ("c", 0.4, 0.01),
    ]
    assert observation.measured.value == 0.7 and observation.measured.measured
    assert observation.estimated.value == 0.75 and not observation.estimated.measured
    assert observation.previous_drift_cycles == 1


def test_assess_turns_a_measured_drop_into_a_rebuild_and_without_baseline_judges_drift_only():
    perf = MeasuredPerformance("roc_auc", 0.6, 500, 0.01)
    assert assess(measurement(performance=perf), spec(), baseline=0.8).status == REBUILD
    assert assess(measurement(1e-9, perf), spec()).status == WARN


def test_a_measured_baseline_brings_its_standard_error():
    perf = MeasuredPerformance("roc_auc", 0.74, 500, 0.01)
    baseline = MeasuredPerformance("roc_auc", 0.8, 1000, 0.03)
    observation = observe(measurement(performance=perf), spec(), baseline=baseline)
    assert observation.measured.baseline == 0.8
    assert observation.measured.baseline_standard_error == 0.03
    assert assess(measurement(performance=perf), spec(), baseline=0.8).status == REFRESH
    assert assess(measurement(performance=perf), spec(), baseline=baseline).status == WARN


def test_assess_with_an_estimate_alone_refreshes_at_most():
    estimate = PerformanceEstimate("roc_auc", 0.5, 0.45, 0.55, 0.01, "CBPE", 1000)
    assert assess(measurement(), spec(), baseline=0.8, estimate=estimate).status == REFRESH


def test_a_refused_batch_gets_a_data_quality_verdict_naming_its_problems():
    frame = pd.DataFrame({"id": [1], "ts": ["2026-01-01"], "x": ["12k"], "c": ["a"]})
    check = check_frame(frame, spec(), pd.DataFrame({"x": [1.0], "c": ["a"]}), source="b.csv")
    verdict = assess_problems(check, spec(), previous_drift_cycles=2)
    assert verdict.status == DATA_QUALITY
    assert verdict.reasons == ["b.csv: column 'x' has non-numeric values ('12k')"]
    assert verdict.consecutive_drift == 2
