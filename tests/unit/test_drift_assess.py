"""From a measurement and an estimate to the verdict: trust and performance first pass through."""

from __future__ import annotations

from drift.assess import assess, observe
from drift.estimates import PerformanceEstimate
from drift.measurement import ColumnDrift, DriftMeasurement
from drift.metrics import MeasuredPerformance
from drift.policy import REFRESH, WARN
from zenops.kernel.config import ModelSpec


def spec(**drift: object) -> ModelSpec:
    return ModelSpec.model_validate(
        {
            "name": "m",
            "task": "classification",
            "target": "y",
            "id_column": "id",
            "timestamp_column": "ts",
            "features": {"numerical": ["x", "z"], "categorical": ["c"]},
            "training_data": "train.csv",
            "batches": "batches",
            "labels": "labels",
            "trainer": {"estimator": "sklearn.linear_model.LogisticRegression"},
            "metric": "roc_auc",
            "drift": drift,
        }
    )


def drifted() -> DriftMeasurement:
    """Two of three features drifted well past the effect floor."""
    return DriftMeasurement(
        engine="fake",
        rows=5000,
        reference_rows=5000,
        features=[
            ColumnDrift("x", "numerical", "ks", 1e-40, 1e-40, 0.003, 0.3),
            ColumnDrift("z", "numerical", "ks", 1e-20, 1e-20, 0.003, 0.2),
            ColumnDrift("c", "categorical", "chi2_homogeneity", 0.4, 0.4, 0.003, 0.01),
        ],
    )


def estimate(value: float = 0.8, *, trusted: bool = True, distrust: str | None = None) -> PerformanceEstimate:
    return PerformanceEstimate(
        "roc_auc", value, value - 0.02, value + 0.02, 0.005, "CBPE", 5000, trusted, distrust
    )


def test_observe_copies_the_estimates_trust():
    untrusted = estimate(trusted=False, distrust="batch outside the reference's support")
    observation = observe(drifted(), spec(), baseline=0.8, estimate=untrusted)
    assert observation.estimated.trusted is False
    assert observation.estimated.distrust == "batch outside the reference's support"
    assert observe(drifted(), spec(), baseline=0.8, estimate=estimate()).estimated.trusted is True


def test_a_trusted_estimate_that_holds_keeps_persistent_drift_at_warn():
    baseline = MeasuredPerformance("roc_auc", 0.8, 5000, 0.005)
    verdict = assess(drifted(), spec(), baseline=baseline, estimate=estimate(0.799), previous_drift_cycles=1)
    assert (verdict.status, verdict.rule, verdict.consecutive_drift) == (WARN, "performance_first", 2)
    assert verdict.reasons[-1].startswith(
        "drift in x (effect 0.30, p=1e-40), z (effect 0.20, p=1e-20); roc_auc"
    )


def test_an_untrusted_estimate_lets_drift_refresh_and_quotes_why():
    untrusted = estimate(0.799, trusted=False, distrust="batch outside the reference's support")
    verdict = assess(drifted(), spec(), baseline=0.8, estimate=untrusted, previous_drift_cycles=1)
    assert (verdict.status, verdict.rule) == (REFRESH, "drift")
    assert "the estimate is not trusted (batch outside the reference's support)" in verdict.reasons[-1]


def test_performance_first_off_in_the_spec_restores_drift_only_escalation():
    verdict = assess(
        drifted(), spec(performance_first=False), baseline=0.8, estimate=estimate(), previous_drift_cycles=1
    )
    assert (verdict.status, verdict.rule) == (REFRESH, "drift")
