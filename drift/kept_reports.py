"""A kept report as a report workspace stores it: the value that crosses its port.

The monitor builds one for each batch whose reports are kept
(``monitoring.html_reports``); :class:`zenops.ports.ReportWorkspace` stores it (an
Evidently workspace, :mod:`drift.adapters.evidently_workspace`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["VERDICT_FIGURES", "KeptReport", "StoredReport", "report_figures"]

#: Every verdict, each a 0/1 figure of a kept report (``verdict_V``).
VERDICT_FIGURES = ("ok", "warn", "refresh", "rebuild", "data_quality")


@dataclass(frozen=True)
class KeptReport:
    """One batch's kept report, as a report workspace stores it.

    ``snapshots``: the engine's report objects by name (:attr:`DriftMeasurement.snapshots`);
    ``figures``: the zenops figures the dashboard plots beside them (``drift_share``,
    ``measured`` / ``estimated`` / ``baseline`` in the model's metric, ``verdict_V`` as
    1 or 0); ``features``: the model's features, for a new project's dashboard;
    ``links``: where else the batch is recorded (``mlflow_run``); ``replaces``: an
    earlier attempt at the batch may have stored it (a retry).
    """

    model: str
    batch: str
    at: datetime
    verdict: str
    snapshots: Mapping[str, Any]
    figures: Mapping[str, float]
    features: Sequence[str] = ()
    links: Mapping[str, str] = field(default_factory=dict)
    replaces: bool = False


@dataclass(frozen=True)
class StoredReport:
    """Where a report workspace stored a kept report: its page and its runs (to undo it)."""

    page: str
    project: str
    runs: tuple[str, ...]


def report_figures(
    verdict: str, drift_share: float | None, performance: Mapping[str, Any] | None
) -> dict[str, float]:
    """A batch's figures: drift share, performance (measured or estimated) and baseline, verdicts."""
    figures: dict[str, float] = {f"verdict_{name}": float(name == verdict) for name in VERDICT_FIGURES}
    if drift_share is not None:
        figures["drift_share"] = float(drift_share)
    if performance and performance.get("value") is not None:
        figures[str(performance["kind"])] = float(performance["value"])
        if isinstance(performance.get("baseline"), int | float):
            figures["baseline"] = float(performance["baseline"])
    return figures
