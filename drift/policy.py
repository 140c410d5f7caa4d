"""The drift verdict: plain rules that turn one batch's figures into a decision.

Pure: this module imports no Evidently, NannyML, MLflow or Prefect; its input is an
:class:`Observation` of plain numbers and its output a :class:`Verdict`.

Statuses, in order of severity: ``ok`` < ``warn`` < ``refresh`` < ``rebuild``, and
``data_quality``, which replaces every other verdict. One *cycle* is one batch.

The rules (thresholds from the model's :class:`~zenops.config.DriftPolicy`):

1. **Data problems** (the batch failed validation) → ``data_quality``; nothing else
   is judged and the drift streak is carried over unchanged.
2. **Too few rows**: with fewer than ``min_rows`` rows no drift test is run; the
   verdict is ``warn`` (small batches deserve a look), the drift streak is carried
   over unchanged. Performance rules 6–7 still apply.
3. **Multiple testing**: every feature test and the prediction test form one family,
   corrected with Holm's step-down procedure at ``alpha``. Holm controls the
   family-wise error rate: on a batch without drift, the chance that *any* column is
   flagged is at most ``alpha``, however many columns are tested. (Holm is chosen over
   Benjamini–Hochberg because a false alarm here costs a ticket and a retraining; the
   false-discovery rate would let false alarms grow with the number of columns.)
   A rejected column counts as drifted only if its effect size (KS statistic or total
   variation distance) is at least ``min_effect`` — so that, on large batches, a
   statistically certain but negligible shift is not reported as drift.
4. ``drift_share`` = drifted features / tested features. At least one drifted
   feature and a share ≥ ``drift_share_warn`` (default 0: any drifted feature), or a
   drifted prediction, gives ``warn``.
5. A share ≥ ``drift_share_refresh`` extends the drift streak (else it resets to 0);
   a streak of ``persistence`` consecutive cycles gives ``refresh``. Prediction drift
   alone never asks for more than ``warn``: a population may change while the model
   stays right, and the performance rules judge that.
6. **Measured performance** (labels, at least ``min_labelled_rows`` of them): a
   relative drop of the model's metric against its holdout baseline ≥
   ``performance_drop_refresh`` gives ``refresh`` at once (no persistence wait), ≥
   ``performance_drop_rebuild`` gives ``rebuild`` — provided the drop is significant,
   i.e. at least ``z`` standard errors with ``z`` the one-sided normal quantile of
   ``1 - alpha``; a drop past a threshold but within the noise gives ``warn``. The
   standard error combines the batch's and the baseline's (a holdout of a thousand
   rows measures RMSE only to a few percent).
7. **Estimated performance** (NannyML, no labels; used only when rule 6 has no usable
   labels): a significant estimated drop ≥ ``performance_drop_refresh`` gives
   ``refresh`` and never more: an estimate can escalate to a refresh, but a rebuild
   (data scientists' time) waits for labels to confirm the drop.

The relative drop is ``(baseline - value) / |baseline|`` for metrics where higher is
better and ``(value - baseline) / |baseline|`` otherwise (the absolute difference when
the baseline is 0); an improvement is a negative drop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

from zenops.config import DriftPolicy

__all__ = [
    "ColumnTest",
    "DATA_QUALITY",
    "OK",
    "Observation",
    "PerformanceReading",
    "REBUILD",
    "REFRESH",
    "SEVERITY",
    "STATUSES",
    "Verdict",
    "WARN",
    "decide",
    "holm",
    "relative_drop",
]

OK, WARN, REFRESH, REBUILD, DATA_QUALITY = "ok", "warn", "refresh", "rebuild", "data_quality"
STATUSES = (OK, WARN, REFRESH, REBUILD, DATA_QUALITY)
SEVERITY = {status: rank for rank, status in enumerate(STATUSES)}


@dataclass(frozen=True)
class ColumnTest:
    """One column's drift test: its p-value (NaN: not testable) and effect size in [0, 1]."""

    column: str
    p_value: float
    effect: float | None = None


@dataclass(frozen=True)
class PerformanceReading:
    """The model's metric on the batch next to its holdout baseline.

    ``measured`` is True for a metric computed on labels, False for an estimate.
    ``standard_error`` and ``baseline_standard_error`` are the sampling errors of
    ``value`` and ``baseline`` (None: unknown, counted as 0; with both unknown the
    drop is taken at face value).
    """

    metric: str
    value: float
    baseline: float
    higher_is_better: bool
    measured: bool
    rows: int
    standard_error: float | None = None
    baseline_standard_error: float | None = None


