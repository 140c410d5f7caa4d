"""A workspace wired to fakes: the monitor service's :class:`MonitorWorkspace` in memory.

The folders are real (batches and labels are files under ``root``, as a user drops
them); every store behind them is a fake of its port that the tests read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from demand.plan_log import InMemoryPlanLog
from demand.repository import InMemoryTicketRepository
from tests.fakes.data_store import FakeDataStore
from tests.fakes.drift import StubDriftEngine
from tests.fakes.events import FakeEventBus
from tests.fakes.monitor_state import FakeMonitorState
from tests.fakes.registry import FakeRegistry
from tests.fakes.report_workspace import FakeReportWorkspace
from zenops.kernel import clock
from zenops.kernel.config import ZenopsConfig
from zenops.kernel.errors import ConfigError
from zenops.kernel.stores import StoreUrls
from zenops.ports import Estimator, EstimatorFactory


def no_estimator(holdout: Any, spec: Any) -> Estimator | None:
    """An estimator factory for a metric that cannot be estimated without labels."""
    return None


class FakeWorkspace:
    """Real folders under ``root``; the registry, data, tickets, state and events in memory."""

    def __init__(self, root: Path, config: ZenopsConfig, estimators: EstimatorFactory = no_estimator) -> None:
        self.root = Path(root).resolve()
        self.config = config
        self.profiles: dict[Any, Any] = {}
        self.fake_registry = FakeRegistry()
        self.fake_data = FakeDataStore(self.root)
        self.tickets = InMemoryTicketRepository(clock=clock.now, config=config)
        self.plans = InMemoryPlanLog()
        self.state = FakeMonitorState()
        self.bus = FakeEventBus()
        self.engine = StubDriftEngine()
        self.reports = FakeReportWorkspace()
        self.stores = StoreUrls(
            tracking_uri="fake:", tickets_url="fake:", dvc_remote="", artifact_root="", evidently=None
        )
        self.estimators = estimators

    def path(self, relative: str) -> Path:
        full = (self.root / relative).resolve()
        if self.root not in full.parents and full != self.root:
            raise ConfigError(f"path '{relative}' leaves the workspace")
        return full

    def registry(self) -> FakeRegistry:
        return self.fake_registry

    def data_store(self) -> FakeDataStore:
        return self.fake_data

    def ticket_store(self) -> InMemoryTicketRepository:
        return self.tickets

    def plan_log(self) -> InMemoryPlanLog:
        return self.plans

    def monitor_state(self) -> FakeMonitorState:
        return self.state

    def events(self) -> FakeEventBus:
        return self.bus

    def drift_engine(self) -> StubDriftEngine:
        return self.engine

    def report_engine(self) -> StubDriftEngine:
        return self.engine

    def report_workspace(self) -> FakeReportWorkspace:
        return self.reports

    def estimator_factory(self) -> EstimatorFactory:
        return self.estimators
