"""The model's metric measured on labelled rows, with its sampling error.

One function computes a metric the same way for the holdout baseline and for the
labelled production rows, so the two are comparable. The standard error comes from
a seeded bootstrap; the policy uses it to tell a real drop from the noise of a few
hundred labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from drift.columns import PREDICTION, PROBABILITY
from zenops.kernel.config import ModelSpec
from zenops.kernel.errors import DataError

__all__ = [
    "HIGHER_IS_BETTER",
    "MeasuredPerformance",
    "higher_is_better",
    "label_classes",
    "measured_performance",
    "metric_value",
]

HIGHER_IS_BETTER = {
    "roc_auc": True,
    "accuracy": True,
    "f1": True,
    "log_loss": False,
    "rmse": False,
    "mae": False,
    "r2": True,
}
NEEDS_PROBABILITY = ("roc_auc", "log_loss")
CLASSIFICATION = ("roc_auc", "accuracy", "f1", "log_loss")
REGRESSION = ("rmse", "mae", "r2")


def higher_is_better(metric: str) -> bool:
    """Whether a greater value of ``metric`` means a better model."""
    try:
        return HIGHER_IS_BETTER[metric]
    except KeyError:
        raise DataError(f"unknown metric '{metric}' (known: {', '.join(HIGHER_IS_BETTER)})") from None


@dataclass(frozen=True)
class MeasuredPerformance:
    """The model's metric on labelled rows.

    ``value`` is the model's own metric (``spec.metric_name``); ``values`` holds every
    metric the rows allow; ``standard_error`` is the bootstrap standard error of
    ``value`` (None when too few rows or resamples were usable).
    """

    metric: str
    value: float
    rows: int
    standard_error: float | None = None
    values: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (NaN becomes None)."""
        return {
            "metric": self.metric,
            "value": _finite(self.value),
            "rows": self.rows,
            "standard_error": self.standard_error,
            "values": {k: _finite(v) for k, v in self.values.items()},
        }


def metric_value(
    metric: str,
    y_true: np.ndarray,
    prediction: np.ndarray | None,
    probability: np.ndarray | None = None,
    classes: list[Any] | None = None,
) -> float:
    """One metric from arrays; NaN when undefined (e.g. ROC AUC with one class present).

    For classification, ``classes`` lists the labels in sorted order; the last one is
    the positive class of a binary model, whose probability ``probability`` holds.
    The formulas are scikit-learn's (ROC AUC with ties counted as half, binary F1 of
    the positive class, macro F1 beyond two classes), written with NumPy so that a
    bootstrap of a few hundred resamples stays fast.
    """
    if metric in REGRESSION:
        y, p = np.asarray(y_true, dtype=float), np.asarray(prediction, dtype=float)
        if metric == "rmse":
            return float(np.sqrt(np.mean((y - p) ** 2)))
        if metric == "mae":
            return float(np.mean(np.abs(y - p)))
        total = np.sum((y - y.mean()) ** 2)
        return float(1 - np.sum((y - p) ** 2) / total) if len(y) > 1 and total > 0 else math.nan
    if metric not in CLASSIFICATION:
        raise DataError(f"unknown metric '{metric}' (known: {', '.join(HIGHER_IS_BETTER)})")
    y = np.asarray(y_true)
    classes = classes if classes is not None else sorted(pd.unique(y).tolist())
    if metric == "accuracy":
        return float(np.mean(y == np.asarray(prediction)))
    if metric == "f1":
        pred = np.asarray(prediction)
        labels = classes[-1:] if len(classes) <= 2 else classes
        return float(np.mean([_f1(y == label, pred == label) for label in labels]))
    if probability is None or len(classes) > 2:
        return math.nan
    positive = y == classes[-1]
    proba = np.asarray(probability, dtype=float)
    if metric == "roc_auc":
        n_pos = int(positive.sum())
        n_neg = len(positive) - n_pos
        if n_pos == 0 or n_neg == 0:
            return math.nan
        from scipy import stats

        ranks = stats.rankdata(proba)
        return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    clipped = np.clip(proba, 1e-15, 1 - 1e-15)
    return float(-np.mean(np.where(positive, np.log(clipped), np.log(1 - clipped))))


