"""The pure drift verdict policy: rules, multiple testing and its monotonicity."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drift.policy import (
    DATA_QUALITY,
    OK,
    REBUILD,
    REFRESH,
    SEVERITY,
    WARN,
    ColumnTest,
    Observation,
    PerformanceReading,
    decide,
    holm,
    relative_drop,
)
from zenops.kernel.config import DriftPolicy

POLICY = DriftPolicy()
p_values = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def features(*p: float, effect: float | None = None) -> tuple[ColumnTest, ...]:
    return tuple(ColumnTest(f"f{i}", value, effect) for i, value in enumerate(p))


def quiet(n: int = 20) -> tuple[ColumnTest, ...]:
    return features(*([0.5] * n))


def drifting(drifted: int, n: int = 20) -> tuple[ColumnTest, ...]:
    return features(*([1e-12] * drifted + [0.5] * (n - drifted)))


def reading(
    value: float,
    *,
    measured: bool = True,
    rows: int = 1000,
    error: float | None = 0.001,
    baseline: float = 0.8,
    higher: bool = True,
    trusted: bool = True,
    distrust: str | None = None,
) -> PerformanceReading:
    return PerformanceReading(
        "roc_auc", value, baseline, higher, measured, rows, error, trusted=trusted, distrust=distrust
    )


def persistent(**readings: PerformanceReading) -> Observation:
    """A second batch running with 6 of 20 features drifted (effect 0.3): drift alone would refresh."""
    tests = tuple(ColumnTest(f"f{i}", 1e-12 if i < 6 else 0.5, 0.3 if i < 6 else 0.01) for i in range(20))
    return Observation(rows=5000, features=tests, previous_drift_cycles=1, **readings)


@pytest.mark.parametrize("module", ["policy", "verdicts"])
def test_the_policy_modules_import_no_outside_system(module):
    source = Path(__file__).parents[2] / "drift" / f"{module}.py"
    modules = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    top = {name.split(".")[0] for name in modules}
    assert top <= {
        "__future__",
        "math",
        "collections",
        "dataclasses",
        "statistics",
        "typing",
        "zenops",
        "drift",
    }
    assert {name for name in modules if name.startswith("drift")} <= {"drift.verdicts"}
    assert {name for name in modules if name.startswith("zenops")} <= {"zenops.kernel.config"}


def test_a_quiet_batch_is_ok():
    verdict = decide(Observation(rows=1000, features=quiet()), POLICY)
    assert verdict.status == OK
    assert verdict.drift_share == 0.0
    assert verdict.drifted_features == []
    assert verdict.consecutive_drift == 0


def test_data_problems_override_everything_and_keep_the_streak():
    observation = Observation(
        rows=1000,
        features=drifting(20),
        measured=reading(0.1),
        data_problems=("b.csv: column 'income' has non-numeric values ('12k')",),
        previous_drift_cycles=3,
    )
    verdict = decide(observation, POLICY)
    assert verdict.status == DATA_QUALITY
    assert verdict.reasons == ["b.csv: column 'income' has non-numeric values ('12k')"]
    assert verdict.consecutive_drift == 3
    assert verdict.drift_share is None


def test_a_small_batch_is_not_tested_for_drift_and_only_warns():
    verdict = decide(Observation(rows=50, features=drifting(20), previous_drift_cycles=1), POLICY)
    assert verdict.status == WARN
    assert verdict.drift_share is None
    assert verdict.consecutive_drift == 1
    assert "only 50 rows" in verdict.reasons[0]


def test_one_drifted_feature_warns_by_default():
    verdict = decide(Observation(rows=1000, features=drifting(1)), POLICY)
    assert verdict.status == WARN
    assert verdict.drifted_features == [("f0", 1e-12)]
    assert verdict.drift_share == pytest.approx(0.05)
    assert verdict.consecutive_drift == 0


def test_a_share_below_the_warn_share_is_listed_but_stays_ok():
    policy = POLICY.model_copy(update={"drift_share_warn": 0.1})
    assert decide(Observation(rows=1000, features=drifting(1)), policy).status == OK
    verdict = decide(Observation(rows=1000, features=drifting(2)), policy)  # 10%
    assert verdict.status == WARN
    assert [f for f, _ in verdict.drifted_features] == ["f0", "f1"]


def test_refresh_needs_the_drift_to_persist():
    first = decide(Observation(rows=1000, features=drifting(6)), POLICY)
    assert (first.status, first.consecutive_drift) == (WARN, 1)
    second = decide(Observation(rows=1000, features=drifting(6), previous_drift_cycles=1), POLICY)
    assert (second.status, second.consecutive_drift) == (REFRESH, 2)
    assert any("consecutive" in reason for reason in second.reasons)


def test_a_quiet_batch_resets_the_streak():
    verdict = decide(Observation(rows=1000, features=quiet(), previous_drift_cycles=5), POLICY)
    assert (verdict.status, verdict.consecutive_drift) == (OK, 0)


def test_prediction_drift_alone_warns_but_never_refreshes():
    observation = Observation(
        rows=1000, features=quiet(), prediction=ColumnTest("prediction_proba", 1e-20), previous_drift_cycles=9
    )
    verdict = decide(observation, POLICY)
    assert verdict.status == WARN
    assert verdict.prediction_drift
    assert verdict.consecutive_drift == 0


def test_the_default_effect_floor_ignores_negligible_but_significant_shifts():
    small = features(*([1e-12] * 10 + [0.5] * 10), effect=0.01)
    verdict = decide(Observation(rows=100_000, features=small, previous_drift_cycles=1), POLICY)
    assert (verdict.status, verdict.drifted_features, verdict.consecutive_drift) == (OK, [], 0)
    off = POLICY.model_copy(update={"min_effect": 0.0})
    assert decide(Observation(rows=100_000, features=small), off).status == WARN


def test_the_effect_floor_keeps_shifts_that_move_enough_mass():
    assert POLICY.min_effect == 0.05
    mixed = (
        ColumnTest("moved", 1e-30, 0.12),
        ColumnTest("at_floor", 1e-30, 0.05),
        ColumnTest("tiny", 1e-30, 0.02),
        ColumnTest("unknown", 1e-30, None),
        *quiet(4),
    )
    verdict = decide(Observation(rows=50_000, features=mixed), POLICY)
    assert {name for name, _ in verdict.drifted_features} == {"moved", "at_floor", "unknown"}
    assert "effect ≥ 0.05" in verdict.reasons[0]


def test_untestable_features_are_left_out_of_the_share_and_named():
    tests = (*drifting(1, n=4), ColumnTest("empty", math.nan))
    verdict = decide(Observation(rows=1000, features=tests), POLICY)
    assert verdict.drift_share == pytest.approx(0.25)
    assert any("empty" in reason for reason in verdict.reasons)


def test_a_measured_drop_refreshes_at_once_and_a_large_one_rebuilds():
    refresh = decide(Observation(rows=1000, features=quiet(), measured=reading(0.75)), POLICY)  # 6.25%
    assert refresh.status == REFRESH
    assert refresh.performance_drop == pytest.approx(0.0625)
    rebuild = decide(Observation(rows=1000, features=quiet(), measured=reading(0.6)), POLICY)  # 25%
    assert rebuild.status == REBUILD


def test_an_estimated_drop_refreshes_but_never_rebuilds():
    verdict = decide(Observation(rows=1000, features=quiet(), estimated=reading(0.5, measured=False)), POLICY)
    assert verdict.status == REFRESH
    assert "once labels confirm" in verdict.reasons[-1]


def test_a_drop_within_the_noise_only_warns():
    noisy = reading(0.75, error=0.05)  # 0.05 below baseline is 1 standard error
    verdict = decide(Observation(rows=1000, features=quiet(), measured=noisy), POLICY)
    assert verdict.status == WARN
    assert "within the noise" in verdict.reasons[-1]


def test_the_baselines_own_error_counts_towards_the_noise():
    rmse = PerformanceReading("rmse", 28.7, 24.5, False, True, 500, standard_error=1.8)
    assert decide(Observation(rows=500, features=quiet(), measured=rmse), POLICY).status == REBUILD
    uncertain = PerformanceReading(
        "rmse", 28.7, 24.5, False, True, 500, standard_error=1.8, baseline_standard_error=1.8
    )
    verdict = decide(Observation(rows=500, features=quiet(), measured=uncertain), POLICY)
    assert verdict.status == WARN
    assert "1.6 standard errors" in verdict.reasons[-1]


def test_too_few_labels_are_not_judged_and_the_estimate_is_used_instead():
    observation = Observation(
        rows=1000,
        features=quiet(),
        measured=reading(0.4, rows=20),
        estimated=reading(0.79, measured=False),
    )
    verdict = decide(observation, POLICY)
    assert verdict.status == OK
    assert "only 20 labelled rows" in verdict.reasons[0]
    assert verdict.performance_drop == pytest.approx(0.0125)


def test_performance_first_keeps_drift_at_warn_when_a_trusted_estimate_holds():
    verdict = decide(persistent(estimated=reading(0.798, measured=False)), POLICY)
    assert (verdict.status, verdict.rule, verdict.consecutive_drift) == (WARN, "performance_first", 2)
    last = verdict.reasons[-1]
    assert last.startswith("drift in f0 (effect 0.30, p=1e-12), f1 (effect 0.30, p=1e-12), f2")
    assert "and 3 more" in last
    assert "roc_auc 0.798 vs baseline 0.8 estimated on 1000 rows" in last
    assert last.endswith("holds: warn, not refresh (performance first)")


def test_performance_first_also_trusts_enough_labels_and_a_drop_within_the_noise():
    held = decide(persistent(measured=reading(0.79)), POLICY)
    assert (held.status, held.rule) == (WARN, "performance_first")
    noisy = decide(persistent(measured=reading(0.75, error=0.05)), POLICY)  # 6% drop, 1 standard error
    assert (noisy.status, noisy.rule) == (WARN, "performance_first")
    assert any("within the noise" in reason for reason in noisy.reasons)


def test_a_first_drifting_batch_with_performance_holding_names_the_likely_cause():
    first = Observation(rows=5000, features=drifting(6), measured=reading(0.8))
    verdict = decide(first, POLICY)
    assert (verdict.status, verdict.rule, verdict.consecutive_drift) == (WARN, "drift", 1)
    assert "is the likely cause to watch" in verdict.reasons[-1]
    assert "drift warns only (performance first)" in verdict.reasons[-1]


@pytest.mark.parametrize(
    ("readings", "why"),
    [
        ({}, "no trustworthy performance reading: no labels and no estimate"),
        (
            {"measured": reading(0.8, rows=20)},
            "only 20 labelled rows (fewer than min_labelled_rows=100) and no estimate",
        ),
        (
            {"estimated": reading(0.8, measured=False, trusted=False, distrust="batch outside support")},
            "no labels and the estimate is not trusted (batch outside support)",
        ),
        (
            {"measured": reading(0.8, rows=20), "estimated": reading(0.8, measured=False, trusted=False)},
            "only 20 labelled rows (fewer than min_labelled_rows=100) and the estimate is not trusted",
        ),
    ],
)
def test_drift_alone_refreshes_without_a_trustworthy_reading_and_says_why(readings, why):
    verdict = decide(persistent(**readings), POLICY)
    assert (verdict.status, verdict.rule, verdict.consecutive_drift) == (REFRESH, "drift", 2)
    assert verdict.reasons[-1].startswith("drift alone decides the refresh (")
    assert why in verdict.reasons[-1]


def test_an_untrusted_estimate_never_asks_for_more_than_warn():
    untrusted = reading(0.5, measured=False, trusted=False, distrust="calibration check failed")
    verdict = decide(Observation(rows=1000, features=quiet(), estimated=untrusted), POLICY)
    assert (verdict.status, verdict.rule) == (WARN, "performance")
    assert "the estimate is not trusted (calibration check failed): warn at most" in verdict.reasons[-1]
    fine = decide(
        Observation(rows=1000, features=quiet(), estimated=reading(0.8, measured=False, trusted=False)),
        POLICY,
    )
    assert (fine.status, fine.rule) == (OK, "none")


def test_the_switch_restores_drift_only_escalation():
    old = POLICY.model_copy(update={"performance_first": False})
    verdict = decide(persistent(measured=reading(0.8)), old)
    assert (verdict.status, verdict.rule) == (REFRESH, "drift")
    assert "performance_first is off, although roc_auc 0.8 vs baseline 0.8" in verdict.reasons[-1]


def test_a_significant_drop_still_refreshes_or_rebuilds_and_names_the_drift_as_likely_cause():
    refresh = decide(persistent(estimated=reading(0.74, measured=False)), POLICY)
    assert (refresh.status, refresh.rule) == (REFRESH, "performance")
    rebuild = decide(persistent(measured=reading(0.6)), POLICY)
    assert (rebuild.status, rebuild.rule) == (REBUILD, "performance")
    assert rebuild.reasons[-2].endswith("≥ 15%: rebuild")
    assert rebuild.reasons[-1].startswith("likely cause: drift in f0 (effect 0.30")


def test_the_deciding_rule_is_in_the_json():
    assert decide(Observation(rows=1000, features=quiet()), POLICY).to_dict()["rule"] == "none"
    assert decide(Observation(rows=50, features=quiet()), POLICY).rule == "drift"
    problems = Observation(rows=0, data_problems=("b.csv: empty",))
    assert decide(problems, POLICY).to_dict()["rule"] == "data_quality"


@settings(max_examples=100)
@given(
    st.lists(st.tuples(p_values, st.floats(min_value=0.0, max_value=1.0)), min_size=1, max_size=20),
    st.integers(min_value=0, max_value=5),
    st.floats(min_value=-0.2, max_value=0.04),
    st.booleans(),
)
def test_with_a_trustworthy_reading_that_holds_drift_never_opens_a_ticket(tests, previous, drop, measured):
    observation = Observation(
        rows=5000,
        features=tuple(ColumnTest(f"f{i}", p, e) for i, (p, e) in enumerate(tests)),
        previous_drift_cycles=previous,
        **{"measured" if measured else "estimated": reading(0.8 * (1 - drop), measured=measured)},
    )
    verdict = decide(observation, POLICY)
    assert SEVERITY[verdict.status] <= SEVERITY[WARN]
    drift_only = decide(observation, POLICY.model_copy(update={"performance_first": False}))
    assert verdict.consecutive_drift == drift_only.consecutive_drift


def test_lower_is_better_metrics_drop_when_they_grow():
    assert relative_drop(1.2, 1.0, higher_is_better=False) == pytest.approx(0.2)
    assert relative_drop(0.9, 1.0, higher_is_better=False) == pytest.approx(-0.1)
    assert relative_drop(0.7, 0.8, higher_is_better=True) == pytest.approx(0.125)
    assert relative_drop(-0.1, 0.0, higher_is_better=True) == pytest.approx(0.1)
    rmse = PerformanceReading("rmse", 12.0, 10.0, False, True, 500, 0.1)
    assert decide(Observation(rows=500, features=quiet(), measured=rmse), POLICY).status == REBUILD


def test_verdict_to_dict_is_json_ready():
    verdict = decide(Observation(rows=1000, features=drifting(3)), POLICY)
    data = verdict.to_dict()
    assert data["status"] == WARN
    assert data["drifted_features"][0] == {"feature": "f0", "p_value": 1e-12}


def _holm_adjusted(p: list[float]) -> list[float]:
    """Holm-adjusted p-values, the textbook way."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    m = len(p)
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


