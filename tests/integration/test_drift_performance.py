"""Label-free performance estimation with the real NannyML (CBPE, DLE), offline."""

from __future__ import annotations

import socket

import numpy as np
import pandas as pd
import pytest

from drift.engine import EvidentlyEngine
from drift.performance import PerformanceEstimator, estimate_performance
from zenops.config import ModelSpec
from zenops.errors import DataError


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
