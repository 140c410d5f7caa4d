"""The workspace: a folder the user owns, with its configuration and stores.

One place resolves the store URLs (``zenops.yaml``, overridden by the
environment) and builds the adapters from them; nothing is wired at import.
"""

from __future__ import annotations

import os
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from zenops.kernel import clock
from zenops.kernel.config import CONFIG_FILE, ZenopsConfig, load_config
from zenops.kernel.errors import ConfigError
from zenops.kernel.paths import is_uri
from zenops.kernel.stores import StoreUrls

if TYPE_CHECKING:
    from zenops.ports import CycleLog, DataStore, ModelRegistry, MonitorState, PlanLog, TicketRepository

MODEL_PATHS = ("training_data", "batches", "labels")
GITIGNORE = [".zenops/", "__pycache__/", "*.pyc"]
ENV_OVERRIDES = {
    "tracking_uri": "ZENOPS_TRACKING_URI",
    "tickets_url": "ZENOPS_TICKETS_URL",
    "dvc_remote": "ZENOPS_DVC_REMOTE",
    "artifact_root": "ZENOPS_ARTIFACT_ROOT",
    "evidently": "ZENOPS_EVIDENTLY",
}


def example_config() -> str:
    """The example ``zenops.yaml`` that ``zenops init`` writes."""
    return resources.files("zenops").joinpath("templates/zenops.yaml").read_text(encoding="utf-8")