@dataclass(frozen=True)
class Observation:
    """Everything the policy looks at for one batch of one model."""

    rows: int
    features: tuple[ColumnTest, ...] = ()
    prediction: ColumnTest | None = None
    measured: PerformanceReading | None = None
    estimated: PerformanceReading | None = None
    data_problems: tuple[str, ...] = ()
    previous_drift_cycles: int = 0


@dataclass(frozen=True)
class Verdict:
    """The decision for one batch and the reasons for it, one line each.

    ``drifted_features`` lists (feature, p-value), smallest p-value first;
    ``drift_share`` is None when drift was not tested; ``consecutive_drift`` is the
    streak to pass as ``previous_drift_cycles`` with the next batch.
    """

    status: str
    reasons: list[str] = field(default_factory=list)
    drifted_features: list[tuple[str, float]] = field(default_factory=list)
    drift_share: float | None = None
    consecutive_drift: int = 0
    prediction_drift: bool = False
    performance_drop: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "status": self.status,
            "reasons": list(self.reasons),
            "drifted_features": [{"feature": f, "p_value": p} for f, p in self.drifted_features],
            "drift_share": self.drift_share,
            "consecutive_drift": self.consecutive_drift,
            "prediction_drift": self.prediction_drift,
            "performance_drop": self.performance_drop,
        }


def holm(p_values: Sequence[float], alpha: float) -> list[bool]:
    """Holm's step-down procedure: which hypotheses are rejected at family-wise level ``alpha``.

    Sort the m p-values ascending; reject the k-th smallest while it is ≤ alpha/(m-k+1)
    (k from 1), and stop at the first that is not. NaN p-values are never rejected and
    do not count in m.
    """
    finite = [(p, i) for i, p in enumerate(p_values) if not math.isnan(p)]
    finite.sort()
    m = len(finite)
    rejected = [False] * len(p_values)
    for rank, (p, index) in enumerate(finite):
        if p > alpha / (m - rank):
            break
        rejected[index] = True
    return rejected


def relative_drop(value: float, baseline: float, higher_is_better: bool) -> float:
    """How much worse ``value`` is than ``baseline``, relative to the baseline (negative: better)."""
    worse_by = baseline - value if higher_is_better else value - baseline
    return worse_by / abs(baseline) if baseline != 0 else worse_by


def decide(observation: Observation, policy: DriftPolicy) -> Verdict:
    """Apply the rules of this module to one batch."""
    obs = observation
    if obs.data_problems:
        return Verdict(
            status=DATA_QUALITY,
            reasons=list(obs.data_problems),
            consecutive_drift=obs.previous_drift_cycles,
        )
    drift = _judge_drift(obs, policy)
    performance = _judge_performance(obs, policy)
    status = max((drift.status, performance.status), key=SEVERITY.__getitem__)
    return Verdict(
        status=status,
        reasons=drift.reasons + performance.reasons,
        drifted_features=drift.drifted,
        drift_share=drift.share,
        consecutive_drift=drift.streak,
        prediction_drift=drift.prediction_drift,
        performance_drop=performance.drop,
    )


@dataclass
class _DriftJudgement:
    status: str
    reasons: list[str]
    streak: int
    share: float | None = None
    drifted: list[tuple[str, float]] = field(default_factory=list)
    prediction_drift: bool = False


@dataclass
class _PerformanceJudgement:
    status: str = OK
    reasons: list[str] = field(default_factory=list)
    drop: float | None = None


