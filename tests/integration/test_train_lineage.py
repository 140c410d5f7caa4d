"""Training on the real stack: Prefect flow, git + DVC with a folder remote, MLflow on SQLite."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import dvc.api
import pytest

from flows.train import train_model
from registry import lineage
from registry.lineage import DataVersion
from registry.versions import CHAMPION
from zenops.kernel.errors import LineageError
from zenops.workspace import Workspace


@pytest.fixture
def workspace(saved_trained, restore) -> Workspace:
    """A fresh workspace with loan-default trained through the flow (trained once, restored)."""
    return restore(saved_trained)


@pytest.fixture
def trained(saved_trained, workspace: Workspace) -> dict:
    """The training flow's report of ``workspace``'s champion."""
    return saved_trained.result


def test_training_registers_a_champion_with_lineage_tags(workspace: Workspace, trained: dict) -> None:
    assert trained["version"] == "1" and trained["alias"] == CHAMPION
    registry = workspace.registry()
    champion = registry.alias("loan-default", CHAMPION)
    assert champion is not None and champion.run_id == trained["run_id"]
    for tag in lineage.LINEAGE_TAGS:
        assert champion.tags[tag], tag
    assert champion.tags[lineage.DATA_PATH] == "data/loan-default/train.parquet"
    assert champion.tags[lineage.TRAINER] == "sklearn.ensemble.HistGradientBoostingClassifier"
    assert champion.params["trainer.max_iter"] == "150"
    assert 0.6 < champion.metrics["holdout_roc_auc"] <= 1.0


def test_the_champions_data_is_rehydrated_from_its_tags_alone(workspace: Workspace, trained: dict) -> None:
    tags = workspace.registry().alias("loan-default", CHAMPION).tags
    # Lose the work tree's copy and the local DVC cache: only the remote holds the data now.
    workspace.path(tags[lineage.DATA_PATH]).unlink()
    shutil.rmtree(workspace.root / ".dvc" / "cache")
    with dvc.api.open(
        tags[lineage.DATA_PATH], repo=str(workspace.root), rev=tags[lineage.DATA_REV], mode="rb"
    ) as handle:
        data = handle.read()
    assert hashlib.md5(data).hexdigest() == tags[lineage.DATA_MD5] == trained["data_md5"]


def test_a_second_training_keeps_the_champion_and_an_unchanged_snapshot_makes_no_commit(
    workspace: Workspace, trained: dict
) -> None:
    head = workspace.data_store().git.head()
    again = train_model(model="loan-default", workspace=str(workspace.root))
    assert again["version"] == "2" and again["alias"] is None
    assert again["data_rev"] == trained["data_rev"] == head
    assert workspace.registry().aliases("loan-default") == {CHAMPION: "1"}


def test_a_tampered_remote_is_caught_by_the_md5_check(workspace: Workspace, trained: dict) -> None:
    store = workspace.data_store()
    version = DataVersion("data/loan-default/train.parquet", trained["data_rev"], trained["data_md5"])
    assert len(store.read_bytes(version)) > 0
    forged = DataVersion(version.path, version.rev, "0" * 32)
    with pytest.raises(LineageError, match="does not match the recorded"):
        store.read_bytes(forged)
    with pytest.raises(LineageError, match="not in the workspace's git history"):
        store.read_bytes(DataVersion(version.path, "f" * 40, version.md5))


def test_the_champion_loads_and_predicts(workspace: Workspace, trained: dict) -> None:
    from zenops.app.demo.datagen import training_frame

    model = workspace.registry().load_model("loan-default")
    frame = training_frame("loan-default", rows=50, seed=99)
    assert model.predict_proba(frame).shape == (50, 2)


def test_data_lost_from_cache_and_remote_names_the_remote(workspace: Workspace, trained: dict) -> None:
    store = workspace.data_store()
    version = DataVersion("data/loan-default/train.parquet", trained["data_rev"], trained["data_md5"])
    workspace.path(version.path).unlink()
    shutil.rmtree(workspace.root / ".dvc" / "cache")
    remote = workspace.stores.dvc_remote
    for item in list(Path(remote).iterdir()):
        shutil.rmtree(item) if item.is_dir() else item.unlink()
    with pytest.raises(LineageError) as caught:
        store.read_bytes(version)
    message = str(caught.value)
    assert f"DVC remote {remote}" in message and version.md5 in message
    assert "neither as a DVC output" not in message


def test_an_unknown_registered_model_is_not_a_missing_alias(workspace: Workspace, trained: dict) -> None:
    from zenops.kernel.errors import NotFoundError

    registry = workspace.registry()
    assert registry.alias("loan-default", "challenger") is None
    with pytest.raises(NotFoundError, match="no registered model 'nope'"):
        registry.alias("nope", CHAMPION)
    assert registry.is_registered("loan-default") and not registry.is_registered("nope")