def _absolute_sqlite(url: str, root: Path) -> str:
    """``sqlite:///relative.db`` is relative to the workspace, not to the current folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str((root / url[len(prefix) :]).resolve())
    return url


def _absolute_path(value: str, root: Path) -> str:
    if is_uri(value):
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (root / path).resolve())


#: The champion profiles of this process, by tracking store (see :attr:`Workspace.profiles`).
_PROFILES: dict[str, dict] = {}


class Workspace:
    """A zenops workspace rooted at ``root``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().resolve()

    def __getstate__(self) -> dict:
        """A workspace sent to another process (a process pool, a Dask worker, a task's
        cache key) is its folder: the receiver builds its own adapters and reads the
        configuration again, so no engine or client crosses a process boundary."""
        return {"root": self.root}

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    @cached_property
    def config(self) -> ZenopsConfig:
        config = load_config(self.config_path)
        self._check_paths(config)
        return config

    def _check_paths(self, config: ZenopsConfig) -> None:
        """Every model's data paths stay inside the workspace; the error names the field."""
        for i, spec in enumerate(config.models):
            for field in MODEL_PATHS:
                value = getattr(spec, field)
                try:
                    self.path(value)
                except ConfigError:
                    raise ConfigError(
                        f"{self.config_path}: models[{i}].{field}: path '{value}' leaves the workspace"
                    ) from None

    @cached_property
    def stores(self) -> StoreUrls:
        declared = self.config.stores
        values = {}
        for key, variable in ENV_OVERRIDES.items():
            values[key] = os.environ.get(variable) or getattr(declared, key)
        return StoreUrls(
            tracking_uri=_absolute_sqlite(values["tracking_uri"], self.root),
            tickets_url=_absolute_sqlite(values["tickets_url"], self.root),
            dvc_remote=_absolute_path(values["dvc_remote"], self.root),
            artifact_root=_absolute_path(values["artifact_root"], self.root),
            evidently=None
            if values["evidently"].strip().lower() in ("", "none")
            else _absolute_path(values["evidently"], self.root),
        )

    def path(self, relative: str) -> Path:
        """A path of the workspace; ``relative`` must stay inside it."""
        full = (self.root / relative).resolve()
        if self.root not in full.parents and full != self.root:
            raise ConfigError(f"{self.config_path}: path '{relative}' leaves the workspace")
        return full

    # -- adapters, built once per workspace object from the resolved stores ------
    # A command or a flow run makes one Workspace, so each adapter is built once per
    # process or flow run; the ticket store, the monitoring state and the leases share
    # one SQL engine. The adapters' modules (and the libraries behind them) load on first
    # use: ``zenops tickets list`` never imports MLflow or DVC.

    @cached_property
    def database(self):  # -> sqlalchemy.engine.Engine
        """The engine of the workspace database (``stores.tickets_url``)."""
        from zenops.adapters.sql import open_engine

        return open_engine(self.stores.tickets_url)

    @cached_property
    def _registry(self):
        from registry.adapters.mlflow import MlflowRegistry

        return MlflowRegistry(self.stores.tracking_uri, self.stores.artifact_root)

    @cached_property
    def _data_store(self):
        from registry.adapters.dvc import DvcDataStore

        return DvcDataStore(self.root, self.stores.dvc_remote)

    @cached_property
    def _tickets(self):
        from demand.adapters.sql import open_store

        return open_store(self.stores.tickets_url, clock=clock.now, config=self.config, engine=self.database)

    @cached_property
    def _plan_log(self):
        from demand.adapters.plan_log import SqlPlanLog

        return SqlPlanLog(self.stores.tickets_url, engine=self.database)

    @cached_property
    def _monitor_state(self):
        from zenops.adapters.monitor_state import MonitorStateStore

        return MonitorStateStore(self.stores.tickets_url, engine=self.database)

    @cached_property
    def _cycle_log(self):
        from zenops.adapters.cycle_log import CycleLogStore

        return CycleLogStore(self.stores.tickets_url, engine=self.database)

    def cycle_log(self) -> CycleLog:
        """When each model's monitoring last completed (SQL, the tickets' database)."""
        return self._cycle_log

    def registry(self) -> ModelRegistry:
        """The model registry (MLflow)."""
        return self._registry

    def data_store(self) -> DataStore:
        """The training data's versions (DVC + git)."""
        return self._data_store

    def ticket_store(self) -> TicketRepository:
        """The demand queue's tickets (SQL)."""
        return self._tickets

    def plan_log(self) -> PlanLog:
        """The plans published before (SQL, the tickets' database)."""
        return self._plan_log

    def monitor_state(self) -> MonitorState:
        """Watermarks, files read, label rows and leases (SQL, the tickets' database)."""
        return self._monitor_state

    # -- what the monitor service needs besides the stores ---------------------

    def events(self):  # -> zenops.adapters.prefect_events.PrefectEvents
        from zenops.adapters.prefect_events import PrefectEvents

        return PrefectEvents()

    def drift_engine(self):  # -> drift.stattests.ScipyDriftEngine
        """The verdicts' engine: Evidently's tests, exact, in scipy (no report, no Evidently import)."""
        from drift.stattests import ScipyDriftEngine

        return ScipyDriftEngine()

    def report_engine(self):  # -> drift.adapters.evidently.EvidentlyEngine
        """The kept reports' engine: Evidently, imported when a report is built."""
        from drift.adapters.evidently import EvidentlyEngine

        return EvidentlyEngine()

    @cached_property
    def _report_workspace(self):
        if self.stores.evidently is None:
            return None
        from drift.adapters.evidently_workspace import EvidentlyWorkspace

        return EvidentlyWorkspace(self.stores.evidently)

    def report_workspace(self):  # -> drift.adapters.evidently_workspace.EvidentlyWorkspace | None
        """Where kept reports are added over time (``stores.evidently``); None: nowhere."""
        return self._report_workspace

    def estimator_factory(self):  # -> drift.adapters.nannyml.PerformanceEstimator.fit
        from drift.adapters.nannyml import PerformanceEstimator

        return PerformanceEstimator.fit

    @cached_property
    def profiles(self) -> dict:
        """What services load once per process and model store, and never changes.

        The monitor keeps each champion's profile here (model, reference sample, fitted
        estimator), by model, registered version, run and spec: a registered version's
        model and data never change, so a process that runs many cycles (``zenops
        serve``, the demo) loads each champion once, and a new champion or a changed
        spec is a new key.
        """
        return _PROFILES.setdefault(self.stores.tracking_uri, {})

    def require(self) -> Workspace:
        """Fail clearly when the folder is not a workspace."""
        if not self.config_path.is_file():
            raise ConfigError(f"{self.config_path}: no such file; run 'zenops init {self.root}' first")
        return self


def find_workspace(explicit: str | None) -> Workspace:
    """``--workspace``, else ``ZENOPS_WORKSPACE``, else the current folder."""
    return Workspace(explicit or os.environ.get("ZENOPS_WORKSPACE") or Path.cwd())
