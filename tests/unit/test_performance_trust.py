"""The pure figures behind a trusted estimate: calibration, its error, the check's verdict, support."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from drift.trust import (
    MAX_OUTSIDE_SHARE,
    MIN_CHECK_ROWS,
    CalibrationCheck,
    ProbabilitySupport,
    RangeSupport,
    ece_limit,
    expected_calibration_error,
    fold_indices,
    judge_calibration,
    platt_apply,
    platt_fit,
    reference_support,
    too_few_rows,
)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def calibrated(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and labels drawn from them: calibrated by construction."""
    rng = np.random.default_rng(seed)
    p = sigmoid(rng.normal(-1.5, 1.2, rows))
    return p, (rng.uniform(size=rows) < p).astype(int)


def test_platt_recovers_a_known_miscalibration():
    rng = np.random.default_rng(0)
    p = sigmoid(rng.normal(0, 3, 20_000))
    truth = sigmoid(0.4 * np.log(p / (1 - p)) - 0.5)
    y = (rng.uniform(size=p.size) < truth).astype(int)
    a, b = platt_fit(p, y)
    assert a == pytest.approx(0.4, abs=0.05) and b == pytest.approx(-0.5, abs=0.07)
    assert np.max(np.abs(platt_apply(p, (a, b)) - truth)) < 0.05


def test_platt_stays_finite_on_far_out_and_separated_probabilities():
    y = np.array([0] * 50 + [1] * 50)
    a, b = platt_fit(y.astype(float), y)  # probabilities of exactly 0 and 1, perfectly right
    assert math.isfinite(a) and math.isfinite(b)
    overconfident = sigmoid(np.linspace(-11, 4, 200))
    a, _ = platt_fit(overconfident, (np.arange(200) % 5 == 0).astype(int))
    assert abs(a) < 1


def test_calibration_error_is_small_when_calibrated_and_large_when_not():
    p, y = calibrated(4000, 1)
    assert expected_calibration_error(y, p) < ece_limit(p, seed=0)
    assert expected_calibration_error(y, np.sqrt(p)) > 0.15
    assert expected_calibration_error(np.zeros(100), np.full(100, 0.9)) == pytest.approx(0.9)


def test_the_calibration_limit_is_seeded_and_shrinks_with_more_rows():
    small, large = calibrated(300, 2)[0], calibrated(10_000, 2)[0]
    assert ece_limit(small, seed=3) == ece_limit(small, seed=3)
    assert ece_limit(large, seed=3) < ece_limit(small, seed=3)
    exceeded = sum(
        expected_calibration_error(y, p) > ece_limit(p, seed=0)
        for p, y in map(calibrated, [500] * 40, range(40))
    )
    assert exceeded <= 3  # about 1 in 100, plus the margin


def test_folds_are_seeded_disjoint_and_stratified():
    strata = np.array([1] * 30 + [0] * 170)
    folds = fold_indices(200, 5, seed=4, strata=strata)
    assert sorted(np.concatenate(folds).tolist()) == list(range(200))
    assert [int(strata[f].sum()) for f in folds] == [6] * 5
    assert all(
        (a == b).all() for a, b in zip(folds, fold_indices(200, 5, seed=4, strata=strata), strict=True)
    )
    assert not all(
        (a == b).all() for a, b in zip(folds, fold_indices(200, 5, seed=5, strata=strata), strict=True)
    )


def test_an_estimate_far_above_its_realized_value_fails_with_the_figures_in_one_line():
    check = judge_calibration(
        "CBPE", "roc_auc", [0.93, 0.94, 0.92, 0.93, 0.93], [0.75, 0.77, 0.76, 0.76, 0.76], rows=2400
    )
    assert not check.passed
    assert check.reason == (
        "CBPE failed its calibration check on the reference: estimate 0.93 vs realized 0.76 "
        "on held-out reference chunks (tolerance 0.05)"
    )
    assert check.figures["gap"] == pytest.approx(0.17) and "\n" not in check.reason


