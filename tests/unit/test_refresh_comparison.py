"""The pure statistics of champion against challenger: paired bootstrap, McNemar, Wilcoxon, the gate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from registry.comparison import (
    BootstrapResult,
    PairedTest,
    decide,
    improvement,
    mcnemar,
    paired_bootstrap,
    paired_test,
    wilcoxon_abs_errors,
)


def classification(n: int = 600, seed: int = 1):
    """Targets, a weak champion's and a strong challenger's probabilities on the same rows."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    y = (signal + rng.normal(scale=1.0, size=n) > 0).astype(int)
    weak = 1 / (1 + np.exp(-(0.2 * signal + rng.normal(scale=1.5, size=n))))
    strong = 1 / (1 + np.exp(-(2.0 * signal)))
    return y, weak, strong


def test_improvement_is_positive_when_the_challenger_is_better_either_way_round() -> None:
    assert improvement(0.70, 0.75, greater_is_better=True) == pytest.approx(0.05)
    assert improvement(10.0, 8.0, greater_is_better=False) == pytest.approx(2.0)
    assert improvement(0.75, 0.70, greater_is_better=True) < 0


def test_a_clearly_better_classifier_has_an_interval_above_zero() -> None:
    y, weak, strong = classification()
    result = paired_bootstrap(
        "roc_auc", y, (weak > 0.5).astype(int), (strong > 0.5).astype(int), weak, strong, seed=3
    )
    assert result.challenger > result.champion
    assert result.relative_improvement == pytest.approx(
        (result.challenger - result.champion) / result.champion
    )
    assert 0 < result.relative_low < result.relative_improvement < result.relative_high
    assert 0 < result.low < result.improvement < result.high
    assert result.resamples == 1000 and result.rows == 600 and result.greater_is_better


def test_identical_models_give_no_improvement_and_are_not_promoted() -> None:
    y, weak, _ = classification()
    pred = (weak > 0.5).astype(int)
    result = paired_bootstrap("roc_auc", y, pred, pred, weak, weak, resamples=200)
    assert result.improvement == 0 and result.low == 0 and result.high == 0
    decision = decide(result, mcnemar(y, pred, pred), margin=0.0, min_rows=100)
    assert not decision.promote
    assert "not surely above the margin" in decision.reasons[0]


def test_the_bootstrap_is_seeded() -> None:
    y, weak, strong = classification()
    args = ("roc_auc", y, (weak > 0.5).astype(int), (strong > 0.5).astype(int), weak, strong)
    first = paired_bootstrap(*args, resamples=300, seed=5)
    assert paired_bootstrap(*args, resamples=300, seed=5) == first
    assert paired_bootstrap(*args, resamples=300, seed=6).relative_low != first.relative_low


def test_a_lower_is_better_metric_counts_a_smaller_error_as_an_improvement() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(100, 20, 500)
    champion = y + rng.normal(0, 10, 500)
    challenger = y + rng.normal(0, 5, 500)
    result = paired_bootstrap("rmse", y, champion, challenger, resamples=300, seed=1)
    assert not result.greater_is_better
    assert result.challenger < result.champion
    assert result.improvement == pytest.approx(result.champion - result.challenger)
    assert result.relative_low > 0.3  # the error is about halved


def test_a_wider_confidence_gives_a_wider_interval() -> None:
    y, weak, strong = classification()
    args = ("roc_auc", y, (weak > 0.5).astype(int), (strong > 0.5).astype(int), weak, strong)
    narrow = paired_bootstrap(*args, resamples=500, confidence=0.8, seed=2)
    wide = paired_bootstrap(*args, resamples=500, confidence=0.99, seed=2)
    assert wide.relative_low < narrow.relative_low and wide.relative_high > narrow.relative_high


def test_an_undefined_metric_is_refused_by_the_gate() -> None:
    y = np.ones(50, dtype=int)  # one class: ROC AUC undefined on every resample
    proba = np.linspace(0.1, 0.9, 50)
    result = paired_bootstrap("roc_auc", y, y, y, proba, proba, resamples=100)
    assert math.isnan(result.champion) and result.resamples == 0
    decision = decide(result, None, margin=0.0, min_rows=10)
    assert not decision.promote and "could not be estimated" in decision.reasons[0]
    assert result.to_dict()["relative_low"] is None  # JSON-ready


