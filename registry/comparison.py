"""Champion against challenger on the same labelled rows: the statistics and the gate.

Pure: NumPy and SciPy only, no MLflow or Prefect. Each function takes the two
models' outputs on the same rows and returns plain figures, so the refresh steps
record them and the gate decides from them alone.

- :func:`paired_bootstrap`: the model's metric for both models and a seeded paired
  bootstrap interval of the challenger's improvement, absolute and relative to the
  champion (rows are resampled together, so both models always see the same rows).
- :func:`mcnemar`: McNemar's test on the classification errors (exact binomial below
  25 discordant rows, chi-square with continuity correction above).
- :func:`wilcoxon_abs_errors`: Wilcoxon's signed-rank test on the paired absolute
  errors of a regression.
- :func:`decide`: the promotion gate.

*Improvement* is always signed so that positive means the challenger is better:
``challenger - champion`` for a metric where higher is better, ``champion -
challenger`` where lower is better; *relative* improvement divides it by the
champion's ``|metric|``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from drift.metrics import higher_is_better, metric_value

__all__ = [
    "BootstrapResult",
    "GateDecision",
    "PairedTest",
    "decide",
    "improvement",
    "mcnemar",
    "paired_bootstrap",
    "paired_test",
    "wilcoxon_abs_errors",
]

EXACT_MCNEMAR_BELOW = 25


@dataclass(frozen=True)
class BootstrapResult:
    """The metric of both models and the bootstrap interval of the improvement.

    ``low``/``high`` bound the absolute improvement, ``relative_low``/
    ``relative_high`` the relative one, at two-sided level ``confidence``;
    ``resamples`` counts the resamples where the metric was defined for both.
    """

    metric: str
    greater_is_better: bool
    rows: int
    champion: float
    challenger: float
    improvement: float
    relative_improvement: float
    low: float
    high: float
    relative_low: float
    relative_high: float
    confidence: float
    resamples: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {k: _finite(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class PairedTest:
    """A paired significance test: which model it favours and how surely.

    ``favours`` is ``challenger``, ``champion`` or ``neither`` (no difference in
    the data); ``p_value`` is two-sided; ``detail`` holds the counts it rests on.
    """

    name: str
    statistic: float
    p_value: float
    favours: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "statistic": _finite(self.statistic),
            "p_value": _finite(self.p_value),
            "favours": self.favours,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class GateDecision:
    """Whether to promote, and every reason for the answer, in words."""

    promote: bool
    reasons: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"promote": self.promote, "reasons": list(self.reasons)}


def improvement(champion: float, challenger: float, greater_is_better: bool) -> float:
    """The challenger's improvement over the champion, positive when it is better."""
    return challenger - champion if greater_is_better else champion - challenger


def relative(change: float, champion: float) -> float:
    """``change`` as a share of the champion's ``|metric|`` (NaN when the champion's is 0)."""
    return change / abs(champion) if champion != 0 and math.isfinite(champion) else math.nan