def test_a_close_estimate_passes_and_a_calibration_error_above_its_limit_fails():
    estimates, realized = [0.80, 0.78, 0.79, 0.81, 0.80], [0.79, 0.80, 0.78, 0.80, 0.79]
    good = judge_calibration("CBPE", "roc_auc", estimates, realized, rows=2400, ece=0.02, ece_cap=0.04)
    assert good.passed and "passed its calibration check" in good.reason
    bad = judge_calibration("CBPE", "roc_auc", estimates, realized, rows=2400, ece=0.16, ece_cap=0.04)
    assert not bad.passed and "expected calibration error 0.160 after calibration, above 0.040" in bad.reason


def test_dle_gaps_are_judged_relative_to_the_realized_loss_and_noise_widens_them_up_to_twice():
    steady = judge_calibration("DLE", "rmse", [12.0] * 5, [10.0] * 5, rows=3000)
    assert not steady.passed and steady.figures["tolerance"] == pytest.approx(1.5)
    noisy = judge_calibration("DLE", "rmse", [12, 9, 13, 11, 10], [10, 11, 9, 8, 12], rows=3000)
    assert noisy.figures["tolerance"] == pytest.approx(
        min(3.0, 2 * np.std([2, -2, 4, 3, -2], ddof=1) / math.sqrt(5))
    )
    wild = judge_calibration(
        "CBPE", "roc_auc", [0.9, 0.6, 0.95, 0.55, 0.9], [0.7, 0.7, 0.7, 0.7, 0.7], rows=300
    )
    assert wild.figures["tolerance"] == pytest.approx(0.10)


def test_undefined_chunks_cannot_vouch_and_nan_figures_serialise_as_null():
    check = judge_calibration("CBPE", "roc_auc", [0.8, math.nan], [0.8, 0.7], rows=400)
    assert not check.passed and "cannot be checked" in check.reason
    assert CalibrationCheck(True, "ok", {"ece": math.nan, "rows": 5}).to_dict()["figures"] == {
        "ece": None,
        "rows": 5,
    }


def test_too_small_a_reference_cannot_be_checked():
    assert too_few_rows("CBPE", MIN_CHECK_ROWS - 1, 50, 5).reason.startswith("CBPE cannot be checked")
    assert "rarer class" in too_few_rows("CBPE", 1000, 20, 5).reason
    assert too_few_rows("DLE", MIN_CHECK_ROWS, None, 5) is None


def frame_of(probability: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"prediction_proba": probability})


def test_probability_support_trusts_the_reference_distribution_and_not_a_far_one():
    p, _ = calibrated(3000, 5)
    support = ProbabilitySupport.fit(p)
    same = calibrated(600, 6)[0]
    assert support.outside_share(same) < MAX_OUTSIDE_SHARE / 2
    assert support.distrust(frame_of(same)) is None
    far = np.full(600, 0.999)
    assert support.outside_share(far) == 1.0
    assert support.distrust(frame_of(far)).startswith("batch outside CBPE's reference support: 100%")
    assert support.outside_share(np.array([np.nan, *same[:9]])) == support.outside_share(same[:9])


def test_range_support_counts_rows_outside_ranges_and_unseen_categories():
    reference = pd.DataFrame(
        {"x": np.linspace(0, 10, 200), "prediction": np.linspace(5, 6, 200), "c": ["a", "b"] * 100}
    )
    support = reference_support(reference, ["x"], ["c"], "DLE")
    assert isinstance(support, RangeSupport)
    batch = pd.DataFrame(
        {"x": [1.0, 11.0, 5.0, np.nan], "prediction": [5.5, 5.5, 5.5, 5.5], "c": ["a", "a", "z", None]}
    )
    share, columns = support.outside(batch)
    assert share == 0.5 and columns == ["x", "c"]
    assert "50% of its rows" in support.distrust(batch) and "(x, c;" in support.distrust(batch)
    assert support.distrust(batch.iloc[[0, 3]]) is None
    assert isinstance(reference_support(frame_of(calibrated(300, 1)[0]), [], [], "CBPE"), ProbabilitySupport)
