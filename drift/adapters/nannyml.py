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
(:func:`zenops.kernel.offline.stay_offline`), and its failures become a
:class:`~zenops.kernel.errors.DataError`.

**Calibration.** CBPE takes the probabilities it reads as true. NannyML calibrates
them only when its own test (calibration errors on ten 10% splits of the reference)
says calibration helps; on a holdout of a few hundred rows that test often says no,
and the raw probabilities of an overconfident model (gradient boosting on a small
training set, training ROC AUC ≈ 1) read as a near-perfect model: the loan-default
demo population trained on 500 rows (seed 1) read 0.937 on stable days against a
holdout of 0.747 and a realized 0.745; on 1,000 rows (seed 42), 0.951 against 0.767.
The estimator therefore always calibrates, itself, with Platt scaling fitted on the
holdout (two parameters: it does not overfit a few hundred rows as isotonic
regression does) and turns NannyML's calibration off. The same champions now read
0.755 and 0.718 (holdout 0.728); the demo's 12,000-row champion 0.795 against a
realized 0.799 (0.848 on its raw probabilities).

**Trust.** An estimate carries ``trusted=False`` and a one-line ``distrust`` when the
estimator failed its fit-time check on the reference (:func:`check_on_reference`,
kept as :attr:`PerformanceEstimator.check`), or when the batch lies outside the
reference's support (:func:`drift.trust.reference_support`). Neither can see concept
drift: when ``P(y | x)`` changes inside the support, the inputs look as they did and
the estimate stays at the reference's level (demo concept-drift days: CBPE 0.80,
realized 0.58). Only labels show it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from drift.columns import PREDICTION, PROBABILITY
from drift.estimates import CBPE_METRICS, DLE_METRICS, PerformanceEstimate, estimation_method
from drift.metrics import metric_value
from drift.trust import (
    CalibrationCheck,
    ProbabilitySupport,
    RangeSupport,
    ece_limit,
    expected_calibration_error,
    fold_indices,
    judge_calibration,
    platt_apply,
    platt_fit,
    reference_support,
    too_few_rows,
)
from zenops.kernel.config import ModelSpec
from zenops.kernel.deferred import FIRST_IMPORT
from zenops.kernel.errors import DataError
from zenops.kernel.offline import stay_offline

__all__ = [
    "CBPE_METRICS",
    "CHECK_FOLDS",
    "DLE_METRICS",
    "PerformanceEstimate",
    "PerformanceEstimator",
    "estimate_performance",
    "estimation_method",
    "warm_up",
]

_TRUE, _PRED, _PROBA = "__y_true", "__y_pred", "__y_proba"
#: Folds of the fit-time check: each fold is estimated by an estimator fitted on the others.
CHECK_FOLDS = 5