@given(st.lists(p_values, min_size=1, max_size=40), st.floats(min_value=0.001, max_value=0.2))
def test_holm_matches_the_adjusted_p_value_definition(p, alpha):
    expected = [a <= alpha for a in _holm_adjusted(p)]
    assert holm(p, alpha) == expected


@given(st.lists(p_values, min_size=1, max_size=40))
def test_holm_lies_between_bonferroni_and_no_correction(p):
    alpha = 0.01
    rejected = holm(p, alpha)
    for value, r in zip(p, rejected, strict=True):
        if value <= alpha / len(p):
            assert r
        if r:
            assert value <= alpha


def test_holm_keeps_the_family_wise_error_rate_on_uniform_p_values():
    rng = np.random.default_rng(0)
    trials = 20_000
    hits = sum(any(holm(list(rng.uniform(size=21)), 0.01)) for _ in range(trials))
    assert hits / trials <= 0.01 + 3 * math.sqrt(0.01 * 0.99 / trials)


@given(st.lists(st.floats(min_value=POLICY.alpha, max_value=1.0, exclude_min=True), min_size=1, max_size=50))
def test_no_drift_when_every_p_value_is_above_alpha(p):
    verdict = decide(Observation(rows=1000, features=features(*p)), POLICY)
    assert verdict.status == OK
    assert verdict.drifted_features == []


