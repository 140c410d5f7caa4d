"""``dvc repro`` runs the same training as ``zenops train``, with params.yaml."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from zenops.kernel.errors import LineageError
from zenops.workspace import Workspace


def test_dvc_repro_trains_with_params_yaml(prefect_api, saved_trained, restore) -> None:
    workspace = restore(saved_trained)  # loan-default trained through the flow: its data versioned
    first = saved_trained.result
    params = yaml.safe_load((workspace.root / "params.yaml").read_text())
    params["loan-default"]["max_iter"] = 40
    (workspace.root / "params.yaml").write_text(yaml.safe_dump(params))
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PREFECT_API_URL": prefect_api,
    }
    done = subprocess.run(
        [str(Path(sys.executable).with_name("dvc")), "repro", "train-loan-default"],
        cwd=workspace.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    metrics = json.loads((workspace.root / "metrics" / "loan-default.json").read_text())
    assert 0.5 < metrics["roc_auc"] <= 1
    second = workspace.registry().version("loan-default", "2")
    assert second.params["trainer.max_iter"] == "40"
    assert second.tags["zenops.data.md5"] == first["data_md5"]
    assert (workspace.root / "dvc.lock").is_file()


def test_the_pipeline_refuses_data_that_differs_from_its_version(workspace: Workspace) -> None:
    store = workspace.data_store()
    try:
        store.committed_version("data/loan-default/train.parquet")
    except LineageError as error:
        assert "not versioned yet" in str(error)
    else:
        raise AssertionError("unversioned data was accepted")
    store.snapshot("data/loan-default/train.parquet", "data")
    path = workspace.path("data/loan-default/train.parquet")
    path.write_bytes(path.read_bytes() + b"\0")
    try:
        store.committed_version("data/loan-default/train.parquet")
    except LineageError as error:
        assert "differs from the committed version" in str(error)
    else:
        raise AssertionError("changed data was accepted")