class PerformanceEstimator:
    """A NannyML estimator fitted on the champion's holdout, for one model.

    ``check`` is the fit-time :class:`~drift.trust.CalibrationCheck` (log it once per
    champion); ``calibration`` the Platt parameters applied before CBPE (None for DLE).
    """

    def __init__(
        self,
        spec: ModelSpec,
        method: str,
        fitted: _Fitted,
        classes: list[Any] | None,
        check: CalibrationCheck,
        support: ProbabilitySupport | RangeSupport,
    ) -> None:
        self.spec = spec
        self.method = method
        self._fitted = fitted
        self._classes = classes
        self.check = check
        self.support = support

    @property
    def calibration(self) -> tuple[float, float] | None:
        return self._fitted.calibration

    @classmethod
    def fit(cls, holdout: pd.DataFrame, spec: ModelSpec) -> PerformanceEstimator | None:
        """Fit CBPE or DLE on ``holdout`` and check it there; None when the metric cannot be estimated.

        Raises :class:`~zenops.kernel.errors.DataError` when the holdout lacks a column the
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
        warm_up()
        fitted = _fit(rows, spec, method, classes, f"{source}: NannyML could not fit {method}")
        check = check_on_reference(rows, spec, method, classes)
        support = reference_support(rows, spec.features.numerical, spec.features.categorical, method)
        return cls(spec, method, fitted, classes, check, support)

    def estimate(self, current: pd.DataFrame) -> PerformanceEstimate:
        """Estimate the model's metric on the batch ``current`` (features and outputs, no target).

        The estimate is trusted only when the estimator passed its check on the
        reference and the batch lies inside the reference's support.
        """
        spec = self.spec
        failure = f"batch of '{spec.name}': NannyML could not estimate with {self.method}"
        row = _analysis_row(self._fitted, _prepare(current, spec, self._classes, self.calibration), failure)
        metric = spec.metric_name

        def figure(name: str) -> float | None:
            value = row.get((metric, name))
            return None if value is None or pd.isna(value) else float(value)

        value = figure("value")
        distrust = self._distrust(current, value)
        return PerformanceEstimate(
            metric=metric,
            value=math.nan if value is None else value,
            lower=figure("lower_confidence_boundary"),
            upper=figure("upper_confidence_boundary"),
            standard_error=figure("sampling_error"),
            method=self.method,
            rows=len(current),
            trusted=distrust is None,
            distrust=distrust,
        )

    def _distrust(self, current: pd.DataFrame, value: float | None) -> str | None:
        """Why the estimate must not decide a verdict, in one line (None: it may)."""
        reasons = []
        if value is None:
            reasons.append(f"{self.method} gave no {self.spec.metric_name} for this batch")
        if not self.check.passed:
            reasons.append(self.check.reason)
        outside = self.support.distrust(current, self.method)
        if outside:
            reasons.append(outside)
        return "; ".join(reasons) or None


def estimate_performance(
    holdout: pd.DataFrame, current: pd.DataFrame, spec: ModelSpec
) -> PerformanceEstimate | None:
    """Fit on ``holdout`` and estimate on ``current`` in one call (None: not estimable)."""
    estimator = PerformanceEstimator.fit(holdout, spec)
    return None if estimator is None else estimator.estimate(current)


@dataclass(frozen=True)
class _Fitted:
    """A fitted NannyML estimator and the calibration applied before it (CBPE)."""

    estimator: Any
    calibration: tuple[float, float] | None


def _fit(
    rows: pd.DataFrame, spec: ModelSpec, method: str, classes: list[Any] | None, failure: str
) -> _Fitted:
    """Calibrate (CBPE) and fit NannyML's estimator on labelled ``rows``."""
    calibration = None
    if method == "CBPE":
        calibration = platt_fit(rows[PROBABILITY].to_numpy(float), _positive(rows[spec.target], classes))
    estimator = _new_estimator(method, spec)
    with _nannyml_quietly(failure):
        estimator.fit(_prepare(rows, spec, classes, calibration, labelled=True))
    return _Fitted(estimator, calibration)


def _analysis_row(fitted: _Fitted, prepared: pd.DataFrame, failure: str) -> pd.Series:
    """NannyML's figures for ``prepared`` taken as one analysis chunk."""
    with _nannyml_quietly(failure):
        table = fitted.estimator.estimate(prepared).to_df()
    return table[table[("chunk", "period")] == "analysis"].iloc[0]


