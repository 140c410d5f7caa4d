"""The training service on fakes of the registry and data store: champion, lineage, the DVC stage."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

import zenops
from registry import lineage
from registry.versions import CHAMPION
from tests.unit.training_world import MODEL, ports, workspace
from zenops.kernel.errors import LineageError
from zenops.services.refresh.context import RefreshPorts
from zenops.services.train.run import train


@pytest.fixture
def world(tmp_path: Path) -> RefreshPorts:
    return ports(workspace(tmp_path / "ws"))


def test_the_first_version_becomes_champion_and_a_second_one_does_not(world: RefreshPorts) -> None:
    spec = world.workspace.config.model(MODEL)
    first = train(world, spec)
    assert (first.version, first.alias) == ("1", CHAMPION)
    assert world.registry.aliases(MODEL) == {CHAMPION: "1"}
    assert 0.8 < first.metrics["roc_auc"] <= 1.0

    second = train(world, spec)
    assert (second.version, second.alias) == ("2", None)
    assert world.registry.aliases(MODEL) == {CHAMPION: "1"}
    # Unchanged data is not versioned again: both runs name the same data version.
    assert len(world.data.commits) == 1 and second.data_rev == first.data_rev == world.data.head()


def test_the_run_and_the_version_carry_the_lineage_tags(world: RefreshPorts) -> None:
    spec = world.workspace.config.model(MODEL)
    outcome = train(world, spec)
    run = world.registry.runs[outcome.run_id]
    commit = world.data.commits[-1]
    assert run.tags[lineage.DATA_PATH] == spec.training_data
    assert run.tags[lineage.DATA_REV] == outcome.data_rev == commit.rev
    assert run.tags[lineage.DATA_MD5] == outcome.data_md5 == commit.files[spec.training_data]
    assert run.tags[lineage.TRAINER] == "sklearn.linear_model.LogisticRegression"
    assert run.tags[lineage.CODE_REV] == commit.rev and run.tags[lineage.CODE_VERSION] == zenops.__version__
    assert (run.tags[lineage.MODEL], run.tags[lineage.RUN_KIND]) == (MODEL, "training")
    assert run.name == f"train {MODEL}" and run.status == "FINISHED"
    assert run.params["trainer.max_iter"] == "200" and run.params["seed"] == "0"
    assert run.metrics["holdout_roc_auc"] == pytest.approx(outcome.metrics["roc_auc"])
    assert len(run.artifacts["holdout/holdout.parquet"]) == 80  # the seeded 20% holdout, with predictions
    version_tags = world.registry.version_tags(MODEL, outcome.version)
    assert {tag: version_tags[tag] for tag in lineage.LINEAGE_TAGS} == {
        tag: run.tags[tag] for tag in lineage.LINEAGE_TAGS
    }
    # The champion's data comes back exactly from its tags alone.
    champion = world.registry.alias(MODEL, CHAMPION)
    restored = world.data.read_frame(lineage.Lineage.from_tags(champion.tags, "champion").data)
    assert restored.equals(pd.read_parquet(world.workspace.path(spec.training_data)))


def test_a_pipeline_stage_takes_params_yaml_and_the_committed_data(world: RefreshPorts) -> None:
    spec = world.workspace.config.model(MODEL)
    first = train(world, spec)
    (world.workspace.root / "params.yaml").write_text(yaml.safe_dump({MODEL: {"max_iter": 50, "C": 0.5}}))

    staged = train(world, spec, pipeline=True)

    assert staged.data_rev == first.data_rev and len(world.data.commits) == 1  # nothing snapshotted
    run = world.registry.runs[staged.run_id]
    assert (run.params["trainer.max_iter"], run.params["trainer.C"]) == ("50", "0.5")
    metrics = json.loads((world.workspace.root / "metrics" / f"{MODEL}.json").read_text())
    assert metrics == pytest.approx(staged.metrics)


def test_a_pipeline_stage_refuses_data_that_differs_from_its_committed_version(world: RefreshPorts) -> None:
    spec = world.workspace.config.model(MODEL)
    train(world, spec)
    (world.workspace.root / "params.yaml").write_text(yaml.safe_dump({MODEL: {"max_iter": 50}}))
    path = world.workspace.path(spec.training_data)
    pd.read_parquet(path).iloc[1:].to_parquet(path, index=False)
    with pytest.raises(LineageError, match="differs from the committed version"):
        train(world, spec, pipeline=True)
    assert list(world.registry.versions[MODEL]) == ["1"]
