"""The registry and data store contracts on the real adapters.

:class:`~registry.adapters.mlflow.MlflowRegistry` on an MLflow SQLite store with a local
artifact root, :class:`~registry.adapters.dvc.DvcDataStore` on a real git repository with
DVC and a folder remote, both in ``tmp_path``. The checks are the ones the fakes pass in
``tests/unit/test_port_contracts_registry.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from registry.adapters.dvc import DvcDataStore
from registry.adapters.git import Git
from registry.adapters.mlflow import MlflowRegistry
from tests.unit.test_port_contracts_registry import (
    DATA_CHECKS,
    REGISTRY_CHECKS,
    ReadArtifact,
    check_run_records,
)
from zenops.ports import DataStore, ModelRegistry


def mlflow_registry(tmp_path: Path) -> MlflowRegistry:
    return MlflowRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}", str(tmp_path / "artifacts"))


def mlflow_artifact(registry: MlflowRegistry, scratch: Path) -> ReadArtifact:
    """An artifact of a run as MLflow stores it: JSON documents parsed, text as text."""

    def read(run_id: str, path: str) -> Any:
        local = Path(registry.client.download_artifacts(run_id, path, str(scratch)))
        text = local.read_text(encoding="utf-8")
        return json.loads(text) if path.endswith(".json") else text

    return read


@pytest.mark.parametrize("check", REGISTRY_CHECKS, ids=lambda check: check.__name__)
def test_the_mlflow_registry_keeps_the_contract(
    check: Callable[[ModelRegistry], None], tmp_path: Path
) -> None:
    check(mlflow_registry(tmp_path))


def test_the_mlflow_registry_keeps_the_run_records_contract(tmp_path: Path) -> None:
    registry = mlflow_registry(tmp_path)
    scratch = tmp_path / "downloads"
    scratch.mkdir()
    check_run_records(registry, mlflow_artifact(registry, scratch))


def dvc_store(root: Path) -> DvcDataStore:
    """A git repository with DVC initialised and committed, its remote a folder beside it."""
    root.mkdir(parents=True)
    git = Git(root)
    git.init()
    store = DvcDataStore(root, str(root.parent / "remote"))
    store.init()
    git.commit_paths([".dvc/config", ".dvc/.gitignore", ".dvcignore"], "DVC")
    return store


@pytest.mark.parametrize("check", DATA_CHECKS, ids=lambda check: check.__name__)
def test_the_dvc_data_store_keeps_the_contract(
    check: Callable[[DataStore, Path], None], tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    check(dvc_store(root), root)
