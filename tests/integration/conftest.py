"""Workspaces on the real stack: git + DVC with a folder remote, MLflow on SQLite.

Training a workspace (``zenops init``, a DVC push, a Prefect flow, an MLflow
registration) takes seconds to tens of seconds, and many tests start from the same
trained workspace: it is built once per test process and a copy is put back for each
test that asks (``saved_trained``, ``saved_drifted``; :mod:`tests.workspaces`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.workspaces import SavedWorkspace
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
STORE_VARIABLES = (
    "ZENOPS_TRACKING_URI",
    "ZENOPS_TICKETS_URL",
    "ZENOPS_DVC_REMOTE",
    "ZENOPS_ARTIFACT_ROOT",
    "ZENOPS_EVIDENTLY",
)


def fresh_workspace(root: Path) -> Workspace:
    """A workspace made by ``zenops init`` at ``root``, with demo training data written."""
    ws = Workspace(root)
    init_workspace(ws)
    ws = Workspace(ws.root)
    for spec in ws.config.models:
        write_training_data(ws, spec.name)
    return ws


@pytest.fixture(scope="session")
def saved_stores() -> Iterator[None]:
    """Own stores only, and MLflow without a connection pool, while saved workspaces live.

    MLflow keeps one SQLAlchemy engine per tracking URI for the whole process; a pooled
    SQLite connection would keep reading the database file a restore has replaced.
    """
    with pytest.MonkeyPatch.context() as patch:
        for variable in STORE_VARIABLES:
            patch.delenv(variable, raising=False)
        patch.setenv("MLFLOW_SQLALCHEMYSTORE_POOLCLASS", "NullPool")
        yield


def save_workspace(
    factory: pytest.TempPathFactory, label: str, build: Callable[[Workspace], Any]
) -> SavedWorkspace:
    """A fresh workspace (:func:`fresh_workspace`) after ``build(workspace)``, saved."""
    ws = fresh_workspace(factory.mktemp(label) / "ws")
    return SavedWorkspace(ws.root, build(ws))


@pytest.fixture(scope="session")
def saved_fresh(saved_stores, tmp_path_factory) -> SavedWorkspace:
    """A fresh workspace (:func:`fresh_workspace`), made once per test process.

    ``zenops init`` creates MLflow's database (its schema migrations take seconds) and
    DVC's set-up; a copy of the first one made serves every test that asks.
    """
    return save_workspace(tmp_path_factory, "fresh", lambda ws: None)


@pytest.fixture(scope="session")
def saved_trained(prefect_api, saved_stores, tmp_path_factory) -> SavedWorkspace:
    """The ``workspace`` fixture's workspace with loan-default trained through the Prefect flow.

    ``result`` is the training flow's report.
    """
    from flows.train import train_model

    return save_workspace(
        tmp_path_factory, "trained", lambda ws: train_model(model="loan-default", workspace=str(ws.root))
    )


@pytest.fixture(scope="session")
def saved_drifted(prefect_api, saved_stores, tmp_path_factory) -> SavedWorkspace:
    """A fresh workspace after the refresh tests' ``drifted_workspace`` (trained, drifted days dropped)."""
    from tests.integration.test_refresh_flow import drifted_workspace

    return save_workspace(tmp_path_factory, "drifted", drifted_workspace)


@pytest.fixture
def restore(monkeypatch: pytest.MonkeyPatch) -> Callable[[SavedWorkspace], Workspace]:
    """Put a saved workspace back for this test, its stores its own."""

    def restored(saved: SavedWorkspace) -> Workspace:
        for variable in STORE_VARIABLES:
            monkeypatch.delenv(variable, raising=False)
        return saved.restore()

    return restored


@pytest.fixture
def workspace(saved_fresh: SavedWorkspace, restore: Callable[[SavedWorkspace], Workspace]) -> Workspace:
    """A fresh workspace made by ``zenops init``, with demo training data written (made once, restored)."""
    return restore(saved_fresh)


def set_monitoring(ws: Workspace, **settings: Any) -> Workspace:
    """``ws`` with ``settings`` in the ``monitoring`` section of its ``zenops.yaml``."""
    import yaml

    config = yaml.safe_load(ws.config_path.read_text())
    config["monitoring"] = {**(config.get("monitoring") or {}), **settings}
    ws.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return Workspace(ws.root)


@contextmanager
def one_trained_model(saved_trained: SavedWorkspace, **monitoring: Any) -> Iterator[Workspace]:
    """The ``saved_trained`` workspace (loan-default trained through the flow), for a whole module.

    ``monitoring``: settings of its ``monitoring`` section, written after it is put back.
    """
    with pytest.MonkeyPatch.context() as patch:
        for variable in STORE_VARIABLES:
            patch.delenv(variable, raising=False)
        ws = saved_trained.restore()
        yield set_monitoring(ws, **monitoring) if monitoring else ws


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