def _f1(actual: np.ndarray, predicted: np.ndarray) -> float:
    true_positive = np.sum(actual & predicted)
    denominator = np.sum(actual) + np.sum(predicted)
    return float(2 * true_positive / denominator) if denominator else 0.0


def measured_performance(
    frame: pd.DataFrame,
    spec: ModelSpec,
    *,
    classes: list[Any] | None = None,
    seed: int | None = None,
    resamples: int = 200,
) -> MeasuredPerformance:
    """Measure the model's metrics on the rows of ``frame`` that carry the target.

    ``frame`` holds the target, ``prediction`` and, for binary classification,
    ``probability``. ``classes`` are the model's labels in sorted order (default: the
    labels seen in the target and prediction). The bootstrap uses ``seed`` (default
    ``spec.seed``), so the same rows always give the same standard error.
    """
    metric = spec.metric_name
    source = f"labelled rows of '{spec.name}'"
    for column in (spec.target, PREDICTION):
        if column not in frame.columns:
            raise DataError(f"{source}: column '{column}' is missing")
    if metric in NEEDS_PROBABILITY and PROBABILITY not in frame.columns:
        raise DataError(f"{source}: column '{PROBABILITY}' is missing (needed for {metric})")
    rows = frame[frame[spec.target].notna()]
    y = rows[spec.target].to_numpy()
    pred = rows[PREDICTION].to_numpy()
    proba = rows[PROBABILITY].to_numpy(dtype=float) if PROBABILITY in rows.columns else None
    names = CLASSIFICATION if spec.task == "classification" else REGRESSION
    if spec.task == "classification" and classes is None:
        classes = sorted(pd.unique(np.concatenate([y, pred])).tolist())
    if len(rows) == 0:
        return MeasuredPerformance(metric=metric, value=math.nan, rows=0)
    values = {name: metric_value(name, y, pred, proba, classes) for name in names}
    values = {k: v for k, v in values.items() if not (k in NEEDS_PROBABILITY and proba is None)}
    error = _bootstrap_error(
        metric, y, pred, proba, classes, seed if seed is not None else spec.seed, resamples
    )
    return MeasuredPerformance(
        metric=metric, value=values.get(metric, math.nan), rows=len(rows), standard_error=error, values=values
    )


def label_classes(spec: ModelSpec, reference: pd.DataFrame, labelled: pd.DataFrame) -> list[Any] | None:
    """A classifier's labels in sorted order: those of the labelled rows, their predictions
    and the reference's target (None for regression), so a batch whose labels show one
    class is measured with the model's classes."""
    if spec.task != "classification":
        return None
    parts = [labelled[spec.target].dropna()]
    if PREDICTION in labelled:
        parts.append(labelled[PREDICTION].dropna())
    if spec.target in reference.columns:
        parts.append(reference[spec.target].dropna())
    values = pd.unique(pd.concat(parts, ignore_index=True))
    return sorted(v.item() if isinstance(v, np.generic) else v for v in values)


def _bootstrap_error(
    metric: str,
    y: np.ndarray,
    pred: np.ndarray,
    proba: np.ndarray | None,
    classes: list[Any] | None,
    seed: int,
    resamples: int,
) -> float | None:
    n = len(y)
    if n < 10 or resamples < 10:
        return None
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples):
        i = rng.integers(0, n, n)
        value = metric_value(metric, y[i], pred[i], None if proba is None else proba[i], classes)
        if not math.isnan(value):
            draws.append(value)
    if len(draws) < resamples // 2:
        return None
    return float(np.std(draws, ddof=1))


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)
