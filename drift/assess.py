"""From an engine's measurement (and an estimate) to the policy's verdict.

The glue between the adapters' outputs and the pure policy: it picks the figures
the policy reads and nothing else, so a monitor flow can stay a list of calls::

    check = check_batch(path, spec, training, label=relative_path)
    if not check.ok:
        verdict = assess_problems(check, previous_drift_cycles=streak)
    else:
        measurement = engine.measure(reference, batch_with_predictions, spec, labelled=labelled)
        estimate = estimator.estimate(batch_with_predictions) if estimator else None
        verdict = assess(measurement, spec, baseline=baseline, estimate=estimate,
                         previous_drift_cycles=streak)

where ``baseline = measured_performance(holdout, spec)`` is computed once per
champion: its bootstrap standard error lets the policy tell a real drop from the
noise of the holdout's own measurement.
"""

from __future__ import annotations

import math

from drift.batches import BatchCheck
from drift.estimates import PerformanceEstimate
from drift.measurement import ColumnDrift, DriftMeasurement
from drift.metrics import MeasuredPerformance, higher_is_better
from drift.policy import ColumnTest, Observation, PerformanceReading, Verdict, decide
from zenops.kernel.config import ModelSpec

__all__ = [
    "assess",
    "assess_problems",
    "needs_estimate",
    "observe",
]


def observe(
    measurement: DriftMeasurement,
    spec: ModelSpec,
    *,
    baseline: MeasuredPerformance | float | None = None,
    estimate: PerformanceEstimate | None = None,
    previous_drift_cycles: int = 0,
) -> Observation:
    """The policy's input for one batch.

    ``baseline`` is the champion's metric on its holdout: best the
    :class:`MeasuredPerformance` of :func:`drift.metrics.measured_performance` (value
    and standard error), or a bare value such as the metric logged at training.
    Without it, performance is not judged. The estimate's ``trusted`` and ``distrust``
    pass to the policy as they are: an untrusted estimate never decides a verdict.
    """
    measured = None
    estimated = None
    baseline_error = None
    if isinstance(baseline, MeasuredPerformance):
        baseline, baseline_error = baseline.value, baseline.standard_error
    if baseline is not None:
        better = higher_is_better(spec.metric_name)
        perf = measurement.performance
        if perf is not None and perf.rows > 0:
            measured = PerformanceReading(
                metric=perf.metric,
                value=perf.value,
                baseline=baseline,
                higher_is_better=better,
                measured=True,
                rows=perf.rows,
                standard_error=perf.standard_error,
                baseline_standard_error=baseline_error,
            )
        if estimate is not None:
            estimated = PerformanceReading(
                metric=estimate.metric,
                value=estimate.value,
                baseline=baseline,
                higher_is_better=better,
                measured=False,
                rows=estimate.rows,
                standard_error=estimate.standard_error,
                baseline_standard_error=baseline_error,
                trusted=estimate.trusted,
                distrust=estimate.distrust,
            )
    return Observation(
        rows=measurement.rows,
        features=tuple(_test(c) for c in measurement.features),
        prediction=_test(measurement.prediction) if measurement.prediction else None,
        measured=measured,
        estimated=estimated,
        previous_drift_cycles=previous_drift_cycles,
    )


def needs_estimate(measurement: DriftMeasurement, spec: ModelSpec) -> bool:
    """Whether the verdict can use a label-free estimate of this batch.

    Not when the batch's labels measure the metric on at least ``min_labelled_rows``
    rows: the policy then judges the measured figure alone (rule 7), and the estimate,
    whose estimator costs a NannyML import and a run, would change nothing.
    """
    perf = measurement.performance
    return perf is None or perf.rows < spec.drift.min_labelled_rows or math.isnan(perf.value)


def assess(
    measurement: DriftMeasurement,
    spec: ModelSpec,
    *,
    baseline: MeasuredPerformance | float | None = None,
    estimate: PerformanceEstimate | None = None,
    previous_drift_cycles: int = 0,
) -> Verdict:
    """The verdict for a measured batch under the model's drift policy."""
    observation = observe(
        measurement, spec, baseline=baseline, estimate=estimate, previous_drift_cycles=previous_drift_cycles
    )
    return decide(observation, spec.drift)


def assess_problems(check: BatchCheck, spec: ModelSpec, *, previous_drift_cycles: int = 0) -> Verdict:
    """The ``data_quality`` verdict for a batch that failed validation (streak carried over)."""
    observation = Observation(
        rows=0 if check.frame is None else len(check.frame),
        data_problems=tuple(check.messages) or (f"{check.source}: batch refused",),
        previous_drift_cycles=previous_drift_cycles,
    )
    return decide(observation, spec.drift)


def _test(column: ColumnDrift) -> ColumnTest:
    p_value = float("nan") if column.p_value is None else column.p_value
    return ColumnTest(column=column.column, p_value=p_value, effect=column.effect)
