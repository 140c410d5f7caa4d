"""How often the drift policy cries wolf, and how often it sees a real shift.

:func:`evaluate_policy` runs seeded monitoring cycles through a drift engine and
:func:`drift.policy.decide`:

- **No drift**: every batch is drawn from the same distribution as the reference
  (:func:`zenops.app.demo.datagen.wide_frame`, numerical and categorical features, plus a
  synthetic model score). Any ``refresh`` or ``rebuild`` is a false alarm; the
  ``warn`` rate is reported too. Batches are chained as in production (the drift
  streak carries over), with a fresh reference every ``cycles_per_reference`` cycles.
- **Shifts**: for each :class:`Scenario` (mean shifts of 0.1/0.25/0.5 standard
  deviations in 1/3/5 features, scale changes, category-mix changes), each trial
  draws a fresh reference and ``persistence`` shifted batches in a row; it counts
  whether the first batch warns, whether a refresh comes within those batches, and
  which shifted features were flagged.

The synthetic score is a logistic function of all standardized numerical features
and of one category of each categorical feature, so that shifts reach the
prediction the way they would reach a model.

The default engine is :class:`drift.stattests.ScipyDriftEngine`: the same ``ks`` and
``chi2_homogeneity`` p-values as the Evidently engine (the integration tests check
that they agree to 1e-9 and that both engines give the same evaluation), about ten
times faster (0.13 s against 1.4 s for 10,000 × 20 against 10,000 rows, without the
data summary, which is built only for an HTML report). Pass
``engine=EvidentlyEngine()`` to run the real reports.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from drift.assess import assess
from drift.columns import PROBABILITY
from drift.measurement import DriftEngine
from drift.policy import REBUILD, REFRESH, SEVERITY, WARN
from drift.stattests import ScipyDriftEngine
from zenops.app.demo.datagen import Shift, wide_columns, wide_frame
from zenops.kernel.config import DriftPolicy, ModelSpec

__all__ = [
    "DetectionResult",
    "Evaluation",
    "NullResult",
    "Scenario",
    "default_scenarios",
    "evaluate_policy",
]


@dataclass(frozen=True)
class Scenario:
    """A named shift applied to every batch of a detection trial."""

    name: str
    shift: Shift


def default_scenarios() -> list[Scenario]:
    """Mean shifts (0.1/0.25/0.5 sd × 1/3/5 features), scale changes and category-mix changes."""
    scenarios = [
        Scenario(f"mean {size:g} sd × {count}", Shift("mean", size, count))
        for size in (0.1, 0.25, 0.5)
        for count in (1, 3, 5)
    ]
    scenarios += [
        Scenario(f"scale ×{1 + size:g} × {count}", Shift("scale", size, count))
        for size, count in ((0.1, 3), (0.25, 3), (0.25, 5))
    ]
    scenarios += [
        Scenario(f"mix {size:g} × {count}", Shift("mix", size, count))
        for size, count in ((0.02, 3), (0.05, 3), (0.05, 5))
    ]
    return scenarios


@dataclass
class NullResult:
    """No-drift cycles: the share of each verdict, and how often any column was flagged."""

    cycles: int
    statuses: dict[str, int]
    any_flag_rate: float
    mean_drift_share: float

    @property
    def false_alarm_rate(self) -> float:
        """Share of cycles whose verdict was ``refresh`` or ``rebuild``."""
        return (self.statuses.get(REFRESH, 0) + self.statuses.get(REBUILD, 0)) / self.cycles

    @property
    def warn_rate(self) -> float:
        """Share of cycles whose verdict was ``warn``."""
        return self.statuses.get(WARN, 0) / self.cycles


@dataclass
class DetectionResult:
    """One shift scenario over its trials.

    - ``warn_rate``: share of trials whose first shifted batch was at least ``warn``.
    - ``refresh_rate``: share of trials with a ``refresh`` within ``persistence`` batches.
    - ``feature_recall``: share of shifted features flagged on the first batch.
    - ``false_flags``: unshifted features flagged, per trial (first batch).
    """

    scenario: str
    trials: int
    warn_rate: float
    refresh_rate: float
    feature_recall: float
    false_flags: float


@dataclass
class Evaluation:
    """The figures of one :func:`evaluate_policy` run."""

    engine: str
    rows: int
    reference_rows: int
    features: int
    policy: DriftPolicy
    null: NullResult
    detections: list[DetectionResult] = field(default_factory=list)
    seconds: float = 0.0
    seconds_per_measurement: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "engine": self.engine,
            "rows": self.rows,
            "reference_rows": self.reference_rows,
            "features": self.features,
            "policy": self.policy.model_dump(),
            "null": {
                "cycles": self.null.cycles,
                "statuses": self.null.statuses,
                "false_alarm_rate": self.null.false_alarm_rate,
                "warn_rate": self.null.warn_rate,
                "any_flag_rate": self.null.any_flag_rate,
                "mean_drift_share": self.null.mean_drift_share,
            },
            "detections": [vars(d) for d in self.detections],
            "seconds": self.seconds,
            "seconds_per_measurement": self.seconds_per_measurement,
        }

    def to_markdown(self) -> str:
        """A short report: the no-drift rates, then one row per shift scenario."""
        null = self.null
        lines = [
            f"Engine `{self.engine}`, {self.features} features, batches of {self.rows} rows against "
            f"{self.reference_rows} reference rows.",
            "",
            f"No drift, {null.cycles} cycles: false alarms (refresh/rebuild) {null.false_alarm_rate:.1%}, "
            f"warn {null.warn_rate:.1%}, any column flagged {null.any_flag_rate:.1%}.",
            "",
            "| shift | trials | warn, 1st batch | refresh in time | features found | false flags |",
            "|---|---|---|---|---|---|",
        ]
        for d in self.detections:
            lines.append(
                f"| {d.scenario} | {d.trials} | {d.warn_rate:.0%} | {d.refresh_rate:.0%} | "
                f"{d.feature_recall:.0%} | {d.false_flags:.2f} |"
            )
        lines += [
            "",
            f"{self.seconds:.1f} s in all, {self.seconds_per_measurement * 1000:.0f} ms per measurement.",
        ]
        return "\n".join(lines)


def evaluate_policy(
    policy: DriftPolicy | None = None,
    *,
    cycles: int = 200,
    trials: int = 20,
    rows: int = 5_000,
    reference_rows: int = 10_000,
    n_numerical: int = 10,
    n_categorical: int = 10,
    cycles_per_reference: int = 10,
    scenarios: Sequence[Scenario] | None = None,
    engine: DriftEngine | None = None,
    seed: int = 0,
) -> Evaluation:
    """Measure the policy's false-alarm rate on ``cycles`` no-drift batches and its
    detection rates on ``trials`` trials of each shift scenario (see the module).

    Everything is drawn from ``numpy.random.default_rng(seed)``: the same arguments
    give the same figures.
    """
    policy = policy or DriftPolicy()
    engine = engine or ScipyDriftEngine()
    scenarios = default_scenarios() if scenarios is None else list(scenarios)
    numerical, categorical = wide_columns(n_numerical, n_categorical)
    spec = _spec(numerical, categorical, policy)
    seeds = np.random.default_rng(seed)
    started = time.perf_counter()
    measurements = 0

    def frame(n: int, shift: Shift | None = None) -> pd.DataFrame:
        return wide_frame(n, n_numerical, n_categorical, seed=int(seeds.integers(0, 2**31 - 1)), shift=shift)

    statuses: Counter[str] = Counter()
    flagged_cycles = 0
    shares: list[float] = []
    done = 0
    while done < cycles:
        reference = frame(reference_rows)
        score = _Score(reference, numerical, categorical)
        reference[PROBABILITY] = score(reference)
        streak = 0
        for _ in range(min(cycles_per_reference, cycles - done)):
            batch = frame(rows)
            batch[PROBABILITY] = score(batch)
            verdict = assess(engine.measure(reference, batch, spec), spec, previous_drift_cycles=streak)
            measurements += 1
            streak = verdict.consecutive_drift
            statuses[verdict.status] += 1
            flagged_cycles += bool(verdict.drifted_features or verdict.prediction_drift)
            shares.append(verdict.drift_share or 0.0)
            done += 1
    null = NullResult(
        cycles=cycles,
        statuses=dict(statuses),
        any_flag_rate=flagged_cycles / cycles if cycles else 0.0,
        mean_drift_share=float(np.mean(shares)) if shares else 0.0,
    )

    detections = []
    for scenario in scenarios:
        warned = refreshed = 0
        recall: list[float] = []
        false_flags: list[int] = []
        for _ in range(trials):
            reference = frame(reference_rows)
            score = _Score(reference, numerical, categorical)
            reference[PROBABILITY] = score(reference)
            streak = 0
            statuses_seen = []
            for cycle in range(policy.persistence):
                batch = frame(rows, scenario.shift)
                shifted = set(batch.attrs.get("shifted_columns", []))
                batch[PROBABILITY] = score(batch)
                verdict = assess(engine.measure(reference, batch, spec), spec, previous_drift_cycles=streak)
                measurements += 1
                streak = verdict.consecutive_drift
                statuses_seen.append(verdict.status)
                if cycle == 0:
                    found = {name for name, _ in verdict.drifted_features}
                    recall.append(len(found & shifted) / len(shifted) if shifted else 1.0)
                    false_flags.append(len(found - shifted))
            warned += SEVERITY[statuses_seen[0]] >= SEVERITY[WARN]
            refreshed += any(SEVERITY[s] >= SEVERITY[REFRESH] for s in statuses_seen)
        detections.append(
            DetectionResult(
                scenario=scenario.name,
                trials=trials,
                warn_rate=warned / trials if trials else 0.0,
                refresh_rate=refreshed / trials if trials else 0.0,
                feature_recall=float(np.mean(recall)) if recall else 0.0,
                false_flags=float(np.mean(false_flags)) if false_flags else 0.0,
            )
        )
    seconds = time.perf_counter() - started
    return Evaluation(
        engine=getattr(engine, "name", type(engine).__name__),
        rows=rows,
        reference_rows=reference_rows,
        features=n_numerical + n_categorical,
        policy=policy,
        null=null,
        detections=detections,
        seconds=seconds,
        seconds_per_measurement=seconds / measurements if measurements else 0.0,
    )


class _Score:
    """A synthetic binary model: logistic in the standardized numerical features and
    in one category of each categorical feature, fixed by the reference it is built on."""

    def __init__(self, reference: pd.DataFrame, numerical: list[str], categorical: list[str]) -> None:
        shape = np.random.default_rng(len(numerical) * 1000 + len(categorical))
        self.numerical = numerical
        self.categorical = categorical
        self.mean = reference[numerical].mean()
        self.sd = reference[numerical].std().replace(0, 1.0)
        self.weights = shape.normal(0, 1, len(numerical)) / np.sqrt(max(len(numerical), 1))
        self.levels = {c: reference[c].mode().iloc[0] for c in categorical}
        self.effects = shape.normal(0, 0.5, len(categorical))

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        z = ((frame[self.numerical] - self.mean) / self.sd).to_numpy() @ self.weights
        for effect, column in zip(self.effects, self.categorical, strict=True):
            z = z + effect * (frame[column] == self.levels[column]).to_numpy(dtype=float)
        return 1 / (1 + np.exp(-z))


def _spec(numerical: list[str], categorical: list[str], policy: DriftPolicy) -> ModelSpec:
    return ModelSpec.model_validate(
        {
            "name": "policy-evaluation",
            "task": "classification",
            "target": "target",
            "id_column": "id",
            "timestamp_column": "timestamp",
            "features": {"numerical": numerical, "categorical": categorical},
            "training_data": "reference.parquet",
            "batches": "batches",
            "labels": "labels",
            "trainer": {"estimator": "sklearn.linear_model.LogisticRegression"},
            "drift": policy.model_dump(),
        }
    )
