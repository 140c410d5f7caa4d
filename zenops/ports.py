"""The ports: small Protocols between the services and the outside systems.

A service takes these, never a concrete client; :mod:`zenops.bootstrap` builds the one
adapter of each per process or flow run, and the unit tests give the services fakes
(``tests/fakes/``) that keep their state in memory. Each adapter is named by its
system:

========================  ==========================================  =================================
port                      adapter                                     system
========================  ==========================================  =================================
:class:`ModelRegistry`    :class:`registry.adapters.mlflow.MlflowRegistry`    MLflow tracking + registry
:class:`DataStore`        :class:`registry.adapters.dvc.DvcDataStore`         DVC + git
:class:`MonitorState`     :class:`zenops.adapters.monitor_state.MonitorStateStore`  SQLAlchemy
:class:`CycleLog`         :class:`zenops.adapters.cycle_log.CycleLogStore`    SQLAlchemy
:class:`TicketRepository` :class:`demand.adapters.sql.SqlTicketRepository`    SQLAlchemy
:class:`PlanLog`          :class:`demand.adapters.plan_log.SqlPlanLog`        SQLAlchemy
:class:`DriftEngine`      :class:`drift.adapters.evidently.EvidentlyEngine`   Evidently
:class:`EventBus`         :class:`zenops.adapters.prefect_events.PrefectEvents`  Prefect events
:class:`Notifier`         :class:`zenops.adapters.apprise.AppriseNotifier`    Apprise
:class:`ReportWorkspace`  :class:`drift.adapters.evidently_workspace.EvidentlyWorkspace`  Evidently
========================  ==========================================  =================================

The value types that cross the monitoring-state port live here too; those of the
registry are in :mod:`registry.versions` and :mod:`registry.lineage`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from demand.plan_log import PlanLog
from demand.repository import TicketRepository
from drift.estimates import PerformanceEstimate
from drift.kept_reports import KeptReport, StoredReport
from drift.labels import LabelRow
from drift.measurement import DriftEngine
from registry.lineage import DataVersion
from registry.versions import ModelVersionInfo, RunFacts, RunSummary
from zenops.kernel.config import ModelSpec
from zenops.kernel.errors import ZenopsError
from zenops.kernel.notification import Delivery, Message, Target

__all__ = [
    "Changes",
    "CycleLog",
    "DataStore",
    "DriftEngine",
    "Estimator",
    "EstimatorFactory",
    "EventBus",
    "FileRecord",
    "LeaseTaken",
    "Leases",
    "ModelRegistry",
    "ModelState",
    "MonitorState",
    "KeptReport",
    "Notifier",
    "PlanLog",
    "ReportWorkspace",
    "ScoredBatch",
    "StoredReport",
    "TicketRepository",
]


@dataclass(frozen=True)
class ModelState:
    """Where monitoring of one model stands."""

    model: str
    last_batch: str | None = None
    last_labels: str | None = None
    drift_streak: int = 0
    last_verdict: str | None = None
    #: When (the cycle's clock) the last batch whose Evidently reports were kept was recorded.
    last_report: datetime | None = None


@dataclass(frozen=True)
class FileRecord:
    """A file of the batches or labels folder that monitoring has handled.

    ``status``: ``read`` (a label file whose rows were taken), ``refused`` (a label
    file with a problem, ``note`` says which) or ``ignored`` (a file monitoring does
    not read, reported once).
    """

    folder: str
    name: str
    digest: str | None
    status: str
    rows: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class ScoredBatch:
    """The ids (canonical text, :func:`drift.labels.canonical_ids`) one batch scored.

    ``batch`` is the batch's file stem, the name its scored rows are kept under; labels
    arriving later are joined to the batch that scored their id last.
    """

    batch: str
    ids: tuple[str, ...]


@dataclass
class Changes:
    """What one processed batch adds to the state, stored with its watermark.

    ``scored``: the ids of the batches whose scored rows were kept, in the order they
    were scored (a later batch of an id wins).
    """

    files: list[FileRecord] = field(default_factory=list)
    labels: list[LabelRow] = field(default_factory=list)
    scored: list[ScoredBatch] = field(default_factory=list)


class ModelRegistry(Protocol):
    """Registered models, their versions and aliases, and the runs they came from."""

    def ensure_experiment(self, model: str) -> str: ...
    def start_run(self, model: str, run_name: str, tags: dict[str, str]) -> AbstractContextManager[Any]: ...
    def runs_tagged(self, model: str, tags: dict[str, str]) -> list[str]: ...
    def delete_run(self, run_id: str) -> None: ...
    def register(self, model: str, model_uri: str, run_id: str, tags: dict[str, str]) -> str: ...
    def is_registered(self, model: str) -> bool: ...
    def alias(self, model: str, alias: str) -> ModelVersionInfo | None: ...
    def aliases(self, model: str) -> dict[str, str]: ...
    def set_alias(self, model: str, alias: str, version: str) -> None: ...
    def delete_alias(self, model: str, alias: str) -> None: ...
    def version(self, model: str, version: str) -> ModelVersionInfo: ...
    def version_tags(self, model: str, version: str) -> dict[str, str]: ...
    def set_version_tag(self, model: str, version: str, key: str, value: str) -> None: ...
    def delete_version_tag(self, model: str, version: str, key: str) -> None: ...
    def log_version_file(self, model: str, version: str, data: bytes, artifact: str) -> str:
        """Store ``data`` as the artifact ``artifact`` of the version's run; returns its URI."""
        ...

    def read_version_file(self, model: str, version: str, artifact: str) -> bytes:
        """The bytes of the version's artifact ``artifact`` (NotFoundError when it has none)."""
        ...

    def all_version_tags(self, model: str) -> dict[str, dict[str, str]]:
        """Every registered version of ``model`` with its own tags (empty: not registered)."""
        ...

    def run_facts(self, run_id: str) -> RunFacts:
        """A run's experiment name, tags and parameters (NotFoundError: no such run)."""
        ...

    def logged_models(self, run_id: str) -> list[tuple[str, str]]:
        """The models a run logged, as (name, model URI), oldest first."""
        ...

    def read_run_dict(self, run_id: str, artifact: str) -> dict[str, Any]:
        """The JSON artifact ``artifact`` of a run (NotFoundError when it has none)."""
        ...

    def load_model(self, model: str, alias: str = ...) -> Any: ...
    def load_version(self, model: str, version: str) -> Any: ...
    def log_monitoring_run(
        self,
        model: str,
        run_name: str,
        tags: dict[str, str],
        metrics: dict[str, float],
        verdict: dict[str, Any],
        snapshot: str | None = None,
        html: Callable[[Path], list[Path]] | None = None,
    ) -> tuple[str, str | None]:
        """Log one batch's monitoring run; returns its id and the URI of its report (None: none).

        ``verdict`` is stored as ``verdict.json``, ``snapshot`` (the drift engine's report as
        JSON) as ``evidently/snapshot.json``; ``html`` writes the HTML report files at the
        path it is given, stored under ``evidently/``. The report URI is the HTML report's
        when one is written, else the snapshot's.
        """
        ...

    def log_training(
        self,
        model: str,
        *,
        run_name: str,
        fitted: Any,
        params: dict[str, Any],
        metrics: dict[str, float],
        tags: dict[str, str],
        train_frame: Any,
        holdout: Any,
        data_source: str,
        data_name: str,
        target: str,
        features: list[str],
        extra_params: dict[str, Any] | None = None,
    ) -> tuple[str, str]:
        """Log one training run; returns its id and the URI of the logged model.

        ``params`` go in as ``trainer.NAME`` params (``extra_params`` as they are), the
        holdout ``metrics`` as ``holdout_NAME``, the training frame as the run's input
        ``data_name``, the holdout with its predictions as ``holdout/holdout.parquet``.
        """
        ...

    def log_run_metrics(self, run_id: str, metrics: Mapping[str, float]) -> None:
        """Log finite metrics on an existing run."""
        ...

    def set_run_tag(self, run_id: str, key: str, value: str) -> None: ...
    def log_run_dict(self, run_id: str, data: Mapping[str, Any], artifact: str) -> None:
        """Store ``data`` as the JSON artifact ``artifact`` of an existing run."""
        ...

    def log_run_text(self, run_id: str, text: str, artifact: str) -> None: ...
    def record_run(
        self, model: str, run_name: str, tags: dict[str, str], documents: Mapping[str, Mapping[str, Any]]
    ) -> str:
        """A finished run of the model's experiment with ``tags`` and JSON ``documents`` by artifact."""
        ...

    def runs_with_tags(self, model: str, tags: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
        """The live runs of the model carrying every one of ``tags``, oldest first, with all their tags.

        Empty when the model has no experiment yet (nothing is created).
        """
        ...

    def latest_run(self, model: str, tags: dict[str, str]) -> RunSummary | None:
        """The live run of ``model`` carrying every one of ``tags`` that started last (None: none).

        Nothing is created when the model has no experiment yet.
        """
        ...

    def validate_thresholds(
        self, metric: str, champion: float, challenger: float, *, margin: float, greater_is_better: bool
    ) -> tuple[bool, str, dict[str, Any]]:
        """The registry's own check of a challenger against the champion (MLflow's validation).

        Passes when the challenger's ``metric`` is better by a relative change of at least
        ``margin`` (capped at 1). Returns (passed, the registry's message, the thresholds).
        """
        ...


class DataStore(Protocol):
    """Versioned training data: snapshot a file, read back exactly one version."""

    def init(self) -> None: ...
    def snapshot(self, path: str, message: str) -> DataVersion: ...
    def committed_version(self, path: str) -> DataVersion: ...
    def pointer_md5(self, pointer: str) -> str: ...
    def read_bytes(self, version: DataVersion) -> bytes: ...
    def read_frame(self, version: DataVersion) -> Any: ...
    def remote_problem(self) -> str | None: ...
    def head(self) -> str | None:
        """The workspace's current commit (the code revision of what is trained now); None before any."""
        ...


class LeaseTaken(ZenopsError):
    """The lease is held by a live holder."""

    def __init__(self, name: str, holder: str, since: datetime) -> None:
        self.name, self.holder, self.since = name, holder, since
        super().__init__(f"{name} is held by {holder} since {since.isoformat(timespec='seconds')}")


class Leases(Protocol):
    """Named, expiring locks in the workspace database (one monitor per model)."""

    def current(self, name: str) -> Any: ...
    def acquire(self, name: str, holder: str, ttl: float) -> Any: ...
    def renew(self, name: str, holder: str, ttl: float) -> bool: ...
    def release(self, name: str, holder: str) -> None: ...
    def hold(self, name: str) -> AbstractContextManager[None]:
        """Hold the lease ``name`` while the block runs; :class:`LeaseTaken` when a live holder has it."""
        ...


class MonitorState(Protocol):
    """Per model: the watermark, the drift streak, files handled, label rows and scored ids."""

    def get(self, model: str) -> ModelState: ...
    def all(self) -> list[ModelState]: ...
    def files(self, model: str) -> dict[tuple[str, str], FileRecord]: ...
    def labels(
        self, model: str, *, ids: Sequence[str] | None = None, status: str | None = None
    ) -> list[LabelRow]: ...
    def scored(self, model: str, ids: Sequence[str]) -> dict[str, str]:
        """Each of ``ids`` that a stored batch scored → the batch (file stem) that scored it last."""
        ...

    def has_scored(self, model: str) -> bool:
        """Whether the ids of any scored batch of ``model`` are stored."""
        ...

    def advance(self, state: ModelState, changes: Changes | None = None) -> None: ...
    def leases(self) -> Leases: ...


class CycleLog(Protocol):
    """When each model's monitoring last completed (the SLA watch's watch on the monitor)."""

    def completed(self, models: Iterable[str], at: datetime) -> None: ...
    def last_completed(self) -> dict[str, datetime]: ...


class EventBus(Protocol):
    """Events other automations react to (Prefect events in production)."""

    def emit(
        self,
        event: str,
        resource: Mapping[str, str],
        payload: Mapping[str, Any],
        related: Sequence[Mapping[str, str]] = (),
    ) -> None: ...


class Estimator(Protocol):
    """A label-free performance estimator fitted on a champion's holdout (NannyML in production).

    ``check`` is its fit-time calibration check (``passed``, ``reason``).
    """

    check: Any

    def estimate(self, current: Any) -> PerformanceEstimate: ...


class EstimatorFactory(Protocol):
    """Fits an :class:`Estimator` on a holdout; None when the model's metric cannot be estimated."""

    def __call__(self, holdout: Any, spec: ModelSpec) -> Estimator | None: ...


class Notifier(Protocol):
    """Sends one message to resolved targets and says what became of each.

    Its values (:class:`~zenops.kernel.notification.Message`, ``Target``, ``Delivery``)
    are in :mod:`zenops.kernel.notification`.
    """

    def send(self, message: Message, targets: Sequence[Target]) -> list[Delivery]: ...
    def problem(self, url: str) -> str | None:
        """Why it cannot send to ``url`` (checked without sending), or None when it can."""
        ...


class ReportWorkspace(Protocol):
    """Kept reports over time, a project per model with its dashboard (an Evidently workspace)."""

    def add(self, report: KeptReport) -> StoredReport:
        """Store ``report`` in its model's project (created, with its dashboard, when missing).

        With ``report.replaces``, what an earlier attempt at the batch stored goes first.
        Returns where it is: its page under the UI (``/projects/ID/reports/ID``) and runs.
        """
        ...

    def remove(self, stored: StoredReport) -> None:
        """Delete what :meth:`add` stored (the batch it belongs to could not be finished)."""
        ...

    def describe(self) -> str:
        """The workspace's folder or URL, as an error or a link names it."""
        ...
