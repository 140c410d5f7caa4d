"""The seeded world of the policy benchmark: a true relation, a fitted model, streams of batches.

Features are :func:`zenops.app.demo.datagen.wide_frame` columns (6 numerical of four families,
2 categorical). The target is drawn from a logistic *true relation*: linear in the
standardized ``num_00``–``num_03`` and in one category of each categorical column,
except that beyond 1.5 standard deviations the effect of ``num_00`` bends down
(a hinge the linear model cannot learn; 7% of the training rows lie there). The
model is a scikit-learn logistic regression (seeded) fitted on 20,000 rows; its
holdout of 12,000 rows is the drift reference, the baseline
(:func:`drift.metrics.measured_performance`) and what the label-free estimator is
fitted on (:meth:`drift.adapters.nannyml.PerformanceEstimator.fit`). (12,000 rows: above
10,000, scipy's KS test uses its asymptotic p-value, thirty times faster than the
exact one and equal to it at these sizes.)

Scenarios, each a change applied to every batch from some point on:

- ``none``: batches from the training population;
- ``negligible``: ``num_00``–``num_03`` move by 0.05 sd, ``cat_00`` by 1% of its
  mass — certain at 50,000 rows, harmless to any model;
- ``harmless``: ``num_00`` −1 sd and ``num_01`` +1 sd: the population moves along
  the relation the model learned, so its performance holds;
- ``harmful``: ``num_00`` +1.5 sd and ``num_02`` +0.5 sd: half the rows move past
  the hinge, where the model is wrong;
- ``concept``: the features stay, the effect of ``num_01`` reverses.

Each batch is measured once — drift by :class:`drift.stattests.ScipyDriftEngine`,
the estimate, the measured performance of its labels (a seeded sample of at most
5,000 labelled rows) and the realized metric on all its rows — so that every
policy and every label lag is replayed on the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from drift.adapters.nannyml import PerformanceEstimator
from drift.columns import PREDICTION, PROBABILITY
from drift.estimates import PerformanceEstimate
from drift.measurement import DriftMeasurement
from drift.metrics import MeasuredPerformance, measured_performance, metric_value
from drift.stattests import ScipyDriftEngine
from zenops.app.demo.datagen import Shift, wide_columns, wide_frame
from zenops.kernel.config import ModelSpec

N_NUMERICAL, N_CATEGORICAL = 6, 2
NUMERICAL, CATEGORICAL = wide_columns(N_NUMERICAL, N_CATEGORICAL)
TRAIN_ROWS, HOLDOUT_ROWS, LABEL_CAP = 20_000, 12_000, 5_000
WEIGHTS = np.array([1.0, 0.8, -0.7, 0.5, 0.0, 0.0])
HINGE = 1.5

SHIFTS: dict[str, list[Shift] | None] = {
    "none": None,
    "negligible": [Shift("mean", 0.05, 4), Shift("mix", 0.01, ("cat_00",))],
    "harmless": [Shift("mean", -1.0, ("num_00",)), Shift("mean", 1.0, ("num_01",))],
    "harmful": [Shift("mean", 1.5, ("num_00",)), Shift("mean", 0.5, ("num_02",))],
    "concept": None,
}


def spec() -> ModelSpec:
    """The benchmark model's spec (default drift policy; replays swap the policy in)."""
    return ModelSpec.model_validate(
        {
            "name": "policy-benchmark",
            "task": "classification",
            "target": "target",
            "id_column": "id",
            "timestamp_column": "ts",
            "features": {"numerical": NUMERICAL, "categorical": CATEGORICAL},
            "training_data": "train.parquet",
            "batches": "batches",
            "labels": "labels",
            "trainer": {"estimator": "sklearn.linear_model.LogisticRegression"},
            "metric": "roc_auc",
        }
    )


class Truth:
    """The true relation, standardized on a large fixed sample of the population."""

    def __init__(self) -> None:
        population = wide_frame(200_000, N_NUMERICAL, N_CATEGORICAL, seed=7)
        self.mean = population[NUMERICAL].mean()
        self.sd = population[NUMERICAL].std()

    def draw(self, frame: pd.DataFrame, rng: np.random.Generator, concept: bool = False) -> np.ndarray:
        """Labels for ``frame`` (0/1); ``concept`` reverses the effect of ``num_01``."""
        z = ((frame[NUMERICAL] - self.mean) / self.sd).to_numpy()
        weights = WEIGHTS * np.array([1, -1, 1, 1, 1, 1]) if concept else WEIGHTS
        logit = z @ weights - 0.3 - 3.0 * np.maximum(z[:, 0] - HINGE, 0)
        logit += 0.7 * (frame["cat_00"] == "A").to_numpy() - 0.5 * (frame["cat_01"] == "B").to_numpy()
        return (rng.random(len(frame)) < 1 / (1 + np.exp(-logit))).astype(int)


