"""What the monitor service needs of its workspace: folders, settings and the ports.

:class:`zenops.workspace.Workspace` provides it with the real adapters, built once per
workspace object (one per command or flow run); the unit tests give the service a fake
workspace whose ports keep their state in memory (``tests/fakes/``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from zenops.kernel.config import ZenopsConfig
from zenops.kernel.stores import StoreUrls
from zenops.ports import (
    DataStore,
    DriftEngine,
    EstimatorFactory,
    EventBus,
    ModelRegistry,
    MonitorState,
    ReportWorkspace,
    TicketRepository,
)

__all__ = ["MonitorWorkspace"]


class MonitorWorkspace(Protocol):
    """A workspace as the monitor sees it.

    ``profiles`` caches what is loaded once per champion version (its model, reference
    sample and fitted estimator) for as long as this workspace object lives: one flow
    run, not the whole process.
    """

    root: Path
    config: ZenopsConfig
    stores: StoreUrls
    profiles: dict[Any, Any]

    def path(self, relative: str) -> Path: ...
    def registry(self) -> ModelRegistry: ...
    def data_store(self) -> DataStore: ...
    def ticket_store(self) -> TicketRepository: ...
    def monitor_state(self) -> MonitorState: ...
    def events(self) -> EventBus: ...
    def drift_engine(self) -> DriftEngine:
        """The engine of the verdicts, run on every batch."""
        ...

    def report_engine(self) -> DriftEngine:
        """The engine whose reports are kept (Evidently), run only where a report is kept."""
        ...

    def estimator_factory(self) -> EstimatorFactory: ...
    def report_workspace(self) -> ReportWorkspace | None:
        """Where kept reports are added over time (an Evidently workspace); None: nowhere."""
        ...
