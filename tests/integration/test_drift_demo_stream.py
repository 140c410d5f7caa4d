"""A month of demo production through validation, drift, estimation and the policy.

The demo stream is stable for ten days, then its features drift (days 10–14), then
the relation to the target changes (day 20), with labels three days late. A
champion trained by the project's trainer is monitored day by day, as the monitor
flow does it: the stable days must raise no ticket-worthy verdict, the covariate
drift must warn — and, the performance holding, ask for no refresh unless
``performance_first`` is off — and the concept drift a rebuild once labels show it.
"""

from __future__ import annotations

import pandas as pd
import pytest

from drift.adapters.nannyml import PerformanceEstimator
from drift.assess import assess
from drift.batches import check_frame
from drift.metrics import measured_performance
from drift.policy import REBUILD, REFRESH, SEVERITY, WARN
from drift.stattests import ScipyDriftEngine
from zenops.app.demo.datagen import demo_model, production_stream, training_frame
from zenops.kernel.config import ModelSpec
from zenops.services.train.fitting import predict_frame, train_and_evaluate

# Small single-threaded forests keep the month quick on a busy machine.
ESTIMATORS = {
    "loan-default": "sklearn.ensemble.RandomForestClassifier",
    "demand-forecast": "sklearn.ensemble.RandomForestRegressor",
}
PARAMS = {"n_estimators": 40, "min_samples_leaf": 10, "n_jobs": 1, "random_state": 0}


def spec(model: str, **drift: object) -> ModelSpec:
    return ModelSpec.model_validate(
        {
            "drift": drift,
            **demo_model(model).spec_fields(),
            "training_data": f"data/{model}/train.parquet",
            "batches": f"data/{model}/batches",
            "labels": f"data/{model}/labels",
            "trainer": {"estimator": ESTIMATORS[model], "params": PARAMS},
        }
    )


def monitor_month(model: str, **drift: object) -> list[str]:
    """The verdict of each day of a 30-day demo stream."""
    model_spec = spec(model, **drift)
    training = training_frame(model, rows=5000, seed=0)
    champion = train_and_evaluate(model_spec, training)
    baseline = measured_performance(champion.holdout, model_spec)
    estimator = PerformanceEstimator.fit(champion.holdout, model_spec)
    engine = ScipyDriftEngine()
    days = production_stream(model, days=30, rows_per_day=500, seed=0)

    def scored(frame: pd.DataFrame) -> pd.DataFrame:
        return pd.concat([frame, predict_frame(champion.model, frame, model_spec)], axis=1)

    statuses, streak = [], 0
    for day in days:
        check = check_frame(day.features, model_spec, training, source=f"{day.day}.csv")
        assert check.ok, check.messages
        batch = scored(check.frame)
        labelled = None
        arrived = [d for d in days if d.labels_arrive == day.day]
        if arrived:
            labelled = scored(arrived[0].features).merge(arrived[0].labels, on=model_spec.id_column)
        measurement = engine.measure(champion.holdout, batch, model_spec, labelled=labelled)
        estimate = estimator.estimate(batch) if estimator else None
        verdict = assess(
            measurement, model_spec, baseline=baseline, estimate=estimate, previous_drift_cycles=streak
        )
        streak = verdict.consecutive_drift
        statuses.append(verdict.status)
    return statuses


@pytest.mark.parametrize("model", ["loan-default", "demand-forecast"])
def test_a_month_of_demo_production(model):
    statuses = monitor_month(model)
    stable, covariate, concept_labelled = statuses[:10], statuses[10:20], statuses[23:]
    assert all(SEVERITY[s] < SEVERITY[REFRESH] for s in stable), stable
    assert WARN in covariate and all(SEVERITY[s] < SEVERITY[REFRESH] for s in covariate), covariate
    assert REBUILD in concept_labelled, concept_labelled


def test_drift_only_escalation_refreshes_on_the_covariate_drift():
    covariate = monitor_month("loan-default", performance_first=False)[10:20]
    assert REFRESH in covariate, covariate