def test_mcnemar_exact_for_few_discordant_rows() -> None:
    y = np.zeros(100, dtype=int)
    champion = np.zeros(100, dtype=int)
    challenger = np.zeros(100, dtype=int)
    champion[:10] = 1  # the champion is wrong on 10 rows the challenger gets right
    test = mcnemar(y, champion, challenger)
    assert test.detail == {"champion_only": 0, "challenger_only": 10, "exact": True}
    assert test.p_value == pytest.approx(2 * 0.5**10)
    assert test.favours == "challenger"


def test_mcnemar_chi_square_with_continuity_correction_for_many() -> None:
    y = np.zeros(200, dtype=int)
    champion = np.zeros(200, dtype=int)
    challenger = np.zeros(200, dtype=int)
    challenger[:30] = 1  # 30 rows only the champion gets right
    champion[30:40] = 1  # 10 rows only the challenger gets right
    test = mcnemar(y, champion, challenger)
    assert test.statistic == pytest.approx((abs(30 - 10) - 1) ** 2 / 40)
    assert test.p_value == pytest.approx(stats.chi2.sf(9.025, 1))
    assert test.favours == "champion" and not test.detail["exact"]


def test_mcnemar_without_discordant_rows_favours_neither() -> None:
    y = np.array([0, 1, 1, 0])
    test = mcnemar(y, y, y)
    assert test.p_value == 1.0 and test.favours == "neither"


def test_wilcoxon_on_absolute_errors_matches_scipy_and_sees_the_better_model() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(50, 10, 300)
    champion = y + rng.normal(0, 6, 300)
    challenger = y + rng.normal(0, 3, 300)
    test = wilcoxon_abs_errors(y, champion, challenger)
    gain = np.abs(y - champion) - np.abs(y - challenger)
    expected = stats.wilcoxon(gain[gain != 0], zero_method="wilcox")
    assert test.p_value == pytest.approx(expected.pvalue) and test.statistic == pytest.approx(
        expected.statistic
    )
    assert test.favours == "challenger" and test.p_value < 1e-6
    assert test.detail["challenger_better"] > test.detail["champion_better"]


def test_wilcoxon_of_equal_errors_favours_neither() -> None:
    y = np.arange(10.0)
    test = wilcoxon_abs_errors(y, y + 1, y - 1)  # same absolute errors everywhere
    assert test.p_value == 1.0 and test.favours == "neither"


def test_paired_test_picks_the_task_test() -> None:
    y = np.array([0, 1, 0, 1])
    assert paired_test("classification", y, y, y).name == "mcnemar"
    assert paired_test("regression", y.astype(float), y + 1.0, y + 0.5).name == "wilcoxon"


def boot(relative_low: float, rows: int = 500, relative: float = 0.05) -> BootstrapResult:
    return BootstrapResult(
        metric="roc_auc",
        greater_is_better=True,
        rows=rows,
        champion=0.7,
        challenger=0.7 * (1 + relative),
        improvement=0.7 * relative,
        relative_improvement=relative,
        low=0.7 * relative_low,
        high=0.1,
        relative_low=relative_low,
        relative_high=0.1,
        confidence=0.95,
        resamples=1000,
        seed=0,
    )


def test_the_gate_promotes_only_when_the_lower_bound_clears_the_margin() -> None:
    assert decide(boot(0.01), None, margin=0.0, min_rows=200).promote
    assert not decide(boot(0.01), None, margin=0.02, min_rows=200).promote
    assert decide(boot(0.03), None, margin=0.02, min_rows=200).promote
    assert not decide(boot(0.0), None, margin=0.0, min_rows=200).promote  # strictly above


def test_the_gate_needs_enough_rows_and_mlflows_check() -> None:
    few = decide(boot(0.05, rows=50), None, margin=0.0, min_rows=200)
    assert not few.promote and "only 50 labelled rows" in few.reasons[0]
    failed = decide(
        boot(0.05), None, margin=0.0, min_rows=200, validation_passed=False, validation_message="x"
    )
    assert not failed.promote and failed.reasons[-1] == "MLflow validation failed: x"


def test_the_gate_may_require_the_paired_test() -> None:
    weak_test = PairedTest("mcnemar", 1.0, 0.3, "challenger")
    strong_test = PairedTest("mcnemar", 9.0, 0.001, "challenger")
    wrong_way = PairedTest("mcnemar", 9.0, 0.001, "champion")
    assert decide(boot(0.05), weak_test, margin=0.0, min_rows=200).promote  # reported, not required
    assert not decide(boot(0.05), weak_test, margin=0.0, min_rows=200, require_paired_test=True).promote
    assert decide(boot(0.05), strong_test, margin=0.0, min_rows=200, require_paired_test=True).promote
    assert not decide(boot(0.05), wrong_way, margin=0.0, min_rows=200, require_paired_test=True).promote
