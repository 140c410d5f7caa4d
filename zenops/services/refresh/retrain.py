"""The refreshed training set versioned, the challenger retrained on it and registered.

The refreshed set is written to the model's ``training_data`` path and snapshotted as
a new data version; the work tree's training file is the refreshed set from then on,
hand-back or not, and every version stays restorable from its revision. The
challenger is trained on the bytes the data store now holds, logged with the
champion's lineage tags plus the version it refreshes and the refresh ticket, and
given the ``challenger`` alias.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd

from registry import lineage
from registry.lineage import DataVersion
from registry.versions import CHALLENGER, LoggedTraining
from zenops.kernel.config import ModelSpec
from zenops.kernel.paths import STATE_DIR
from zenops.services.refresh.context import RefreshPorts
from zenops.services.refresh.outcome import REFRESH_TICKET
from zenops.services.refresh.rehydrate import ChampionRef
from zenops.services.refresh.window import WindowSplit, refreshed_training_set
from zenops.services.train.fitting import TrainingResult
from zenops.services.train.steps import fit_model, load_training_frame, record_training
from zenops.workspace import Workspace

__all__ = [
    "register_challenger",
    "retrain",
    "snapshot_refreshed_data",
    "workspace_lock",
    "write_training_set",
]


@contextmanager
def workspace_lock(workspace: Workspace, name: str) -> Iterator[None]:
    """An exclusive lock on the workspace (``.zenops/locks/<name>.lock``), across threads and processes."""
    path = workspace.root / STATE_DIR / "locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_training_set(ports: RefreshPorts, spec: ModelSpec, frame: pd.DataFrame) -> DataVersion:
    """Write the refreshed set to the model's ``training_data`` path and snapshot it.

    Writing and snapshotting (dvc add, push to the remote, git commit) hold a
    workspace-wide file lock: DVC and git allow one writer per repository.
    """
    workspace = ports.workspace
    path = workspace.path(spec.training_data)
    path.parent.mkdir(parents=True, exist_ok=True)
    with workspace_lock(workspace, "data"):
        if path.suffix.lower() == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            out = frame.copy()
            out[spec.timestamp_column] = out[spec.timestamp_column].dt.strftime("%Y-%m-%dT%H:%M:%S")
            out.to_csv(path, index=False)
        return ports.data.snapshot(spec.training_data, f"data: {spec.name} refreshed training data")


def snapshot_refreshed_data(
    ports: RefreshPorts, spec: ModelSpec, champion_data: pd.DataFrame, split: WindowSplit
) -> tuple[DataVersion, pd.DataFrame]:
    """The refreshed training set, versioned; returns its version and the frame read back to train on."""
    frame = refreshed_training_set(champion_data, split, spec)
    version = write_training_set(ports, spec, frame)
    return version, load_training_frame(ports.workspace, spec)  # train on the bytes now versioned


def retrain(spec: ModelSpec, frame: pd.DataFrame) -> TrainingResult:
    """The challenger, trained with the retraining spec on the refreshed set."""
    return fit_model(spec, frame)


def register_challenger(
    ports: RefreshPorts,
    spec: ModelSpec,
    version: DataVersion,
    result: TrainingResult,
    frame: pd.DataFrame,
    champion: ChampionRef,
    ticket: int,
) -> LoggedTraining:
    """Log the retrained model with lineage tags plus the version it refreshes; alias ``challenger``."""
    extra = {lineage.REFRESHES: champion.version, lineage.RUN_KIND: "refresh", REFRESH_TICKET: str(ticket)}
    logged = record_training(
        ports,
        spec,
        version,
        result,
        frame,
        extra_tags=extra,
        run_name=f"refresh {spec.name} from v{champion.version}",
    )
    ports.registry.set_version_tag(spec.name, logged.version, lineage.REFRESHES, champion.version)
    ports.registry.set_alias(spec.name, CHALLENGER, logged.version)
    return logged
