"""The training as a DVC pipeline: ``dvc.yaml`` and ``params.yaml`` in the workspace.

One stage per model runs ``zenops train MODEL --pipeline``: the same training
code as ``zenops train``, with the trainer's parameters read from
``params.yaml`` and the data taken as DVC already tracks it (``dvc repro`` holds
the repository lock, so the stage does not snapshot; it requires the data to
match its committed ``.dvc`` pointer). ``dvc repro`` re-runs a stage when the
model's data or parameters change.

:func:`train_stage` is the one definition of that stage: ``zenops init`` writes it
into the workspace, and the repository's own ``dvc.yaml`` holds the same stages
for the demo workspace its evaluation builds (``scripts/demo_workspace.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
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


def train_stage(spec: ModelSpec, workspace: str = "", code: Sequence[str] = ()) -> dict[str, Any]:
    """The ``dvc.yaml`` stage that trains ``spec``: ``zenops train MODEL --pipeline``.

    With ``workspace`` empty the paths are the workspace's own (the stage ``zenops
    init`` writes); otherwise ``workspace`` is the workspace's folder relative to the
    ``dvc.yaml`` that holds the stage, and ``code`` adds the source paths whose change
    should retrain (a repository's pipeline, where the code is not an installed
    package). Either way the command, data, parameters and metrics are the same.
    """

    def at(path: str) -> str:
        return str(PurePosixPath(workspace, path)) if workspace else path

    option = f"--workspace {workspace} " if workspace else ""
    return {
        "cmd": f"zenops {option}train {spec.name} --pipeline",
        "deps": [at(spec.training_data), *code],
        "params": [{at(PARAMS_FILE): [spec.name]}],
        "metrics": [{at(f"{METRICS_DIR}/{spec.name}.json"): {"cache": False}}],
    }


def train_stages(
    models: Iterable[ModelSpec], workspace: str = "", code: Sequence[str] = ()
) -> dict[str, dict[str, Any]]:
    """:func:`train_stage` of every model, by stage name."""
    return {stage_name(spec.name): train_stage(spec, workspace, code) for spec in models}


def pipeline(workspace: Workspace) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``dvc.yaml`` stages and the ``params.yaml`` content for every model."""
    models = workspace.config.models
    params = {spec.name: dict(spec.trainer.params) for spec in models}
    return {"stages": train_stages(models)}, params


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

    path.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return path
