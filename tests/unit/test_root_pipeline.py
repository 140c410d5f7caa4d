"""The repository's own dvc.yaml: its training stages are the workspace's, and it stays runnable."""

from __future__ import annotations

import configparser
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import yaml

from zenops.services.train.pipeline import (
    METRICS_DIR,
    PARAMS_FILE,
    pipeline,
    stage_name,
    train_stage,
    train_stages,
)
from zenops.workspace import Workspace, example_config

ROOT = Path(__file__).resolve().parents[2]


def _script(name: str) -> ModuleType:
    """A script of ``scripts/``, loaded by path (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _root_stages() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def _workspace(tmp_path: Path) -> Workspace:
    (tmp_path / "zenops.yaml").write_text(example_config(), encoding="utf-8")
    return Workspace(tmp_path)


def test_the_root_training_stages_are_the_shared_definition() -> None:
    demo = _script("demo_workspace")
    expected = train_stages(demo.demo_models(), workspace=demo.WORKSPACE, code=demo.TRAINING_CODE)
    stages = _root_stages()
    committed = {name: stage for name, stage in stages.items() if name.startswith("train-")}
    assert list(committed) == list(expected), "run: python scripts/demo_workspace.py --stages"
    for name, stage in expected.items():
        assert committed[name] == stage, (
            f"dvc.yaml stage {name} differs from zenops.services.train.pipeline.train_stage; "
            "python scripts/demo_workspace.py --stages prints it"
        )
    assert demo.training_stages() == expected


def test_zenops_init_writes_the_same_stage_for_the_workspace(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path)
    stages, params = pipeline(workspace)
    models = workspace.config.models
    assert stages == {"stages": {stage_name(spec.name): train_stage(spec) for spec in models}}
    loan = stages["stages"]["train-loan-default"]
    assert loan == {
        "cmd": "zenops train loan-default --pipeline",
        "deps": ["data/loan-default/train.parquet"],
        "params": [{PARAMS_FILE: ["loan-default"]}],
        "metrics": [{f"{METRICS_DIR}/loan-default.json": {"cache": False}}],
    }
    assert params["loan-default"] == dict(models[0].trainer.params)


def test_the_root_stage_is_the_workspace_stage_seen_from_the_repository(tmp_path: Path) -> None:
    spec = _workspace(tmp_path).config.models[0]
    inside, outside = train_stage(spec), train_stage(spec, workspace="eval/ws", code=("zenops",))
    assert outside["cmd"] == inside["cmd"].replace("zenops ", "zenops --workspace eval/ws ", 1)
    assert outside["deps"] == [f"eval/ws/{inside['deps'][0]}", "zenops"]
    assert outside["params"] == [{f"eval/ws/{PARAMS_FILE}": [spec.name]}]
    assert outside["metrics"] == [{f"eval/ws/{METRICS_DIR}/{spec.name}.json": {"cache": False}}]


def _paths(entries: list) -> list[str]:
    return [entry if isinstance(entry, str) else next(iter(entry)) for entry in entries or []]


def test_every_dependency_of_the_root_pipeline_exists() -> None:
    """A moved module would make ``dvc repro`` fail on a missing dependency."""
    demo = _script("demo_workspace")
    produced = {path for stage in _root_stages().values() for path in _paths(stage.get("outs"))}
    for name, stage in _root_stages().items():
        for path in _paths(stage.get("deps")):
            assert (ROOT / path).exists() or path in produced, f"dvc.yaml {name}: {path} does not exist"
    data = _root_stages()["demo-data"]
    assert demo.WORKSPACE in data["cmd"]
    assert set(_paths(data["outs"])) == {
        f"{demo.WORKSPACE}/{spec.training_data}" for spec in demo.demo_models()
    }


def test_each_stage_takes_its_params_section_as_options() -> None:
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    for name, stage in _root_stages().items():
        commands = stage["cmd"] if isinstance(stage["cmd"], list) else [stage["cmd"]]
        used = {m for command in commands for m in re.findall(r"\$\{(\w[\w-]*)\}", command)}
        sections = {p for p in stage.get("params", []) if isinstance(p, str)}
        assert used == sections, f"dvc.yaml {name}: options {used} against params {sections}"
        for section in sections:
            assert isinstance(params[section], dict) and params[section], section


def test_the_repository_runs_dvc_without_analytics_and_keeps_eval_out_of_git() -> None:
    config = configparser.ConfigParser()
    config.read_string((ROOT / ".dvc" / "config").read_text(encoding="utf-8").replace("    ", ""))
    assert config["core"]["analytics"] == "false"
    assert "/eval/" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "__pycache__/" in (ROOT / ".dvcignore").read_text(encoding="utf-8").splitlines()


def test_the_headline_metrics_of_the_benchmarks() -> None:
    headline = _script("headline_metrics")
    planned = {
        "tickets": 20,
        "gap": 0.0,
        "planner_seconds": 0.2,
        "results": {
            "planner": {"cost": 90.0, "lateness": 80.0, "value": 9.0},
            "fifo": {"cost": 150.0, "lateness": 140.0, "value": 8.0},
            "wsjf": {"cost": 100.0, "lateness": 95.0, "value": 9.0},
        },
        "stability": {"assignments": 20, "moved": 3},
    }
    figures = headline.planner({"sizes": [planned]})["20 tickets"]
    assert figures["best_baseline_cost"] == 100.0 and figures["saving_vs_best_baseline"] == 0.1
    assert figures["replan_moved_share"] == 0.15
    goals = [{"goal": "a", "figure": 0.0, "met": True}, {"goal": "b", "figure": 0.4, "met": False}]
    assert headline.policy({"goals": goals, "seconds": 3.0}) == {
        "goals_met": 1,
        "goals": 2,
        "figures": {"a": 0.0, "b": 0.4},
        "seconds": 3.0,
    }