def _judge_drift(obs: Observation, policy: DriftPolicy) -> _DriftJudgement:
    if obs.rows < policy.min_rows:
        return _DriftJudgement(
            status=WARN,
            reasons=[f"only {obs.rows} rows (fewer than min_rows={policy.min_rows}): drift not tested"],
            streak=obs.previous_drift_cycles,
        )
    tests = [t for t in obs.features if not math.isnan(t.p_value)]
    untested = [t.column for t in obs.features if math.isnan(t.p_value)]
    family = list(tests)
    if obs.prediction is not None and not math.isnan(obs.prediction.p_value):
        family.append(obs.prediction)
    rejected = holm([t.p_value for t in family], policy.alpha)
    flagged = [t for t, r in zip(family, rejected, strict=True) if r and _large_enough(t, policy)]
    prediction_drift = obs.prediction is not None and any(t is obs.prediction for t in flagged)
    drifted = sorted(
        ((t.column, t.p_value) for t in flagged if t is not obs.prediction), key=lambda item: item[1]
    )
    share = len(drifted) / len(tests) if tests else None
    reasons: list[str] = []
    if untested:
        reasons.append(f"not testable (no values to compare): {', '.join(untested)}")
    if share is None:
        return _DriftJudgement(
            status=WARN, reasons=[*reasons, "no feature could be tested"], streak=obs.previous_drift_cycles
        )
    drifting = bool(drifted) and share >= policy.drift_share_refresh
    streak = obs.previous_drift_cycles + 1 if drifting else 0
    status = OK
    if drifted:
        listed = ", ".join(f"{name} (p={p:.2g})" for name, p in drifted[:5])
        more = f" and {len(drifted) - 5} more" if len(drifted) > 5 else ""
        reasons.append(
            f"{len(drifted)} of {len(tests)} features drifted ({share:.0%}, Holm at alpha={policy.alpha:g}): "
            f"{listed}{more}"
        )
        if share >= policy.drift_share_warn:
            status = WARN
    if drifting:
        status = WARN
        if streak >= policy.persistence:
            status = REFRESH
            reasons.append(
                f"drift share {share:.0%} ≥ {policy.drift_share_refresh:.0%} for {streak} consecutive "
                f"batches (persistence {policy.persistence}): refresh"
            )
        else:
            reasons.append(
                f"drift share {share:.0%} ≥ {policy.drift_share_refresh:.0%} for {streak} of "
                f"{policy.persistence} consecutive batches needed for a refresh"
            )
    if prediction_drift:
        assert obs.prediction is not None
        status = max(status, WARN, key=SEVERITY.__getitem__)
        reasons.append(f"prediction '{obs.prediction.column}' drifted (p={obs.prediction.p_value:.2g})")
    return _DriftJudgement(
        status=status,
        reasons=reasons,
        streak=streak,
        share=share,
        drifted=drifted,
        prediction_drift=prediction_drift,
    )


def _large_enough(test: ColumnTest, policy: DriftPolicy) -> bool:
    return test.effect is None or math.isnan(test.effect) or test.effect >= policy.min_effect


def _judge_performance(obs: Observation, policy: DriftPolicy) -> _PerformanceJudgement:
    judgement = _PerformanceJudgement()
    reading = None
    measured = obs.measured
    if measured is not None and not math.isnan(measured.value):
        if measured.rows >= policy.min_labelled_rows:
            reading = measured
        else:
            judgement.reasons.append(
                f"measured {measured.metric} {measured.value:.4g} on only {measured.rows} labelled rows "
                f"(fewer than min_labelled_rows={policy.min_labelled_rows}): not judged"
            )
    if reading is None and obs.estimated is not None and not math.isnan(obs.estimated.value):
        reading = obs.estimated
    if reading is None:
        return judgement
    drop = relative_drop(reading.value, reading.baseline, reading.higher_is_better)
    judgement.drop = drop
    how = f"on {reading.rows} labelled rows" if reading.measured else f"estimated on {reading.rows} rows"
    z = _z_score(reading)
    z_needed = NormalDist().inv_cdf(1 - policy.alpha)
    significant = z is None or z >= z_needed
    noise = "" if z is None else f", {z:.1f} standard errors"
    summary = (
        f"{reading.metric} {reading.value:.4g} vs baseline {reading.baseline:.4g} {how}: "
        f"drop {drop:.1%}{noise}"
    )
    if drop < policy.performance_drop_refresh:
        return judgement
    if not significant:
        judgement.status = WARN
        judgement.reasons.append(f"{summary}; within the noise (needs {z_needed:.1f})")
        return judgement
    if reading.measured and drop >= policy.performance_drop_rebuild:
        judgement.status = REBUILD
        judgement.reasons.append(f"{summary} ≥ {policy.performance_drop_rebuild:.0%}: rebuild")
    elif reading.measured:
        judgement.status = REFRESH
        judgement.reasons.append(f"{summary} ≥ {policy.performance_drop_refresh:.0%}: refresh")
    else:
        judgement.status = REFRESH
        note = (
            f"; ≥ {policy.performance_drop_rebuild:.0%} would ask for a rebuild once labels confirm it"
            if drop >= policy.performance_drop_rebuild
            else ""
        )
        judgement.reasons.append(f"{summary} ≥ {policy.performance_drop_refresh:.0%}: refresh{note}")
    return judgement


def _z_score(reading: PerformanceReading) -> float | None:
    errors = [e for e in (reading.standard_error, reading.baseline_standard_error) if e is not None]
    errors = [e for e in errors if not math.isnan(e)]
    if not errors:
        return None
    error = math.sqrt(sum(e * e for e in errors))
    worse_by = (
        reading.baseline - reading.value if reading.higher_is_better else reading.value - reading.baseline
    )
    if error <= 0:
        return math.inf if worse_by > 0 else 0.0
    return worse_by / error
