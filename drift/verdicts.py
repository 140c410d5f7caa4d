"""The drift policy's input and output as plain data: statuses, observation, verdict.

Pure, like :mod:`drift.policy`, whose rules read an :class:`Observation` and return a
:class:`Verdict`; kept apart so that the rules fit in one module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ColumnTest",
    "DATA_QUALITY",
    "NONE",
    "OK",
    "Observation",
    "PerformanceReading",
    "REBUILD",
    "REFRESH",
    "RULES",
    "SEVERITY",
    "STATUSES",
    "Verdict",
    "WARN",
]

OK, WARN, REFRESH, REBUILD, DATA_QUALITY = "ok", "warn", "refresh", "rebuild", "data_quality"
STATUSES = (OK, WARN, REFRESH, REBUILD, DATA_QUALITY)
#: The one order of the statuses by severity: the policy escalates along it, and the
#: monitor's summary of several batches shows the most severe. ``data_quality`` ranks
#: below ``refresh``: a bad batch replaces the verdict of that batch only (the policy never
#: weighs it against another status), and batches that also ask for a refresh lead with it.
SEVERITY = {OK: 0, WARN: 1, DATA_QUALITY: 2, REFRESH: 3, REBUILD: 4}
RULES = ("data_quality", "performance", "performance_first", "drift", "none")
NONE = "none"


@dataclass(frozen=True)
class ColumnTest:
    """One column's drift test: its p-value (NaN: not testable) and effect size in [0, 1]."""

    column: str
    p_value: float
    effect: float | None = None


@dataclass(frozen=True)
class PerformanceReading:
    """The model's metric on the batch next to its holdout baseline.

    ``measured`` is True for a metric computed on labels, False for an estimate.
    ``standard_error`` and ``baseline_standard_error`` are the sampling errors of
    ``value`` and ``baseline`` (None: unknown, counted as 0; with both unknown the
    drop is taken at face value). ``trusted`` is False for an estimate that should
    not decide a verdict, ``distrust`` then says why in one line.
    """

    metric: str
    value: float
    baseline: float
    higher_is_better: bool
    measured: bool
    rows: int
    standard_error: float | None = None
    baseline_standard_error: float | None = None
    trusted: bool = True
    distrust: str | None = None


@dataclass(frozen=True)
class Observation:
    """Everything the policy looks at for one batch of one model."""

    rows: int
    features: tuple[ColumnTest, ...] = ()
    prediction: ColumnTest | None = None
    measured: PerformanceReading | None = None
    estimated: PerformanceReading | None = None
    data_problems: tuple[str, ...] = ()
    previous_drift_cycles: int = 0


@dataclass(frozen=True)
class Verdict:
    """The decision for one batch and the reasons for it, one line each.

    ``drifted_features`` lists (feature, p-value), smallest p-value first;
    ``drift_share`` is None when drift was not tested; ``consecutive_drift`` is the
    streak to pass as ``previous_drift_cycles`` with the next batch; ``rule`` names
    the rule that decided the status (see the module).
    """

    status: str
    reasons: list[str] = field(default_factory=list)
    drifted_features: list[tuple[str, float]] = field(default_factory=list)
    drift_share: float | None = None
    consecutive_drift: int = 0
    prediction_drift: bool = False
    performance_drop: float | None = None
    rule: str = NONE

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "status": self.status,
            "reasons": list(self.reasons),
            "drifted_features": [{"feature": f, "p_value": p} for f, p in self.drifted_features],
            "drift_share": self.drift_share,
            "consecutive_drift": self.consecutive_drift,
            "prediction_drift": self.prediction_drift,
            "performance_drop": self.performance_drop,
            "rule": self.rule,
        }
