"""What a refresh works with: the workspace and its stores as ports, and how its steps run."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zenops.ports import DataStore, EstimatorFactory, ModelRegistry, TicketRepository
from zenops.services.train.steps import TrainPorts

__all__ = ["ProfileStores", "RefreshPorts", "Runner"]


@dataclass(frozen=True)
class RefreshPorts(TrainPorts):
    """The training's ports (workspace, registry, data store) and the ticket store.

    The workspace gives the configuration, the files (batches, labels, the training data
    path, dossiers) and the tracking URI a dossier names; every store is a port.
    """

    tickets: TicketRepository
    #: Fits the label-free estimator of a new champion's profile (NannyML in the wiring).
    estimators: EstimatorFactory

    def profile_stores(self) -> ProfileStores:
        """What a champion profile is built from: these ports, not the workspace's own adapters."""
        return ProfileStores(self.workspace.root, self.registry, self.data, self.estimators)


@dataclass(frozen=True)
class ProfileStores:
    """The ports a refresh holds, in the shape a champion profile is built and read with."""

    root: Path
    registry_port: ModelRegistry
    data_port: DataStore
    estimators: EstimatorFactory

    def registry(self) -> ModelRegistry:
        return self.registry_port

    def data_store(self) -> DataStore:
        return self.data_port

    def estimator_factory(self) -> EstimatorFactory:
        return self.estimators


@dataclass
class Runner:
    """How a refresh runs its steps, and what it holds while they run.

    ``steps`` has the steps by name: :mod:`zenops.services.refresh.steps` for plain
    calls, or the flow's Prefect tasks of the same steps. ``exclusive`` is held from the
    champion check to the end (one refresh of a model at a time), ``training`` around the
    retraining (bounded trainings at once), ``promotion`` around the alias move, audit
    and ticket close (all or nothing). ``waits`` collects the seconds each wait took,
    reported with the outcome. By default nothing is held: a test, one process.
    """

    steps: Any
    exclusive: Callable[[], AbstractContextManager[Any]] = nullcontext
    training: Callable[[], AbstractContextManager[Any]] = nullcontext
    promotion: Callable[[], AbstractContextManager[Any]] = nullcontext
    waits: dict[str, float] = field(default_factory=dict)