@dataclass
class World:
    """One fitted model with its reference, baseline and estimator."""

    model: Any
    holdout: pd.DataFrame
    baseline: MeasuredPerformance
    estimator: PerformanceEstimator
    spec: ModelSpec

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with the model's probability and class."""
        return _score(self.model, frame)


def _score(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    scored = frame.copy()
    scored[PROBABILITY] = model.predict_proba(frame[NUMERICAL + CATEGORICAL])[:, 1]
    scored[PREDICTION] = (scored[PROBABILITY] >= 0.5).astype(int)
    return scored


def fit_world(truth: Truth, seed: int) -> World:
    """Fit the model on seeded training rows; score the holdout; fit the estimator."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(seed)
    train = wide_frame(TRAIN_ROWS, N_NUMERICAL, N_CATEGORICAL, seed=seed)
    train["target"] = truth.draw(train, rng)
    columns = ColumnTransformer(
        [("n", StandardScaler(), NUMERICAL), ("c", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)]
    )
    model = make_pipeline(columns, LogisticRegression(max_iter=1000, random_state=seed))
    model.fit(train[NUMERICAL + CATEGORICAL], train["target"])
    model_spec = spec()
    holdout = wide_frame(HOLDOUT_ROWS, N_NUMERICAL, N_CATEGORICAL, seed=seed + 1)
    holdout["target"] = truth.draw(holdout, rng)
    holdout = _score(model, holdout)
    baseline = measured_performance(holdout, model_spec, classes=[0, 1])
    estimator = PerformanceEstimator.fit(holdout, model_spec)
    assert estimator is not None, "CBPE estimates roc_auc"
    return World(model, holdout, baseline, estimator, model_spec)


@dataclass
class Batch:
    """One batch's figures, measured once."""

    scenario: str
    rows: int
    changed: bool
    measurement: DriftMeasurement
    labels: MeasuredPerformance
    estimate: PerformanceEstimate
    realized: float
    frame: pd.DataFrame | None = field(default=None, repr=False)


_ENGINE = ScipyDriftEngine()


def measure_batch(
    world: World, truth: Truth, scenario: str, rows: int, seed: int, *, changed: bool, keep: bool = False
) -> Batch:
    """Draw, label, score and measure one batch (``changed``: the scenario applies to it)."""
    rng = np.random.default_rng(seed)
    shift = SHIFTS[scenario] if changed else None
    frame = wide_frame(rows, N_NUMERICAL, N_CATEGORICAL, seed=seed, shift=shift)
    target = truth.draw(frame, rng, concept=changed and scenario == "concept")
    scored = world.score(frame)
    current = scored.drop(columns=[PREDICTION])  # the probability is what the prediction test reads
    measurement = _ENGINE.measure(world.holdout, current, world.spec)
    labelled = scored.assign(target=target)
    if rows > LABEL_CAP:
        labelled = labelled.sample(n=LABEL_CAP, random_state=seed % 2**31)
    labels = measured_performance(labelled, world.spec, classes=[0, 1])
    estimate = world.estimator.estimate(scored)
    realized = metric_value("roc_auc", target, scored[PREDICTION].to_numpy(), scored[PROBABILITY].to_numpy())
    return Batch(scenario, rows, changed, measurement, labels, estimate, realized, frame if keep else None)


def stream(
    world: World,
    truth: Truth,
    scenario: str,
    rows: int,
    seeds: np.random.Generator,
    *,
    before: int,
    after: int,
    keep: int = 0,
) -> list[Batch]:
    """``before`` batches of the training population, then ``after`` with the scenario's change;
    the first ``keep`` changed batches keep their frame (for Evidently)."""
    batches = []
    for i in range(before + after):
        changed = i >= before
        keep_frame = changed and i - before < keep or (not changed and scenario == "none" and i < keep)
        seed = int(seeds.integers(0, 2**31 - 1))
        batches.append(measure_batch(world, truth, scenario, rows, seed, changed=changed, keep=keep_frame))
    return batches
