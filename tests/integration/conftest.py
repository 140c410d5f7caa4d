"""Workspaces on the real stack: git + DVC with a folder remote, MLflow on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from zenops.app.init import init_workspace
from zenops.workspace import Workspace


def write_training_data(workspace: Workspace, model: str, rows: int = 3000, seed: int = 7) -> Path:
    from zenops.app.demo.datagen import training_frame

    spec = workspace.config.model(model)
    path = workspace.path(spec.training_data)
    path.parent.mkdir(parents=True, exist_ok=True)
    training_frame(model, rows=rows, seed=seed).to_parquet(path)
    return path


# Environment variables that point a workspace at other stores than its own.
STORE_VARIABLES = ("ZENOPS_TRACKING_URI", "ZENOPS_TICKETS_URL", "ZENOPS_DVC_REMOTE", "ZENOPS_ARTIFACT_ROOT")


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A fresh workspace made by ``zenops init``, with demo training data written."""
    for variable in STORE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    ws = Workspace(tmp_path / "ws")
    init_workspace(ws)
    ws = Workspace(ws.root)
    for spec in ws.config.models:
        write_training_data(ws, spec.name)
    return ws


@contextmanager
def one_trained_model(
    tmp_path_factory: pytest.TempPathFactory, model: str, label: str
) -> Iterator[Workspace]:
    """A workspace with ``model`` trained once through the Prefect flow, for a whole test module."""
    from flows.train import train_model

    with pytest.MonkeyPatch.context() as patch:
        for variable in STORE_VARIABLES:
            patch.delenv(variable, raising=False)
        ws = Workspace(tmp_path_factory.mktemp(label) / "ws")
        init_workspace(ws)
        ws = Workspace(ws.root)
        write_training_data(ws, model)
        train_model(model=model, workspace=str(ws.root))
        yield ws


def reset_monitoring(ws: Workspace, model: str) -> Workspace:
    """``ws`` with empty batches and labels folders, no monitoring state and no tickets."""
    import shutil

    from zenops.kernel.paths import STATE_DIR

    spec = ws.config.model(model)
    for folder in (spec.batches, spec.labels):
        shutil.rmtree(ws.path(folder), ignore_errors=True)
        ws.path(folder).mkdir(parents=True)
    shutil.rmtree(ws.root / STATE_DIR / "monitor", ignore_errors=True)
    (ws.root / STATE_DIR / "zenops.db").unlink(missing_ok=True)
    return Workspace(ws.root)
