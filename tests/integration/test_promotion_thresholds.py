"""The promotion gate's thresholds, checked by MLflow's own model validation."""

from __future__ import annotations

from registry.adapters.mlflow import validate_thresholds


def test_mlflow_thresholds_pass_and_fail_with_the_margin() -> None:
    passed, message, thresholds = validate_thresholds(
        "roc_auc", 0.70, 0.75, margin=0.05, greater_is_better=True
    )
    assert passed and "passed" in message
    assert thresholds == {"roc_auc": {"min_relative_change": 0.05, "greater_is_better": True}}
    failed, message, _ = validate_thresholds("rmse", 10.0, 9.8, margin=0.05, greater_is_better=False)
    assert not failed and "minimum relative change check failed" in message
    worse, _, _ = validate_thresholds("rmse", 10.0, 10.5, margin=0.0, greater_is_better=False)
    assert not worse
    capped, _, capped_thresholds = validate_thresholds("r2", 0.2, 0.9, margin=3.0, greater_is_better=True)
    assert capped_thresholds["r2"]["min_relative_change"] == 1.0 and capped
