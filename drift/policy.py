"""The drift verdict: plain rules that turn one batch's figures into a decision.

Pure: this module imports no Evidently, NannyML, MLflow or Prefect; its input is an
:class:`Observation` of plain numbers and its output a :class:`Verdict` (both in
:mod:`drift.verdicts`, re-exported here).

Statuses, in order of severity: ``ok`` < ``warn`` < ``refresh`` < ``rebuild``, and
``data_quality``, which replaces every other verdict of its batch (``SEVERITY``, in
:mod:`drift.verdicts`, ranks it between ``warn`` and ``refresh`` where the monitor sums up
several batches). One *cycle* is one batch.

The rules (thresholds from the model's :class:`~zenops.kernel.config.DriftPolicy`):

1. **Data problems** (the batch failed validation) → ``data_quality``; nothing else
   is judged and the drift streak is carried over unchanged.
2. **Too few rows**: with fewer than ``min_rows`` rows no drift test is run; the
   verdict is ``warn`` (small batches deserve a look), the drift streak is carried
   over unchanged. The performance rules still apply.
3. **Multiple testing**: every feature test and the prediction test form one family,
   corrected with Holm's step-down procedure at ``alpha``. Holm controls the
   family-wise error rate: on a batch without drift, the chance that *any* column is
   flagged is at most ``alpha``, however many columns are tested. (Holm is chosen over
   Benjamini–Hochberg because a false alarm here costs a ticket and a retraining; the
   false-discovery rate would let false alarms grow with the number of columns.)
4. **Effect floor**: a rejected column counts as drifted only if its effect size (KS
   statistic or total variation distance, the share of probability mass that moved)
   is at least ``min_effect`` (default 0.05): on a batch of 50,000 rows a shift too
   small to matter is still statistically certain.
5. ``drift_share`` = drifted features / tested features. At least one drifted
   feature and a share ≥ ``drift_share_warn`` (default 0: any drifted feature), or a
   drifted prediction, gives ``warn``.
6. **Drift streak**: a share ≥ ``drift_share_refresh`` extends the streak (else it
   resets to 0), whatever the performance says. A streak of ``persistence``
   consecutive cycles asks for ``refresh`` — granted only under rule 9. Prediction
   drift alone never asks for more than ``warn``.
7. **Measured performance** (labels, at least ``min_labelled_rows`` of them): a
   relative drop of the model's metric against its holdout baseline ≥
   ``performance_drop_refresh`` gives ``refresh`` at once (no persistence wait), ≥
   ``performance_drop_rebuild`` gives ``rebuild`` — provided the drop is significant,
   i.e. at least ``z`` standard errors with ``z`` the one-sided normal quantile of
   ``1 - alpha``; a drop past a threshold but within the noise gives ``warn``. The
   standard error combines the batch's and the baseline's (a holdout of a thousand
   rows measures RMSE only to a few percent).
8. **Estimated performance** (NannyML, no labels; used only when rule 7 has no usable
   labels): a significant estimated drop ≥ ``performance_drop_refresh`` gives
   ``refresh`` and never more: an estimate can escalate to a refresh, but a rebuild
   (data scientists' time) waits for labels to confirm the drop. An estimate that is
   not ``trusted`` (its estimator failed its own check, or the batch lies outside
   what it was fitted on) gives ``warn`` at most, and its reason is quoted.
9. **Performance first** (``performance_first``, default on): when the batch has a
   *trustworthy reading* — measured under rule 7, or a trusted estimate under rule
   8 — without a significant drop, drift gives ``warn`` at most; the reasons name the
   drifted features as the likely cause to watch, beside the performance figures.
   Drift alone (rule 6) asks for a refresh only when there is no trustworthy
   reading (no labels and no estimate, too few labels, an untrusted estimate), and
   the reasons say which. With ``performance_first: false``, drift escalates
   whatever the performance says.

The verdict's ``rule`` names the rule that decided its status: ``data_quality``,
``performance`` (rules 7–8), ``performance_first`` (rule 9 held drift at ``warn``),
``drift`` (rules 2–6), or ``none`` (``ok``); a reason line says the same in words.

The relative drop is ``(baseline - value) / |baseline|`` for metrics where higher is
better and ``(value - baseline) / |baseline|`` otherwise (the absolute difference when
the baseline is 0); an improvement is a negative drop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

from drift.verdicts import (
    DATA_QUALITY,
    NONE,
    OK,
    REBUILD,
    REFRESH,
    RULES,
    SEVERITY,
    STATUSES,
    WARN,
    ColumnTest,
    Observation,
    PerformanceReading,
    Verdict,
)
from zenops.kernel.config import DriftPolicy

__all__ = [
    "ColumnTest",
    "DATA_QUALITY",
    "NONE",
    "OK",
    "Observation",
    "PerformanceReading",
    "REBUILD",
    "REFRESH",
    "RULES",
    "SEVERITY",
    "STATUSES",
    "Verdict",
    "WARN",
    "decide",
    "holm",
    "relative_drop",
]


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
            rule="data_quality",
        )
    drift = _judge_drift(obs, policy)
    performance = _judge_performance(obs, policy)
    drift_status, weighed, held = _weigh(drift, performance, policy)
    status = max((drift_status, performance.status), key=SEVERITY.__getitem__)
    if held:
        rule = "performance_first"
    elif status == OK:
        rule = NONE
    elif SEVERITY[performance.status] > SEVERITY[drift_status] or (
        performance.status == status and SEVERITY[status] >= SEVERITY[REFRESH]
    ):
        rule = "performance"
    else:
        rule = "drift"
    return Verdict(
        status=status,
        reasons=drift.reasons + performance.reasons + weighed,
        drifted_features=drift.drifted,
        drift_share=drift.share,
        consecutive_drift=drift.streak,
        prediction_drift=drift.prediction_drift,
        performance_drop=performance.drop,
        rule=rule,
    )


@dataclass
class _DriftJudgement:
    status: str
    reasons: list[str]
    streak: int
    share: float | None = None
    drifted: list[tuple[str, float]] = field(default_factory=list)
    prediction_drift: bool = False
    effects: dict[str, float | None] = field(default_factory=dict)
    prediction: str | None = None


@dataclass
class _PerformanceJudgement:
    """What the performance rules found; ``summary`` is None without a reading, and
    ``missing`` says why there is no trustworthy reading (None: there is one)."""

    status: str = OK
    reasons: list[str] = field(default_factory=list)
    drop: float | None = None
    summary: str | None = None
    missing: str | None = "no labels and no estimate"


def _weigh(
    drift: _DriftJudgement, performance: _PerformanceJudgement, policy: DriftPolicy
) -> tuple[str, list[str], bool]:
    """Rule 9: the drift's status after performance is heard, the reason saying which
    rule decided, and whether performance held the drift at ``warn``."""
    flagged = bool(drift.drifted) or drift.prediction_drift
    holds = performance.missing is None and SEVERITY[performance.status] < SEVERITY[REFRESH]
    if flagged and holds and policy.performance_first:
        if SEVERITY[drift.status] >= SEVERITY[REFRESH]:
            line = f"{_cause(drift)}; {performance.summary} — holds: warn, not refresh (performance first)"
            return WARN, [line], True
        line = (
            f"{_cause(drift)} is the likely cause to watch; {performance.summary} — holds: "
            "drift warns only (performance first)"
        )
        return drift.status, [line], False
    if drift.status == REFRESH and SEVERITY[performance.status] < SEVERITY[REFRESH]:
        if performance.missing is not None:
            why = f"no trustworthy performance reading: {performance.missing}"
        else:
            why = f"performance_first is off, although {performance.summary} — holds"
        return drift.status, [f"drift alone decides the refresh ({why})"], False
    if flagged and SEVERITY[performance.status] >= SEVERITY[REFRESH]:
        return drift.status, [f"likely cause: {_cause(drift)}"], False
    return drift.status, [], False


def _cause(drift: _DriftJudgement) -> str:
    """The drifted columns, largest shift first, with their effect sizes and p-values."""
    named = sorted(drift.drifted, key=lambda item: -(drift.effects.get(item[0]) or 0.0))

    def figure(name: str, p: float) -> str:
        effect = drift.effects.get(name)
        return f"{name} (effect {effect:.2f}, p={p:.2g})" if effect is not None else f"{name} (p={p:.2g})"

    text = ", ".join(figure(name, p) for name, p in named[:3])
    if len(named) > 3:
        text += f" and {len(named) - 3} more"
    if drift.prediction_drift and drift.prediction:
        text += f"{' and in' if text else ''} the prediction '{drift.prediction}'"
    return f"drift in {text}"


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
    features = [t for t in flagged if t is not obs.prediction]
    drifted = sorted(((t.column, t.p_value) for t in features), key=lambda item: item[1])
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
        floor = f", effect ≥ {policy.min_effect:g}" if policy.min_effect > 0 else ""
        reasons.append(
            f"{len(drifted)} of {len(tests)} features drifted ({share:.0%}, Holm at alpha={policy.alpha:g}"
            f"{floor}): {listed}{more}"
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
        effects={t.column: _finite(t.effect) for t in features},
        prediction=obs.prediction.column if prediction_drift and obs.prediction else None,
    )


def _large_enough(test: ColumnTest, policy: DriftPolicy) -> bool:
    return test.effect is None or math.isnan(test.effect) or test.effect >= policy.min_effect


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def _choose_reading(obs: Observation, policy: DriftPolicy, judgement: _PerformanceJudgement):
    """The reading rules 7–8 judge (None: none), noting in ``judgement`` why it is not
    trustworthy when it is not."""
    measured, estimated = obs.measured, obs.estimated
    labels = "no labels"
    if measured is not None and not math.isnan(measured.value):
        if measured.rows >= policy.min_labelled_rows:
            judgement.missing = None
            return measured
        labels = (
            f"only {measured.rows} labelled rows (fewer than min_labelled_rows={policy.min_labelled_rows})"
        )
        judgement.reasons.append(
            f"measured {measured.metric} {measured.value:.4g} on only {measured.rows} labelled rows "
            f"(fewer than min_labelled_rows={policy.min_labelled_rows}): not judged"
        )
    if estimated is None or math.isnan(estimated.value):
        judgement.missing = f"{labels} and no estimate"
        return None
    if estimated.trusted:
        judgement.missing = None
    else:
        judgement.missing = (
            f"{labels} and the estimate is not trusted ({estimated.distrust or 'no reason given'})"
        )
    return estimated


def _judge_performance(obs: Observation, policy: DriftPolicy) -> _PerformanceJudgement:
    judgement = _PerformanceJudgement()
    reading = _choose_reading(obs, policy, judgement)
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
    judgement.summary = summary
    dropped = drop >= policy.performance_drop_refresh
    if not reading.trusted:
        judgement.status = WARN if dropped and significant else OK
        verdict = "warn at most" if dropped and significant else "not judged"
        judgement.reasons.append(f"{summary}; the estimate is not trusted ({reading.distrust}): {verdict}")
        return judgement
    if not dropped:
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
