"""The policy's evaluation: rare false alarms, large shifts found, the same figures on both engines."""

from __future__ import annotations

import json

import numpy as np

from drift.adapters.evidently import EvidentlyEngine
from drift.policy import REFRESH, WARN
from zenops.app.demo.datagen import Shift
from zenops.app.demo.evaluation import Scenario, default_scenarios, evaluate_policy

LARGE = [
    Scenario("mean 0.5 sd × 5", Shift("mean", 0.5, 5)),
    Scenario("mix 0.1 × 5", Shift("mix", 0.1, 5)),
]


def test_no_false_alarm_and_large_shifts_found():
    evaluation = evaluate_policy(cycles=40, trials=4, rows=2000, reference_rows=5000, scenarios=LARGE, seed=3)
    assert evaluation.null.cycles == 40
    assert evaluation.null.false_alarm_rate == 0.0
    assert evaluation.null.warn_rate <= 0.05
    for detection in evaluation.detections:
        assert detection.warn_rate == 1.0, detection
        assert detection.refresh_rate == 1.0, detection
        assert detection.feature_recall == 1.0, detection
    report = evaluation.to_markdown()
    assert "No drift, 40 cycles: false alarms (refresh/rebuild) 0.0%" in report
    assert "| mean 0.5 sd × 5 | 4 | 100% | 100% | 100% |" in report
    assert json.loads(json.dumps(evaluation.to_dict()))["null"]["cycles"] == 40


def test_the_same_seed_gives_the_same_figures():
    kwargs = {
        "cycles": 6,
        "trials": 2,
        "rows": 500,
        "reference_rows": 1000,
        "scenarios": LARGE[:1],
        "seed": 5,
    }
    first, second = evaluate_policy(**kwargs).to_dict(), evaluate_policy(**kwargs).to_dict()
    for figures in (first, second):
        figures.pop("seconds")
        figures.pop("seconds_per_measurement")
    assert first == second


def test_the_evidently_engine_gives_the_same_evaluation_as_scipy():
    kwargs = {
        "cycles": 4,
        "trials": 2,
        "rows": 1500,
        "reference_rows": 3000,
        "n_numerical": 4,
        "n_categorical": 4,
        "scenarios": [Scenario("mean 0.25 sd × 2", Shift("mean", 0.25, 2))],
        "seed": 7,
    }
    fast = evaluate_policy(**kwargs).to_dict()
    real = evaluate_policy(engine=EvidentlyEngine(include_summary=False), **kwargs).to_dict()
    assert real["engine"] == "evidently" and fast["engine"] == "scipy"
    assert real["null"] == fast["null"]
    assert real["detections"] == fast["detections"]


def test_the_default_scenarios_cover_mean_scale_and_mix_shifts():
    names = [s.name for s in default_scenarios()]
    assert len(names) == 15
    assert {s.shift.kind for s in default_scenarios()} == {"mean", "scale", "mix"}
    assert "mean 0.1 sd × 1" in names and "mean 0.5 sd × 5" in names


def _policy_benchmark():
    """``benchmarks/policy.py`` (a script beside its helpers), loaded by path."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "benchmarks" / "policy.py"
    spec = importlib.util.spec_from_file_location("policy_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_performance_first_on_a_fitted_model_and_its_estimate():
    """A real logistic regression, CBPE and the scipy engine: a harmless shift opens no
    ticket while the estimate holds, drift-only escalation opens one, and a harmful
    shift is caught once lagging labels show the drop."""
    bench = _policy_benchmark()
    import policy_world as world_module

    truth = world_module.Truth()
    world = world_module.fit_world(truth, seed=20)
    seeds = np.random.default_rng(1)
    harmless = world_module.stream(world, truth, "harmless", 3000, seeds, before=3, after=3)
    harmful = world_module.stream(world, truth, "harmful", 3000, seeds, before=3, after=3)
    default, before = bench.POLICIES["default"], bench.POLICIES["drift only (before)"]
    assert bench.replay(world, harmless, "estimate only", default)[3:] == [WARN, WARN, WARN]
    assert REFRESH in bench.replay(world, harmless, "estimate only", before)[3:]
    assert bench.replay(world, harmless, "no reading", default)[4] == REFRESH
    assert bench.delays([(world, harmful)], "labels lag 1", default)["delays"] == [2]
    assert all(b.realized > world.baseline.value - 0.03 for b in harmless[3:])
    assert all(b.realized < world.baseline.value - 0.1 for b in harmful[3:])
