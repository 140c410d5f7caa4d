"""Champion against challenger on the held-out window, and the promotion gate's decision.

Both models are scored on the same window (the champion loaded by version, not alias,
so an alias moved meanwhile cannot change which model is compared). The statistics are
the registry core's (:mod:`registry.comparison`): a seeded paired bootstrap interval of
the improvement and a paired test. The registry's own check
(``ModelRegistry.validate_thresholds``: MLflow's ``validate_evaluation_results``) gets
the figures measured here: ``mlflow.models.evaluate`` would score both models again
(about 3 s each here), offers no ROC AUC for a plain predict function, and failed on
pandas' string columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from drift.columns import PREDICTION, PROBABILITY
from registry.comparison import BootstrapResult, decide, paired_bootstrap, paired_test
from zenops.kernel.config import ModelSpec
from zenops.ports import ModelRegistry
from zenops.services.refresh.context import RefreshPorts
from zenops.services.refresh.outcome import HANDED_BACK, PROMOTED, REFRESH_DECISION
from zenops.services.refresh.rehydrate import ChampionRef
from zenops.services.refresh.window import WindowSplit
from zenops.services.train.fitting import metrics, predict_frame

__all__ = ["Comparison", "compare", "compare_and_record", "log_comparison"]


@dataclass
class Comparison:
    """Champion and challenger on the held-out window, and the gate's decision."""

    figures: dict[str, Any]
    promote: bool
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.figures, "promote": self.promote, "reasons": list(self.reasons)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Comparison:
        """A comparison read back from its ``to_dict`` (``comparison.json`` on a run)."""
        figures = {k: v for k, v in data.items() if k not in ("promote", "reasons")}
        return cls(figures, promote=bool(data.get("promote")), reasons=list(data.get("reasons") or []))

    def summary(self) -> str:
        b = self.figures.get("bootstrap") or {}
        metric = self.figures.get("metric")
        return (
            f"{metric} {_fmt(b.get('champion'))} -> {_fmt(b.get('challenger'))} "
            f"({_pct(b.get('relative_improvement'))}, {_pct(b.get('confidence'), sign=False)} interval "
            f"{_pct(b.get('relative_low'))} to {_pct(b.get('relative_high'))}) "
            f"on {self.figures.get('rows')} rows"
        )


def compare(
    ports: RefreshPorts, spec: ModelSpec, champion: ChampionRef, challenger_model: Any, split: WindowSplit
) -> Comparison:
    """Both models on the same held-out window: metric, paired bootstrap, paired test, registry check.

    The champion is loaded by version (not alias); the challenger is the model just
    fitted, which is the one registered.
    """
    gate = spec.promotion
    rows = split.compare
    figures: dict[str, Any] = {
        "metric": spec.metric_name,
        "rows": len(rows),
        "window": split.describe(),
        "margin": gate.margin,
        "champion_version": champion.version,
    }
    if rows.empty:
        figures.update(
            bootstrap={}, test={}, mlflow_validation={}, champion_metrics={}, challenger_metrics={}
        )
        reason = f"{split.why_empty}: nothing to compare on"
        return Comparison(figures, promote=False, reasons=[reason])
    champion_model = ports.registry.load_version(spec.name, champion.version)
    y = rows[spec.target].to_numpy()
    a, b = predict_frame(champion_model, rows, spec), predict_frame(challenger_model, rows, spec)
    bootstrap = _bootstrap(spec, y, a, b)
    test = paired_test(spec.task, y, a[PREDICTION].to_numpy(), b[PREDICTION].to_numpy())
    passed, message, thresholds = _registry_check(ports.registry, spec, bootstrap)
    decision = decide(
        bootstrap,
        test,
        margin=gate.margin,
        min_rows=gate.min_rows,
        validation_passed=passed,
        validation_message=message,
        require_paired_test=gate.require_paired_test,
    )
    figures.update(
        bootstrap=bootstrap.to_dict(),
        test=test.to_dict(),
        mlflow_validation={"passed": passed, "message": message, "thresholds": thresholds},
        champion_metrics=_finite_values(metrics(y, a, spec)),
        challenger_metrics=_finite_values(metrics(y, b, spec)),
    )
    return Comparison(figures, promote=decision.promote, reasons=decision.reasons)


def _bootstrap(spec: ModelSpec, y: np.ndarray, a: pd.DataFrame, b: pd.DataFrame) -> BootstrapResult:
    """The seeded paired bootstrap of the gate's metric, on both models' predictions."""
    return paired_bootstrap(
        spec.metric_name,
        y,
        a[PREDICTION].to_numpy(),
        b[PREDICTION].to_numpy(),
        a[PROBABILITY].to_numpy() if PROBABILITY in a else None,
        b[PROBABILITY].to_numpy() if PROBABILITY in b else None,
        resamples=spec.promotion.resamples,
        confidence=spec.promotion.confidence,
        seed=spec.seed,
    )


def _registry_check(
    registry: ModelRegistry, spec: ModelSpec, bootstrap: BootstrapResult
) -> tuple[bool, str, dict[str, Any]]:
    """The registry's threshold check on the measured figures (failed when the metric is undefined)."""
    if not (math.isfinite(bootstrap.champion) and math.isfinite(bootstrap.challenger)):
        return False, f"{spec.metric_name} is undefined on the window", {}
    return registry.validate_thresholds(
        spec.metric_name,
        bootstrap.champion,
        bootstrap.challenger,
        margin=spec.promotion.margin,
        greater_is_better=bootstrap.greater_is_better,
    )


def log_comparison(registry: ModelRegistry, challenger_run: str, comparison: Comparison) -> None:
    """The comparison on the challenger's run: metrics, the decision tag and ``comparison.json``."""
    b = comparison.figures.get("bootstrap") or {}
    values = {
        "compare_champion": b.get("champion"),
        "compare_challenger": b.get("challenger"),
        "compare_relative_improvement": b.get("relative_improvement"),
        "compare_relative_low": b.get("relative_low"),
        "compare_relative_high": b.get("relative_high"),
        "compare_rows": comparison.figures.get("rows"),
        "compare_p_value": (comparison.figures.get("test") or {}).get("p_value"),
    }
    finite = {
        key: float(value)
        for key, value in values.items()
        if isinstance(value, int | float) and math.isfinite(value)
    }
    registry.log_run_metrics(challenger_run, finite)
    registry.set_run_tag(challenger_run, REFRESH_DECISION, PROMOTED if comparison.promote else HANDED_BACK)
    registry.log_run_dict(challenger_run, comparison.to_dict(), "comparison.json")


def compare_and_record(
    ports: RefreshPorts,
    spec: ModelSpec,
    champion: ChampionRef,
    challenger_model: Any,
    split: WindowSplit,
    challenger_run: str,
) -> Comparison:
    """The step: :func:`compare`, then :func:`log_comparison` on the challenger's run."""
    comparison = compare(ports, spec, champion, challenger_model, split)
    log_comparison(ports.registry, challenger_run, comparison)
    return comparison


def _finite_values(values: dict[str, float]) -> dict[str, float | None]:
    return {k: (v if isinstance(v, float) and math.isfinite(v) else None) for k, v in values.items()}


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "n/a"


def _pct(value: Any, sign: bool = True) -> str:
    if not isinstance(value, float) or not math.isfinite(value):
        return "n/a"
    return f"{value:+.2%}" if sign else f"{value:.0%}"
