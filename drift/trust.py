"""Whether a label-free performance estimate can be trusted: the pure figures.

A confidence-based estimate (CBPE) is only as good as the probabilities it reads:
it takes them as true, so an overconfident model reads as a great one. A loss
estimate (DLE) only knows the feature space its loss model was fitted on. This
module holds the arithmetic the estimator's checks use, with no NannyML in it:

- :func:`platt_fit` / :func:`platt_apply` — the calibration every CBPE estimator
  applies before NannyML reads the probabilities (a logistic map of the logit: two
  parameters, so a few hundred holdout rows fit it without overfitting);
- :func:`expected_calibration_error` and :func:`ece_limit` — how far calibrated
  probabilities are from the observed rates, against what sampling alone gives;
- :func:`judge_calibration` — the fit-time verdict: estimate vs realized on
  held-out reference chunks, and the calibration error (:class:`CalibrationCheck`);
- :class:`ProbabilitySupport` and :class:`RangeSupport` — whether a batch lies
  where the reference has rows (CBPE: the probability; DLE: features and prediction).

Thresholds are module constants, documented where they are defined.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from drift.columns import PREDICTION, PROBABILITY

__all__ = [
    "CalibrationCheck",
    "ProbabilitySupport",
    "RangeSupport",
    "ece_limit",
    "expected_calibration_error",
    "fold_indices",
    "judge_calibration",
    "platt_apply",
    "platt_fit",
    "reference_support",
    "too_few_rows",
]

# -- thresholds ---------------------------------------------------------------

#: Fewest labelled reference rows the check accepts: below, held-out chunks are too
#: small for their realized metric to say anything, and the estimate is not trusted.
MIN_CHECK_ROWS = 200
#: Fewest rows of the rarer class per held-out chunk (classification).
MIN_CLASS_ROWS_PER_FOLD = 5
#: Largest gap between the mean estimate and the mean realized metric on held-out
#: reference chunks: absolute for CBPE's metrics (all in [0, 1]), relative to the
#: realized value for DLE's (rmse, mae). The allowance grows to twice the standard
#: error of the mean gap when the chunks are noisier than that, but never beyond
#: twice the base (a reference that noisy cannot vouch for its estimator).
GAP_ABSOLUTE = {"roc_auc": 0.05, "accuracy": 0.05, "f1": 0.05}
GAP_RELATIVE = 0.15
GAP_STANDARD_ERRORS = 2.0
#: ECE: equal-frequency bins; the limit is this quantile of the ECE of perfectly
#: calibrated probabilities (labels drawn from the probabilities, seeded), plus a margin.
ECE_BINS = 10
ECE_DRAWS = 200
ECE_QUANTILE = 0.99
ECE_MARGIN = 0.01
#: CBPE support: the logit of the probability in bins of this width over
#: [-LOGIT_SPAN, LOGIT_SPAN] (plus one open bin at each end). A bin the reference
#: barely covers holds less than SUPPORT_MIN_SHARE of its rows or fewer than
#: SUPPORT_MIN_ROWS; a batch with more than MAX_OUTSIDE_SHARE of its rows there
#: (CBPE), or outside the reference's ranges and categories (DLE), is outside support.
LOGIT_WIDTH = 0.5
LOGIT_SPAN = 8.0
SUPPORT_MIN_SHARE = 0.005
SUPPORT_MIN_ROWS = 3
MAX_OUTSIDE_SHARE = 0.10

_EPS = 1e-6


# -- calibration --------------------------------------------------------------


def _logit(probability: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(probability, dtype=float), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def platt_fit(probability: np.ndarray, positive: np.ndarray, ridge: float = 1e-3) -> tuple[float, float]:
    """``(a, b)`` of ``P(y=1) = sigmoid(a * logit(p) + b)``: Newton's method with step halving.

    The small ridge keeps the slope finite when the classes are separated
    (probabilities of exactly 0 and 1, say); halving a step that does not lower the
    penalised log-loss keeps far-out logits (an overconfident model) from diverging.
    """
    x = _logit(probability)
    y = np.asarray(positive, dtype=float)
    design = np.column_stack([x, np.ones_like(x)])

    def loss(theta: np.ndarray) -> float:
        z = design @ theta
        return float(np.sum(np.logaddexp(0, z) - y * z) + ridge * theta @ theta / 2)

    theta = np.array([1.0, 0.0])
    current = loss(theta)
    for _ in range(100):
        mu = 1 / (1 + np.exp(-np.clip(design @ theta, -35, 35)))
        gradient = design.T @ (mu - y) + ridge * theta
        hessian = (design * (mu * (1 - mu))[:, None]).T @ design + ridge * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        for _ in range(40):
            candidate = theta - step
            value = loss(candidate)
            if value <= current:
                break
            step = step / 2
        else:
            break
        theta, improvement, current = candidate, current - value, value
        if improvement < 1e-10 * max(1.0, abs(current)):
            break
    return float(theta[0]), float(theta[1])


def platt_apply(probability: np.ndarray, params: tuple[float, float]) -> np.ndarray:
    """The calibrated probabilities."""
    a, b = params
    return 1 / (1 + np.exp(-np.clip(a * _logit(probability) + b, -35, 35)))


def expected_calibration_error(positive: np.ndarray, probability: np.ndarray, bins: int = ECE_BINS) -> float:
    """Mean |mean probability − observed rate| over equal-frequency bins, weighted by size."""
    p = np.asarray(probability, dtype=float)
    order = np.argsort(p, kind="stable")
    y = np.asarray(positive, dtype=float)[order]
    p = p[order]
    total = 0.0
    for chunk_p, chunk_y in zip(np.array_split(p, bins), np.array_split(y, bins), strict=True):
        if len(chunk_p):
            total += len(chunk_p) * abs(chunk_p.mean() - chunk_y.mean())
    return total / len(p)


def ece_limit(probability: np.ndarray, seed: int, bins: int = ECE_BINS) -> float:
    """The ECE that perfectly calibrated probabilities exceed once in a hundred, plus the margin.

    Labels are drawn from the probabilities themselves (``ECE_DRAWS`` times, seeded), so
    the limit is the sampling noise of ECE for this many rows and this spread.
    """
    p = np.sort(np.asarray(probability, dtype=float))
    rng = np.random.default_rng(seed)
    draws = rng.uniform(size=(ECE_DRAWS, len(p))) < p
    edges = np.linspace(0, len(p), bins + 1).astype(int)
    sizes = np.diff(edges)
    keep = sizes > 0
    starts = edges[:-1][keep]
    p_means = np.add.reduceat(p, starts) / sizes[keep]
    y_means = np.add.reduceat(draws, starts, axis=1) / sizes[keep]
    null = (np.abs(y_means - p_means) * sizes[keep]).sum(axis=1) / len(p)
    return float(np.quantile(null, ECE_QUANTILE) + ECE_MARGIN)


# -- the fit-time check -------------------------------------------------------


@dataclass(frozen=True)
class CalibrationCheck:
    """The estimator's check on its reference: passed or not, the figures, one line why.

    ``figures`` holds ``rows``, ``folds``, ``estimate`` and ``realized`` (means over
    held-out reference chunks), ``gap`` and ``tolerance``, for CBPE ``ece`` and
    ``ece_limit``, and ``seconds`` (the check's cost).
    """

    passed: bool
    reason: str
    figures: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (NaN becomes None)."""
        figures = {
            k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in self.figures.items()
        }
        return {"passed": self.passed, "reason": self.reason, "figures": figures}


def fold_indices(rows: int, folds: int, seed: int, strata: np.ndarray | None = None) -> list[np.ndarray]:
    """The held-out positions of each of ``folds`` folds: seeded, stratified by ``strata`` if given."""
    rng = np.random.default_rng(seed)
    fold_of = np.empty(rows, dtype=int)
    groups = [np.arange(rows)] if strata is None else [np.flatnonzero(strata == v) for v in np.unique(strata)]
    start = 0
    for group in groups:
        fold_of[rng.permutation(group)] = (start + np.arange(len(group))) % folds
        start += len(group)
    return [np.flatnonzero(fold_of == k) for k in range(folds)]


def too_few_rows(method: str, rows: int, rarer: int | None, folds: int) -> CalibrationCheck | None:
    """A failed check when the reference is too small to check the estimator on, else None."""
    if rows < MIN_CHECK_ROWS:
        why = f"{rows} labelled reference rows, fewer than the {MIN_CHECK_ROWS} the check needs"
    elif rarer is not None and rarer < MIN_CLASS_ROWS_PER_FOLD * folds:
        needed = MIN_CLASS_ROWS_PER_FOLD * folds
        why = f"{rarer} rows of the rarer class, fewer than the {needed} the check needs"
    else:
        return None
    return CalibrationCheck(False, f"{method} cannot be checked on the reference: {why}", {"rows": rows})


def judge_calibration(
    method: str,
    metric: str,
    estimates: Sequence[float],
    realized: Sequence[float],
    *,
    rows: int,
    ece: float | None = None,
    ece_cap: float | None = None,
) -> CalibrationCheck:
    """Pass when the estimates on held-out reference chunks match their realized metric
    within the tolerance and (CBPE) the calibration error is within its limit."""
    pairs = [(e, r) for e, r in zip(estimates, realized, strict=True) if not (math.isnan(e) or math.isnan(r))]
    figures: dict[str, float] = {"rows": rows, "folds": len(estimates)}
    if len(pairs) < 2:
        reason = f"{method} cannot be checked on the reference: too few held-out chunks with a {metric}"
        return CalibrationCheck(False, reason, figures)
    est, real = np.array(pairs).T
    gaps = est - real
    base = GAP_ABSOLUTE.get(metric, GAP_RELATIVE * abs(float(real.mean())))
    noise = GAP_STANDARD_ERRORS * float(gaps.std(ddof=1)) / math.sqrt(len(gaps))
    tolerance = min(max(base, noise), 2 * base)
    figures.update(
        estimate=float(est.mean()), realized=float(real.mean()), gap=float(gaps.mean()), tolerance=tolerance
    )
    if ece is not None and ece_cap is not None:
        figures.update(ece=ece, ece_limit=ece_cap)
    said = f"estimate {est.mean():.3g} vs realized {real.mean():.3g} on held-out reference chunks"
    if abs(gaps.mean()) > tolerance:
        reason = f"{method} failed its calibration check on the reference: {said} (tolerance {tolerance:.2g})"
        return CalibrationCheck(False, reason, figures)
    if ece is not None and ece_cap is not None and ece > ece_cap:
        reason = (
            f"{method} failed its calibration check on the reference: expected calibration error "
            f"{ece:.3f} after calibration, above {ece_cap:.3f} ({said})"
        )
        return CalibrationCheck(False, reason, figures)
    calibration = f", calibration error {ece:.3f} (limit {ece_cap:.3f})" if ece is not None else ""
    return CalibrationCheck(True, f"{method} passed its calibration check: {said}{calibration}", figures)


# -- support per batch --------------------------------------------------------


def _logit_bins(probability: np.ndarray) -> np.ndarray:
    edges = np.arange(-LOGIT_SPAN, LOGIT_SPAN + LOGIT_WIDTH / 2, LOGIT_WIDTH)
    return np.digitize(_logit(probability), edges)


@dataclass(frozen=True)
class ProbabilitySupport:
    """The logit bins of the predicted probability that the reference covers (CBPE)."""

    covered: frozenset[int]
    reference_outside: float

    @classmethod
    def fit(cls, probability: np.ndarray) -> ProbabilitySupport:
        bins = _logit_bins(probability)
        values, counts = np.unique(bins, return_counts=True)
        enough = (counts >= SUPPORT_MIN_ROWS) & (counts >= SUPPORT_MIN_SHARE * len(bins))
        covered = frozenset(int(v) for v in values[enough])
        outside = float(counts[~enough].sum() / len(bins)) if len(bins) else 0.0
        return cls(covered, outside)

    def outside_share(self, probability: np.ndarray) -> float:
        """Share of ``probability`` in bins the reference barely covers."""
        p = np.asarray(probability, dtype=float)
        bins = _logit_bins(p[np.isfinite(p)])
        return float(np.mean(~np.isin(bins, list(self.covered)))) if len(bins) else 0.0

    def distrust(self, frame: pd.DataFrame, method: str = "CBPE") -> str | None:
        """One line when the batch's ``prediction_proba`` lies outside the support, else None."""
        share = self.outside_share(frame[PROBABILITY].to_numpy(dtype=float))
        if share <= MAX_OUTSIDE_SHARE:
            return None
        return (
            f"batch outside {method}'s reference support: {share:.0%} of its predicted probabilities "
            f"lie where the reference barely has any (limit {MAX_OUTSIDE_SHARE:.0%}; "
            f"reference itself {self.reference_outside:.1%})"
        )


@dataclass(frozen=True)
class RangeSupport:
    """The reference's numerical ranges and categories (DLE: features and prediction)."""

    ranges: dict[str, tuple[float, float]]
    categories: dict[str, frozenset[Any]]

    @classmethod
    def fit(cls, frame: pd.DataFrame, numerical: Iterable[str], categorical: Iterable[str]) -> RangeSupport:
        ranges = {c: (float(frame[c].min()), float(frame[c].max())) for c in numerical}
        categories = {c: frozenset(frame[c].dropna().astype(str)) for c in categorical}
        return cls(ranges, categories)

    def outside(self, frame: pd.DataFrame) -> tuple[float, list[str]]:
        """Share of rows with a value outside the reference, and the columns that hold them."""
        mask = np.zeros(len(frame), dtype=bool)
        columns = []
        for column, (low, high) in self.ranges.items():
            values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
            out = (values < low) | (values > high)
            if out.any():
                columns.append(column)
            mask |= out
        for column, known in self.categories.items():
            values = frame[column]
            out = (values.notna() & ~values.astype(str).isin(known)).to_numpy()
            if out.any():
                columns.append(column)
            mask |= out
        return (float(mask.mean()) if len(mask) else 0.0), columns

    def distrust(self, frame: pd.DataFrame, method: str = "DLE") -> str | None:
        """One line when the batch lies outside the support, else None."""
        share, columns = self.outside(frame)
        if share <= MAX_OUTSIDE_SHARE:
            return None
        named = ", ".join(columns[:4]) + (" …" if len(columns) > 4 else "")
        return (
            f"batch outside {method}'s reference support: {share:.0%} of its rows hold values outside "
            f"the reference's ranges or categories ({named}; limit {MAX_OUTSIDE_SHARE:.0%})"
        )


def reference_support(
    reference: pd.DataFrame, numerical: Sequence[str], categorical: Sequence[str], method: str
) -> ProbabilitySupport | RangeSupport:
    """CBPE: the bins of the reference's probability; DLE: its feature and prediction ranges."""
    if method == "CBPE":
        return ProbabilitySupport.fit(reference[PROBABILITY].to_numpy(dtype=float))
    return RangeSupport.fit(reference, [*numerical, PREDICTION], categorical)


def _finite(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    return value