def paired_bootstrap(
    metric: str,
    y_true: Any,
    champion_pred: Any,
    challenger_pred: Any,
    champion_proba: Any = None,
    challenger_proba: Any = None,
    *,
    classes: list[Any] | None = None,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapResult:
    """The paired bootstrap of the challenger's improvement in ``metric``.

    Each resample draws the rows with replacement once and scores both models on
    them; resamples where the metric is undefined (one class only) are dropped.
    The interval is the percentile interval at two-sided level ``confidence``.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    greater = higher_is_better(metric)
    y = np.asarray(y_true)
    a, b = np.asarray(champion_pred), np.asarray(challenger_pred)
    pa = None if champion_proba is None else np.asarray(champion_proba, dtype=float)
    pb = None if challenger_proba is None else np.asarray(challenger_proba, dtype=float)
    n = len(y)
    if not len(a) == len(b) == n:
        raise ValueError("the two models' outputs and the targets must have the same rows")
    if classes is None and metric in ("roc_auc", "accuracy", "f1", "log_loss"):
        classes = sorted(np.unique(np.concatenate([y, a, b])).tolist())

    def score(pred: np.ndarray, proba: np.ndarray | None, rows: np.ndarray | slice) -> float:
        return metric_value(metric, y[rows], pred[rows], None if proba is None else proba[rows], classes)

    champion = score(a, pa, slice(None)) if n else math.nan
    challenger = score(b, pb, slice(None)) if n else math.nan
    gain = improvement(champion, challenger, greater)
    gains, shares = [], []
    rng = np.random.default_rng(seed)
    for _ in range(resamples if n else 0):
        rows = rng.integers(0, n, n)
        first, second = score(a, pa, rows), score(b, pb, rows)
        if math.isnan(first) or math.isnan(second):
            continue
        change = improvement(first, second, greater)
        gains.append(change)
        shares.append(relative(change, first))
    tail = (1 - confidence) / 2
    low, high = _quantiles(gains, tail)
    relative_low, relative_high = _quantiles([s for s in shares if not math.isnan(s)], tail)
    return BootstrapResult(
        metric=metric,
        greater_is_better=greater,
        rows=n,
        champion=champion,
        challenger=challenger,
        improvement=gain,
        relative_improvement=relative(gain, champion),
        low=low,
        high=high,
        relative_low=relative_low,
        relative_high=relative_high,
        confidence=confidence,
        resamples=len(gains),
        seed=seed,
    )


def mcnemar(y_true: Any, champion_pred: Any, challenger_pred: Any) -> PairedTest:
    """McNemar's test of the two classifiers' error rates on the same rows.

    ``champion_only`` counts rows only the champion gets right, ``challenger_only``
    rows only the challenger gets right; the test asks whether they differ more than
    chance allows.
    """
    y = np.asarray(y_true)
    right_a = np.asarray(champion_pred) == y
    right_b = np.asarray(challenger_pred) == y
    champion_only = int(np.sum(right_a & ~right_b))
    challenger_only = int(np.sum(~right_a & right_b))
    discordant = champion_only + challenger_only
    detail = {
        "champion_only": champion_only,
        "challenger_only": challenger_only,
        "exact": discordant < EXACT_MCNEMAR_BELOW,
    }
    if discordant == 0:
        return PairedTest("mcnemar", 0.0, 1.0, "neither", detail)
    if discordant < EXACT_MCNEMAR_BELOW:
        statistic = float(min(champion_only, challenger_only))
        p_value = float(stats.binomtest(int(statistic), discordant, 0.5).pvalue)
    else:
        statistic = (abs(champion_only - challenger_only) - 1) ** 2 / discordant
        p_value = float(stats.chi2.sf(statistic, 1))
    return PairedTest(
        "mcnemar", float(statistic), min(p_value, 1.0), _favours(challenger_only - champion_only), detail
    )


def wilcoxon_abs_errors(y_true: Any, champion_pred: Any, challenger_pred: Any) -> PairedTest:
    """Wilcoxon's signed-rank test of the paired absolute errors of two regressors.

    Rows where both errors are equal carry no information and are dropped
    (``zero_method="wilcox"``); ``challenger_better`` counts rows where the
    challenger's error is smaller.
    """
    y = np.asarray(y_true, dtype=float)
    gain = np.abs(y - np.asarray(champion_pred, dtype=float)) - np.abs(
        y - np.asarray(challenger_pred, dtype=float)
    )
    nonzero = gain[gain != 0]
    detail = {
        "challenger_better": int(np.sum(gain > 0)),
        "champion_better": int(np.sum(gain < 0)),
        "median_gain": _finite(float(np.median(gain))) if len(gain) else None,
    }
    if len(nonzero) == 0:
        return PairedTest("wilcoxon", 0.0, 1.0, "neither", detail)
    result = stats.wilcoxon(nonzero, zero_method="wilcox", alternative="two-sided")
    ranks = stats.rankdata(np.abs(nonzero))
    signed = float(np.sum(ranks[nonzero > 0]) - np.sum(ranks[nonzero < 0]))
    return PairedTest("wilcoxon", float(result.statistic), float(result.pvalue), _favours(signed), detail)


def paired_test(task: str, y_true: Any, champion_pred: Any, challenger_pred: Any) -> PairedTest:
    """McNemar for a classification, Wilcoxon signed-rank for a regression."""
    if task == "classification":
        return mcnemar(y_true, champion_pred, challenger_pred)
    return wilcoxon_abs_errors(y_true, champion_pred, challenger_pred)


def decide(
    bootstrap: BootstrapResult,
    test: PairedTest | None,
    *,
    margin: float,
    min_rows: int,
    validation_passed: bool | None = None,
    validation_message: str = "",
    require_paired_test: bool = False,
) -> GateDecision:
    """The promotion gate: promote only a challenger surely better by ``margin``.

    Every condition must hold: at least ``min_rows`` compared rows; the lower bound
    of the relative improvement's interval above ``margin``; the point-estimate
    check (``validation_passed``, MLflow's thresholds) when given; and, with
    ``require_paired_test``, the paired test favouring the challenger at level
    ``1 - confidence``.
    """
    reasons: list[str] = []
    promote = True
    name = bootstrap.metric
    if bootstrap.rows < min_rows:
        promote = False
        reasons.append(f"only {bootstrap.rows} labelled rows to compare on; the gate needs {min_rows}")
    low = bootstrap.relative_low
    level = f"{bootstrap.confidence:.0%}"
    if math.isnan(low) or bootstrap.resamples == 0:
        promote = False
        reasons.append(f"the improvement in {name} could not be estimated on these rows")
    elif low > margin:
        reasons.append(
            f"{name} improves by {_pct(bootstrap.relative_improvement)} "
            f"({level} interval {_pct(low)} to {_pct(bootstrap.relative_high)}), "
            f"above the margin {margin:.2%}"
        )
    else:
        promote = False
        reasons.append(
            f"{name} changes by {_pct(bootstrap.relative_improvement)} "
            f"({level} interval {_pct(low)} to {_pct(bootstrap.relative_high)}): "
            f"not surely above the margin {margin:.2%}"
        )
    if validation_passed is False:
        promote = False
        reasons.append(f"MLflow validation failed: {validation_message or 'thresholds not met'}")
    if test is not None:
        alpha = 1 - bootstrap.confidence
        significant = test.p_value < alpha and test.favours == "challenger"
        verdict = "favours the challenger" if significant else "does not show the challenger better"
        reasons.append(f"{test.name} test p = {test.p_value:.3g} {verdict} at level {alpha:.3g}")
        if require_paired_test and not significant:
            promote = False
    return GateDecision(promote=promote, reasons=reasons)


def _quantiles(values: list[float], tail: float) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    low, high = np.quantile(np.asarray(values, dtype=float), [tail, 1 - tail])
    return float(low), float(high)


def _favours(signed: float) -> str:
    if signed > 0:
        return "challenger"
    if signed < 0:
        return "champion"
    return "neither"


def _pct(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:+.2%}"


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
