"""Label-free performance estimation with the real NannyML (CBPE, DLE), offline."""

from __future__ import annotations

import socket

import numpy as np
import pandas as pd
import pytest

from drift.adapters.evidently import EvidentlyEngine
from drift.adapters.nannyml import PerformanceEstimator, estimate_performance
from zenops.kernel.config import ModelSpec
from zenops.kernel.errors import DataError


def spec(task: str, metric: str | None = None) -> ModelSpec:
    return ModelSpec.model_validate(
        {
            "name": "loan-default" if task == "classification" else "demand-forecast",
            "task": task,
            "target": "y",
            "id_column": "id",
            "timestamp_column": "ts",
            "features": {"numerical": ["x1", "x2"], "categorical": ["region"]},
            "training_data": "t.parquet",
            "batches": "b",
            "labels": "l",
            "trainer": {"estimator": "sklearn.linear_model.LogisticRegression"},
            "metric": metric,
        }
    )


def classification(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """A calibrated model: the probability is the true one, so CBPE's estimate is honest."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(shift, 1, rows), rng.normal(0, 1, rows)
    region = pd.array(rng.choice(["north", "south"], rows), dtype="str")
    proba = 1 / (1 + np.exp(-(2 * x1 + x2)))
    y = (rng.uniform(size=rows) < proba).astype(int)
    return pd.DataFrame(
        {
            "x1": x1,
            "x2": x2,
            "region": region,
            "y": y,
            "prediction": (proba > 0.5).astype(int),
            "prediction_proba": proba,
        }
    )


def regression(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """The error grows with x1, so moving x1 up makes the model worse."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(shift, 1, rows), rng.normal(0, 1, rows)
    region = pd.array(rng.choice(["north", "south"], rows), dtype="str")
    prediction = 3 * x1 + x2
    y = prediction + rng.normal(0, 1, rows) * np.exp(0.8 * x1)
    return pd.DataFrame({"x1": x1, "x2": x2, "region": region, "y": y, "prediction": prediction})


def rmse(frame: pd.DataFrame) -> float:
    return float(np.sqrt(np.mean((frame.y - frame.prediction) ** 2)))


def test_cbpe_estimates_roc_auc_with_a_band():
    model = spec("classification")
    holdout, current = classification(3000, 1), classification(1000, 2, shift=1.5)
    estimate = estimate_performance(holdout, current.drop(columns="y"), model)
    assert estimate is not None
    assert (estimate.metric, estimate.method, estimate.rows) == ("roc_auc", "CBPE", 1000)
    from sklearn.metrics import roc_auc_score

    realized = roc_auc_score(current.y, current.prediction_proba)
    assert estimate.value == pytest.approx(realized, abs=0.04)
    assert estimate.lower < estimate.value < estimate.upper
    assert estimate.standard_error > 0


def test_dle_estimates_rmse_and_sees_it_grow():
    model = spec("regression")
    holdout = regression(3000, 1)
    estimator = PerformanceEstimator.fit(holdout, model)
    assert estimator is not None and estimator.method == "DLE"
    same = estimator.estimate(regression(1000, 2).drop(columns="y"))
    worse = estimator.estimate(regression(1000, 3, shift=1.0).drop(columns="y"))
    assert same.metric == "rmse"
    assert same.value == pytest.approx(rmse(holdout), rel=0.2)
    assert worse.value > 1.5 * same.value
    assert worse.lower is not None and worse.upper is not None


def test_a_metric_nannyml_cannot_estimate_gives_none():
    assert PerformanceEstimator.fit(classification(500, 1), spec("classification", "log_loss")) is None
    assert PerformanceEstimator.fit(regression(500, 1), spec("regression", "r2")) is None


def test_a_holdout_without_probabilities_is_a_data_error():
    with pytest.raises(DataError, match="prediction_proba"):
        PerformanceEstimator.fit(
            classification(500, 1).drop(columns="prediction_proba"), spec("classification")
        )


def test_estimation_and_reports_stay_offline(monkeypatch):
    """No connection attempt and no usage event leaves the process, even if a library swallows errors."""
    import segment.analytics

    attempts: list[object] = []
    events: list[tuple] = []
    original = socket.socket.connect

    def record(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", record)
    monkeypatch.setattr(segment.analytics, "track", lambda *args, **kwargs: events.append(args))
    model = spec("classification")
    holdout, current = classification(1000, 1), classification(400, 2)
    estimate_performance(holdout, current.drop(columns="y"), model)
    estimate_performance(regression(1000, 1), regression(300, 2).drop(columns="y"), spec("regression"))
    EvidentlyEngine().measure(holdout, current, model, labelled=current)
    assert attempts == []
    assert events == []


# -- trust: the fit-time check on the reference and the support of a batch ----


def realized_auc(frame: pd.DataFrame) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(frame.y, frame.prediction_proba))


def pushed(frame: pd.DataFrame, steepness: float = 6.0) -> pd.DataFrame:
    """An overconfident model: the same ranking, probabilities pushed towards 0 and 1."""
    p = frame.prediction_proba.to_numpy()
    return frame.assign(prediction_proba=1 / (1 + np.exp(-steepness * np.log(p / (1 - p)))))


def confidently_wrong(frame: pd.DataFrame) -> pd.DataFrame:
    """Miscalibrated beyond repair: pushed to 0/1, and the surest positives scored 0.001."""
    p = frame.prediction_proba.to_numpy()
    return pushed(frame).assign(prediction_proba=np.where(p > 0.9, 0.001, pushed(frame).prediction_proba))


def test_a_calibrated_model_passes_its_check_and_is_trusted_in_support():
    estimator = PerformanceEstimator.fit(classification(3000, 1), spec("classification"))
    check = estimator.check
    assert check.passed, check.reason
    assert check.figures["folds"] == 5 and check.figures["rows"] == 3000
    assert abs(check.figures["gap"]) < 0.02
    assert check.figures["ece"] < check.figures["ece_limit"]
    assert "passed its calibration check" in check.reason
    current = classification(1000, 2)
    estimate = estimator.estimate(current.drop(columns="y"))
    assert estimate.trusted and estimate.distrust is None
    assert estimate.value == pytest.approx(realized_auc(current), abs=0.03)


def test_an_overconfident_model_is_calibrated_before_cbpe_reads_it():
    """The cause of CBPE reading a mediocre model as a great one, on a small holdout."""
    holdout, current = pushed(classification(400, 5)), pushed(classification(1000, 6))
    estimator = PerformanceEstimator.fit(holdout, spec("classification"))
    assert estimator.check.passed, estimator.check.reason
    slope, _ = estimator.calibration
    assert slope < 0.3  # the push (x6 on the logit) is undone
    estimate = estimator.estimate(current.drop(columns="y"))
    assert estimate.trusted
    assert estimate.value == pytest.approx(realized_auc(current), abs=0.04)


def test_a_miscalibrated_model_fails_its_check_and_its_estimates_are_untrusted():
    estimator = PerformanceEstimator.fit(confidently_wrong(classification(3000, 1)), spec("classification"))
    check = estimator.check
    assert not check.passed
    assert check.figures["ece"] > 2 * check.figures["ece_limit"]
    assert check.reason.startswith("CBPE failed its calibration check on the reference")
    assert "expected calibration error" in check.reason
    estimate = estimator.estimate(confidently_wrong(classification(500, 2)).drop(columns="y"))
    assert not estimate.trusted
    assert estimate.distrust == check.reason


def test_too_small_a_reference_cannot_be_checked_and_is_not_trusted():
    estimator = PerformanceEstimator.fit(classification(150, 1), spec("classification"))
    assert not estimator.check.passed
    assert "150 labelled reference rows" in estimator.check.reason
    estimate = estimator.estimate(classification(300, 2).drop(columns="y"))
    assert not estimate.trusted and "cannot be checked" in estimate.distrust


def test_a_batch_far_outside_the_probability_support_is_untrusted():
    """A reference of probabilities around 0.1–0.5; a batch the model scores above 0.95."""

    def weak(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
        frame = classification(rows, seed, shift)
        proba = 1 / (1 + np.exp(-(0.5 * frame.x1 - 1.2)))
        y = (np.random.default_rng(seed + 100).uniform(size=rows) < proba).astype(int)
        return frame.assign(prediction_proba=proba, prediction=(proba > 0.5).astype(int), y=y)

    estimator = PerformanceEstimator.fit(weak(3000, 1), spec("classification"))
    assert estimator.check.passed, estimator.check.reason
    inside = estimator.estimate(weak(800, 2).drop(columns="y"))
    assert inside.trusted, inside.distrust
    far = estimator.estimate(weak(800, 3, shift=9.0).drop(columns="y"))
    assert not far.trusted
    assert far.distrust.startswith("batch outside CBPE's reference support: 100% of its predicted")


def test_dle_passes_its_check_and_distrusts_a_batch_outside_the_reference_ranges():
    estimator = PerformanceEstimator.fit(regression(3000, 1), spec("regression"))
    check = estimator.check
    assert check.passed, check.reason
    assert check.figures["realized"] == pytest.approx(rmse(regression(3000, 1)), rel=0.1)
    assert abs(check.figures["gap"]) <= check.figures["tolerance"]
    assert "ece" not in check.figures
    inside = estimator.estimate(regression(1000, 2).drop(columns="y"))
    assert inside.trusted, inside.distrust
    far = regression(500, 3, shift=6.0)
    outside = estimator.estimate(far.drop(columns="y"))
    assert not outside.trusted
    assert outside.distrust.startswith("batch outside DLE's reference support")
    assert "x1" in outside.distrust and "prediction" in outside.distrust
    unseen = regression(500, 4).assign(region=pd.array(["central"] * 500, dtype="str"))
    assert "region" in estimator.estimate(unseen.drop(columns="y")).distrust


def test_dle_with_too_few_rows_is_not_trusted():
    estimator = PerformanceEstimator.fit(regression(120, 1), spec("regression"))
    assert not estimator.check.passed and "120 labelled reference rows" in estimator.check.reason
    assert not estimator.estimate(regression(200, 2).drop(columns="y")).trusted


def test_the_demo_champion_trained_on_few_rows_reads_its_realized_roc_auc():
    """Gradient boosting on 800 rows is overconfident (training ROC AUC ≈ 1); uncalibrated,
    CBPE read it as 0.95 against a realized 0.77."""
    import yaml

    from drift.trust import ece_limit, expected_calibration_error
    from zenops.app.demo.datagen import production_stream, training_frame
    from zenops.services.train.fitting import fit, predict_frame, split_holdout
    from zenops.workspace import example_config

    model = ModelSpec.model_validate(yaml.safe_load(example_config())["models"][0])
    train, holdout = split_holdout(training_frame(model.name, rows=1000, seed=42), model)
    champion = fit(model, train)
    holdout = pd.concat([holdout, predict_frame(champion, holdout, model)], axis=1)
    raw = holdout.prediction_proba.to_numpy()
    assert expected_calibration_error(holdout[model.target], raw) > ece_limit(raw, 0)  # overconfident
    days = production_stream(model.name, days=5, rows_per_day=600, seed=42)
    stable = pd.concat([d.features.merge(d.labels, on=model.id_column) for d in days], ignore_index=True)
    stable = pd.concat([stable, predict_frame(champion, stable, model)], axis=1)
    estimator = PerformanceEstimator.fit(holdout, model)
    assert estimator.check.passed, estimator.check.reason
    estimate = estimator.estimate(stable.drop(columns=model.target))
    assert estimate.trusted, estimate.distrust
    realized = realized_auc(stable.rename(columns={model.target: "y"}))
    assert estimate.value == pytest.approx(realized, abs=0.06)
