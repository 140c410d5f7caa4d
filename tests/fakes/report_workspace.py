"""A report workspace in memory: the :class:`zenops.ports.ReportWorkspace` port without Evidently.

It keeps each model's project as a list of runs (the kept report's figures, batch and
verdict) that tests read; ``down`` makes every call fail as an unreachable Evidently
UI does, with a :class:`StoreError` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drift.kept_reports import KeptReport, StoredReport
from zenops.kernel.errors import StoreError


@dataclass
class FakeReportWorkspace:
    """Projects by model, each a dict of run id → the kept report stored under it."""

    projects: dict[str, dict[str, KeptReport]] = field(default_factory=dict)
    down: bool = False
    added: int = 0

    def describe(self) -> str:
        return "fake report workspace"

    def _check(self) -> None:
        if self.down:
            raise StoreError(f"{self.describe()}: not reachable")

    def add(self, report: KeptReport) -> StoredReport:
        self._check()
        runs = self.projects.setdefault(report.model, {})
        if report.replaces:
            for run_id in [r for r, kept in runs.items() if kept.batch == report.batch]:
                del runs[run_id]
        self.added += 1
        run_id = f"run{self.added}"
        runs[run_id] = report
        return StoredReport(
            page=f"/projects/{report.model}/reports/{run_id}", project=report.model, runs=(run_id,)
        )

    def remove(self, stored: StoredReport) -> None:
        self._check()
        for run_id in stored.runs:
            self.projects.get(stored.project, {}).pop(run_id, None)

    def batches(self, model: str) -> list[str]:
        return [kept.batch for kept in self.projects.get(model, {}).values()]
