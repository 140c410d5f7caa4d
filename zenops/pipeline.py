"""The training as a DVC pipeline: ``dvc.yaml`` and ``params.yaml`` in the workspace.

One stage per model runs ``zenops train MODEL --pipeline``: the same training
code as ``zenops train``, with the trainer's parameters read from
``params.yaml`` and the data taken as DVC already tracks it (``dvc repro`` holds
the repository lock, so the stage does not snapshot; it requires the data to
match its committed ``.dvc`` pointer). ``dvc repro`` re-runs a stage when the
model's data or parameters change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from zenops.kernel.config import ModelSpec
from zenops.kernel.errors import ConfigError
from zenops.workspace import Workspace

PARAMS_FILE = "params.yaml"
PIPELINE_FILE = "dvc.yaml"
METRICS_DIR = "metrics"


def stage_name(model: str) -> str:
    return f"train-{model}"


def pipeline(workspace: Workspace) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``dvc.yaml`` stages and the ``params.yaml`` content for every model."""
    stages: dict[str, Any] = {}
    params: dict[str, Any] = {}
    for spec in workspace.config.models:
        params[spec.name] = dict(spec.trainer.params)
        stages[stage_name(spec.name)] = {
            "cmd": f"zenops train {spec.name} --pipeline",
            "deps": [spec.training_data],
            "params": [{PARAMS_FILE: [spec.name]}],
            "metrics": [{f"{METRICS_DIR}/{spec.name}.json": {"cache": False}}],
        }
    return {"stages": stages}, params


def write_pipeline(workspace: Workspace) -> list[str]:
    """Write ``dvc.yaml`` and ``params.yaml`` when missing; returns the files written."""
    stages, params = pipeline(workspace)
    written = []
    for name, content in ((PIPELINE_FILE, stages), (PARAMS_FILE, params)):
        path = workspace.root / name
        if not path.exists():
            path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
            written.append(name)
    return written


def pipeline_params(workspace: Workspace, spec: ModelSpec) -> dict[str, Any]:
    """The trainer parameters of ``spec`` as ``params.yaml`` sets them."""
    path = workspace.root / PARAMS_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (zenops init writes it)") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    value = data.get(spec.name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {spec.name}: must map parameter names to values")
    return value


def write_metrics(workspace: Workspace, model: str, metrics: dict[str, float]) -> Path:
    """The stage's metrics file, which ``dvc metrics show`` reads."""
    path = workspace.root / METRICS_DIR / f"{model}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    import json

    path.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return path
