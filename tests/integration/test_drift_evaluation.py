"""The policy's evaluation: rare false alarms, large shifts found, the same figures on both engines."""

from __future__ import annotations

import json

from drift.engine import EvidentlyEngine
from drift.evaluation import Scenario, default_scenarios, evaluate_policy
from zenops.datagen import Shift

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
