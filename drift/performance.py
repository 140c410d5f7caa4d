"""Performance without labels: NannyML's estimators fitted on the champion's holdout.

- Binary classification: CBPE (confidence-based performance estimation) reads the
  model's calibrated probabilities; it estimates ``roc_auc``, ``accuracy`` and ``f1``.
- Regression: DLE (direct loss estimation) learns the model's loss from the features
  and prediction; it estimates ``rmse`` and ``mae``.

Other metrics (``log_loss``, ``r2``) and multiclass models have no estimate:
:func:`estimation_method` says so and :meth:`PerformanceEstimator.fit` returns None.

The holdout is the frame the champion was evaluated on at training time: features,
target, ``prediction`` and (classification) ``prediction_proba``. NannyML is
imported only when an estimator is fitted; its usage logging is turned off first
(:func:`zenops.offline.stay_offline`), and its failures become a
:class:`~zenops.errors.DataError`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from drift.columns import PREDICTION, PROBABILITY
from zenops.config import ModelSpec
from zenops.errors import DataError

__all__ = [
    "CBPE_METRICS",
    "DLE_METRICS",
    "PerformanceEstimate",
    "PerformanceEstimator",
    "estimate_performance",
    "estimation_method",
]

CBPE_METRICS = ("roc_auc", "accuracy", "f1")
DLE_METRICS = ("rmse", "mae")
_TRUE, _PRED, _PROBA = "__y_true", "__y_pred", "__y_proba"


@dataclass(frozen=True)
class PerformanceEstimate:
    """The model's metric estimated on a batch without labels.

    ``lower``/``upper`` are NannyML's confidence band (± 3 sampling errors);
    ``standard_error`` is its sampling error for a batch of this size.
    ``trusted`` is False when the estimate should not decide a verdict (the
    estimator failed its calibration check on the reference, or the batch lies
    outside the reference's support); ``distrust`` then says why, in one line.
    """

    metric: str
    value: float
    lower: float | None
    upper: float | None
    standard_error: float | None
    method: str
    rows: int
    trusted: bool = True
    distrust: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "metric": self.metric,
            "value": self.value,
            "lower": self.lower,
            "upper": self.upper,
            "standard_error": self.standard_error,
            "method": self.method,
            "rows": self.rows,
            "trusted": self.trusted,
            "distrust": self.distrust,
        }


def estimation_method(spec: ModelSpec, classes: int = 2) -> str | None:
    """``CBPE`` or ``DLE`` when the model's metric can be estimated, else None."""
    metric = spec.metric_name
    if spec.task == "classification":
        return "CBPE" if metric in CBPE_METRICS and classes <= 2 else None
    return "DLE" if metric in DLE_METRICS else None


class PerformanceEstimator:
    """A NannyML estimator fitted on the champion's holdout, for one model."""

    def __init__(self, spec: ModelSpec, method: str, estimator: Any, classes: list[Any] | None) -> None:
        self.spec = spec
        self.method = method
        self._estimator = estimator
        self._classes = classes

    @classmethod
    def fit(cls, holdout: pd.DataFrame, spec: ModelSpec) -> PerformanceEstimator | None:
        """Fit CBPE or DLE on ``holdout``; None when the model's metric cannot be estimated.

        Raises :class:`~zenops.errors.DataError` when the holdout lacks a column the
        estimator needs or NannyML cannot fit it.
        """
        source = f"holdout of '{spec.name}'"
        required = [spec.target, PREDICTION]
        if spec.task == "classification":
            required.append(PROBABILITY)
        else:
            required += spec.features.all
        missing = [c for c in required if c not in holdout.columns]
        if missing:
            raise DataError(f"{source}: missing columns {', '.join(missing)} needed to estimate performance")
        rows = holdout[holdout[spec.target].notna()]
        classes = None
        if spec.task == "classification":
            classes = sorted(_plain(v) for v in pd.unique(pd.concat([rows[spec.target], rows[PREDICTION]])))
        method = estimation_method(spec, len(classes) if classes else 2)
        if method is None:
            return None
        estimator = _new_estimator(method, spec)
        with _nannyml_quietly(f"{source}: NannyML could not fit {method}"):
            estimator.fit(_prepare(rows, spec, classes, labelled=True))
        return cls(spec, method, estimator, classes)

    def estimate(self, current: pd.DataFrame) -> PerformanceEstimate:
        """Estimate the model's metric on the batch ``current`` (features and outputs, no target)."""
        spec = self.spec
        with _nannyml_quietly(f"batch of '{spec.name}': NannyML could not estimate with {self.method}"):
            result = self._estimator.estimate(_prepare(current, spec, self._classes, labelled=False))
        table = result.to_df()
        row = table[table[("chunk", "period")] == "analysis"].iloc[0]
        metric = spec.metric_name

        def figure(name: str) -> float | None:
            value = row.get((metric, name))
            return None if value is None or pd.isna(value) else float(value)

        value = figure("value")
        return PerformanceEstimate(
            metric=metric,
            value=math.nan if value is None else value,
            lower=figure("lower_confidence_boundary"),
            upper=figure("upper_confidence_boundary"),
            standard_error=figure("sampling_error"),
            method=self.method,
            rows=len(current),
        )


def estimate_performance(
    holdout: pd.DataFrame, current: pd.DataFrame, spec: ModelSpec
) -> PerformanceEstimate | None:
    """Fit on ``holdout`` and estimate on ``current`` in one call (None: not estimable)."""
    estimator = PerformanceEstimator.fit(holdout, spec)
    return None if estimator is None else estimator.estimate(current)


def _new_estimator(method: str, spec: ModelSpec) -> Any:
    from zenops.offline import stay_offline

    stay_offline()
    import nannyml

    metric = spec.metric_name
    if method == "CBPE":
        return nannyml.CBPE(
            metrics=[metric],
            y_pred_proba=_PROBA,
            y_pred=_PRED,
            y_true=_TRUE,
            problem_type="classification_binary",
            chunk_number=1,
        )
    # One thread: LightGBM's OpenMP threads spin and slow down badly on a busy machine.
    return nannyml.DLE(
        feature_column_names=list(spec.features.all),
        y_pred=_PRED,
        y_true=_TRUE,
        metrics=[metric],
        chunk_number=1,
        hyperparameters={"verbosity": -1, "n_jobs": 1, "random_state": spec.seed},
    )


def _prepare(
    frame: pd.DataFrame, spec: ModelSpec, classes: list[Any] | None, *, labelled: bool
) -> pd.DataFrame:
    """The columns NannyML reads, under private names; class labels as 0/1 for CBPE.

    Categorical features become plain Python objects: NannyML reshapes them as
    NumPy arrays, which pandas' Arrow-backed text columns do not allow.
    """
    missing = [
        c for c in (PREDICTION, *((PROBABILITY,) if spec.task == "classification" else ())) if c not in frame
    ]
    if missing:
        raise DataError(f"'{spec.name}': columns {', '.join(missing)} are needed to estimate performance")
    out = pd.DataFrame(index=frame.index)
    if spec.task == "classification":
        positive = classes[-1] if classes else 1
        out[_PROBA] = frame[PROBABILITY].astype(float)
        out[_PRED] = (frame[PREDICTION] == positive).astype(int)
        if labelled:
            out[_TRUE] = (frame[spec.target] == positive).astype(int)
        return out.reset_index(drop=True)
    for column in spec.features.numerical:
        out[column] = frame[column].astype(float)
    for column in spec.features.categorical:
        out[column] = pd.Series(
            frame[column].astype(object).to_numpy(dtype=object), index=frame.index, dtype=object
        )
    out[_PRED] = frame[PREDICTION].astype(float)
    if labelled:
        out[_TRUE] = frame[spec.target].astype(float)
    return out.reset_index(drop=True)


_NANNYML_LOCK = threading.RLock()


@contextlib.contextmanager
def _nannyml_quietly(failure: str) -> Iterator[None]:
    """Silence NannyML's warnings and logs, keep text columns as objects, translate its errors.

    The pandas option and the warning filters are process-wide, so NannyML runs one
    call at a time: a thread restoring the option while another still fits would
    hand LightGBM Arrow strings, and the fit would fail (seen with two models
    monitored on two threads).
    """
    with _NANNYML_LOCK:
        logger = logging.getLogger("nannyml")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings(), pd.option_context("future.infer_string", False):
                warnings.simplefilter("ignore")
                yield
        except DataError:
            raise
        except Exception as error:  # NannyML wraps most failures in its own exceptions
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise DataError(f"{failure} ({first})") from error
        finally:
            logger.setLevel(level)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
