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
    MODEL,
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


def html_reports(path: Path) -> list[Path]:
    """What the drift engine writes: the report, and its summary beside it."""
    written = [path, path.with_name("report.summary.html")]
    for file in written:
        file.write_text(f"<html>{file.name} é</html>", encoding="utf-8")
    return written


def test_a_monitoring_run_is_one_metrics_call_and_one_upload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    registry = mlflow_registry(tmp_path)
    registry.ensure_experiment(MODEL)
    calls: list[str] = []

    def counted(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return original(*args, **kwargs)

        return call

    writes = ("create_run", "log_batch", "log_metric", "set_tag", "update_run_info")
    for owner, names in (
        (SqlAlchemyStore, writes),
        (LocalArtifactRepository, ("log_artifact", "log_artifacts")),
    ):
        for name in names:
            monkeypatch.setattr(owner, name, counted(name, getattr(owner, name)))
    tags = {"zenops.model": MODEL, "zenops.run_kind": "monitoring", "zenops.batch": "2024-07-01.csv"}
    verdict = {"verdict": "refresh", "reasons": ["drift in x1 ü"], "outcome": {"rows": 300}}
    metrics = {"rows": 300.0, "drift_share": 0.5, "drift_p.x1": 1e-9}

    run_id, report_uri = registry.log_monitoring_run(
        MODEL,
        "monitor m 2024-07-01.csv",
        tags,
        metrics,
        verdict,
        snapshot='{"engine": "evidently"}',
        html=html_reports,
    )

    assert calls == ["create_run", "log_batch", "log_artifacts", "update_run_info"]
    run = registry.client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "monitor m 2024-07-01.csv"
    assert tags.items() <= run.data.tags.items() and run.data.metrics == metrics and run.data.params == {}
    listed = [a.path for a in registry.client.list_artifacts(run_id)]
    listed += [a.path for a in registry.client.list_artifacts(run_id, "evidently")]
    assert sorted(listed) == [
        "evidently",
        "evidently/report.html",
        "evidently/report.summary.html",
        "evidently/snapshot.json",
        "verdict.json",
    ]
    scratch = tmp_path / "downloads"
    scratch.mkdir()
    read = mlflow_artifact(registry, scratch)
    assert read(run_id, "verdict.json") == verdict
    assert read(run_id, "evidently/snapshot.json") == {"engine": "evidently"}
    assert read(run_id, "evidently/report.summary.html") == "<html>report.summary.html é</html>"
    assert report_uri == f"{run.info.artifact_uri}/evidently/report.html"

    # Without a report: the verdict alone, no report folder, no report URI.
    bare, uri = registry.log_monitoring_run(MODEL, "monitor m bare", tags, {"rows": 0.0}, verdict)
    assert uri is None and [a.path for a in registry.client.list_artifacts(bare)] == ["verdict.json"]


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