@given(
    st.lists(p_values, min_size=1, max_size=30),
    st.floats(min_value=0.0, max_value=1.0),
    st.integers(min_value=0, max_value=3),
)
def test_smaller_p_values_never_soften_the_verdict(p, factor, previous):
    before = decide(Observation(rows=1000, features=features(*p), previous_drift_cycles=previous), POLICY)
    shrunk = features(*(value * factor for value in p))
    after = decide(Observation(rows=1000, features=shrunk, previous_drift_cycles=previous), POLICY)
    assert SEVERITY[after.status] >= SEVERITY[before.status]


@settings(max_examples=200)
@given(
    st.floats(min_value=0.05, max_value=1.0),
    st.floats(min_value=0.0, max_value=0.5),
    st.floats(min_value=0.0, max_value=0.5),
    st.one_of(st.none(), st.floats(min_value=0.0, max_value=0.1)),
    st.booleans(),
    st.booleans(),
)
def test_the_verdict_is_monotone_in_the_size_of_the_drop(baseline, drop_a, drop_b, error, measured, higher):
    small, large = sorted((drop_a, drop_b))

    def status(drop: float) -> str:
        value = baseline * (1 - drop) if higher else baseline * (1 + drop)
        perf = PerformanceReading("m", value, baseline, higher, measured, 1000, error)
        key = "measured" if measured else "estimated"
        return decide(Observation(rows=1000, features=quiet(), **{key: perf}), POLICY).status

    assert SEVERITY[status(small)] <= SEVERITY[status(large)]
    if not measured:
        assert status(large) != REBUILD


@given(st.integers(min_value=1, max_value=5), st.integers(min_value=0, max_value=10))
def test_persistence_is_counted_in_consecutive_batches(persistence, cycles):
    policy = POLICY.model_copy(update={"persistence": persistence})
    streak = 0
    statuses = []
    for _ in range(cycles):
        verdict = decide(Observation(rows=1000, features=drifting(10), previous_drift_cycles=streak), policy)
        streak = verdict.consecutive_drift
        statuses.append(verdict.status)
    assert streak == cycles
    assert statuses == [REFRESH if i + 1 >= persistence else WARN for i in range(cycles)]