def check_on_reference(
    rows: pd.DataFrame, spec: ModelSpec, method: str, classes: list[Any] | None
) -> CalibrationCheck:
    """The estimator's check on its labelled reference, by seeded k-fold cross-fitting.

    ``CHECK_FOLDS`` folds (stratified by class for CBPE, seeded by ``spec.seed``): for
    each, the calibration and the estimator are fitted on the other folds and estimate
    the held-out fold as one chunk, beside the metric realized there; CBPE's held-out
    calibrated probabilities also give the expected calibration error. The thresholds
    are :mod:`drift.trust`'s.
    """
    started = time.perf_counter()
    metric = spec.metric_name
    positive = _positive(rows[spec.target], classes) if method == "CBPE" else None
    rarer = None if positive is None else int(min(positive.sum(), len(positive) - positive.sum()))
    failed = too_few_rows(method, len(rows), rarer, CHECK_FOLDS)
    if failed is not None:
        return failed
    estimates, realized, calibrated, observed = [], [], [], []
    try:
        for held_at in fold_indices(len(rows), CHECK_FOLDS, spec.seed, positive):
            fit_rows, held = rows.drop(index=rows.index[held_at]), rows.iloc[held_at]
            fitted = _fit(fit_rows, spec, method, classes, f"{method} check on '{spec.name}'")
            prepared = _prepare(held, spec, classes, fitted.calibration, labelled=True)
            value = _analysis_row(fitted, prepared, f"{method} check on '{spec.name}'").get((metric, "value"))
            estimates.append(math.nan if value is None or pd.isna(value) else float(value))
            realized.append(_realized(prepared, metric, held))
            if fitted.calibration is not None:
                calibrated.append(prepared[_PROBA].to_numpy())
                observed.append(prepared[_TRUE].to_numpy())
    except DataError as error:
        return CalibrationCheck(False, f"{method} could not be checked on the reference: {error}")
    ece = cap = None
    if calibrated:
        probability, truth = np.concatenate(calibrated), np.concatenate(observed)
        ece, cap = expected_calibration_error(truth, probability), ece_limit(probability, spec.seed)
    check = judge_calibration(method, metric, estimates, realized, rows=len(rows), ece=ece, ece_cap=cap)
    check.figures["seconds"] = round(time.perf_counter() - started, 3)
    return check


def _realized(prepared: pd.DataFrame, metric: str, held: pd.DataFrame) -> float:
    """The metric realized on a held-out fold (the model's own, uncalibrated, probabilities)."""
    if _PROBA in prepared:
        proba = held[PROBABILITY].to_numpy(float)
        return metric_value(metric, prepared[_TRUE].to_numpy(), prepared[_PRED].to_numpy(), proba, [0, 1])
    return metric_value(metric, prepared[_TRUE].to_numpy(), prepared[_PRED].to_numpy())


def _positive(target: pd.Series, classes: list[Any] | None) -> np.ndarray:
    return (target == (classes[-1] if classes else 1)).to_numpy(dtype=int)


def warm_up() -> None:
    """Import NannyML once per process, under the lock its calls take, before an estimator is fitted.

    :meth:`PerformanceEstimator.fit` calls it first, so the first import happens in one
    thread only (:data:`~zenops.kernel.deferred.FIRST_IMPORT`); a champion profile's
    fitted estimator is read under the same lock.
    """
    stay_offline()
    with FIRST_IMPORT, _NANNYML_LOCK:
        import nannyml  # noqa: F401


def _new_estimator(method: str, spec: ModelSpec) -> Any:
    stay_offline()
    import nannyml
    from nannyml.calibration import NoopCalibrator

    metric = spec.metric_name
    if method == "CBPE":
        # The probabilities arrive calibrated (Platt); NannyML's own calibration is off.
        return nannyml.CBPE(
            metrics=[metric],
            y_pred_proba=_PROBA,
            y_pred=_PRED,
            y_true=_TRUE,
            problem_type="classification_binary",
            chunk_number=1,
            calibrator=NoopCalibrator(),
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
    frame: pd.DataFrame,
    spec: ModelSpec,
    classes: list[Any] | None,
    calibration: tuple[float, float] | None = None,
    *,
    labelled: bool = False,
) -> pd.DataFrame:
    """The columns NannyML reads, under private names; class labels as 0/1 for CBPE.

    CBPE reads the probability after ``calibration``. Categorical features become
    plain Python objects: NannyML reshapes them as NumPy arrays, which pandas'
    Arrow-backed text columns do not allow.
    """
    missing = [
        c for c in (PREDICTION, *((PROBABILITY,) if spec.task == "classification" else ())) if c not in frame
    ]
    if missing:
        raise DataError(f"'{spec.name}': columns {', '.join(missing)} are needed to estimate performance")
    out = pd.DataFrame(index=frame.index)
    if spec.task == "classification":
        positive = classes[-1] if classes else 1
        proba = frame[PROBABILITY].to_numpy(float)
        out[_PROBA] = proba if calibration is None else platt_apply(proba, calibration)
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
