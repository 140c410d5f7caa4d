"""``dvc repro`` of the repository's own pipeline, from a clean clone of the repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """The repository as committed, cloned; its stages import its own code."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    target = tmp_path / "zenops"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True, timeout=120)
    assert (target / "dvc.yaml").is_file(), "dvc.yaml is not committed"
    return target


def test_a_clean_clone_reproduces_the_planner_and_a_training_stage(prefect_api: str, clone: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ZENOPS_")}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env['PATH']}",
        PYTHONPATH=str(clone),
        PREFECT_API_URL=prefect_api,
        DVC_NO_ANALYTICS="1",
    )
    dvc = str(BIN / "dvc")
    dag = _run([dvc, "dag"], clone, env)
    for stage in ("demo-data", "train-loan-default", "train-demand-forecast", "policy", "planner"):
        assert stage in dag
    params = yaml.safe_load((clone / "params.yaml").read_text())
    params["demo"]["rows"] = 2000
    params["planner"]["sizes"] = [20]
    (clone / "params.yaml").write_text(yaml.safe_dump(params))

    _run([dvc, "repro", "planner", "train-loan-default"], clone, env)

    planner = json.loads((clone / "eval" / "metrics" / "planner.json").read_text())
    assert planner["20 tickets"]["cost"] <= planner["20 tickets"]["best_baseline_cost"]
    trained = json.loads((clone / "eval" / "workspace" / "metrics" / "loan-default.json").read_text())
    assert 0.5 < trained["roc_auc"] <= 1
    status = _run([dvc, "status", "demo-data", "train-loan-default", "planner"], clone, env)
    assert "up to date" in status
