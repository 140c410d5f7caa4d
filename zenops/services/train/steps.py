"""Training with full lineage: the steps the training flow calls.

Each step is a plain function of the workspace and the model spec, so the flow
stays a short list of task calls and tests can call the steps directly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

import zenops
from registry import lineage
from registry.lineage import DataVersion, Lineage
from registry.versions import CHAMPION, LoggedTraining
from zenops.kernel.config import CONFIG_FILE, ModelSpec
from zenops.kernel.tabular import check_training_frame, read_table
from zenops.services.train.fitting import TrainingResult, train_and_evaluate
from zenops.workspace import Workspace


@dataclass(frozen=True)
class TrainOutcome:
    """What ``zenops train`` reports (JSON keys are part of the interface)."""

    model: str
    version: str
    run_id: str
    alias: str | None
    data_rev: str
    data_md5: str
    metrics: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_training_frame(workspace: Workspace, spec: ModelSpec) -> pd.DataFrame:
    """The model's training data from the work tree, checked against its spec."""
    frame = read_table(workspace.path(spec.training_data), label=spec.training_data)
    return check_training_frame(frame, spec, spec.training_data, str(workspace.config_path.name))


def snapshot_training_data(workspace: Workspace, spec: ModelSpec) -> DataVersion:
    """Version the training data: dvc add, push to the remote, git commit."""
    return workspace.data_store().snapshot(spec.training_data, f"data: {spec.name} training data")


def fit_model(spec: ModelSpec, frame: pd.DataFrame) -> TrainingResult:
    """Train on the seeded split and evaluate on the holdout."""
    return train_and_evaluate(spec, frame, where=f"{CONFIG_FILE}: model '{spec.name}' trainer")


def record_training(
    workspace: Workspace,
    spec: ModelSpec,
    version: DataVersion,
    result: TrainingResult,
    frame: pd.DataFrame,
    extra_tags: dict[str, str] | None = None,
    run_name: str | None = None,
) -> LoggedTraining:
    """Log the run with its lineage, register a version; first version becomes champion."""
    registry = workspace.registry()
    code_rev = workspace.data_store().git.head() or version.rev
    trail = Lineage(
        data=version, trainer=spec.trainer.reference, code_rev=code_rev, code_version=zenops.__version__
    )
    tags = {**trail.tags(), lineage.MODEL: spec.name, lineage.RUN_KIND: "training", **(extra_tags or {})}
    run_id, model_uri = registry.log_training(
        spec.name,
        run_name=run_name or f"train {spec.name}",
        fitted=result.model,
        params=dict(spec.trainer.params),
        metrics=result.metrics,
        tags=tags,
        train_frame=frame,
        holdout=result.holdout,
        data_source=str(workspace.path(spec.training_data)),
        data_name=f"{spec.training_data}@{version.rev[:10]}",
        target=spec.target,
        features=spec.features.all,
        extra_params={
            "holdout_fraction": spec.holdout_fraction,
            "seed": spec.seed,
            "train_rows": result.train_rows,
        },
    )
    model_version = registry.register(spec.name, model_uri, run_id, tags=trail.tags())
    alias = None
    if registry.alias(spec.name, CHAMPION) is None:
        registry.set_alias(spec.name, CHAMPION, model_version)
        alias = CHAMPION
    return LoggedTraining(model=spec.name, version=model_version, run_id=run_id, alias=alias)


def training_markdown(outcome: TrainOutcome) -> str:
    """The Prefect artifact of a training run: what was registered, from which data."""
    rows = "\n".join(f"| {name} | {value:.4f} |" for name, value in sorted(outcome.metrics.items()))
    return (
        f"# {outcome.model} version {outcome.version}\n\n"
        f"- alias: `{outcome.alias or 'none'}`\n"
        f"- MLflow run: `{outcome.run_id}`\n"
        f"- data: rev `{outcome.data_rev[:10]}`, md5 `{outcome.data_md5}`\n\n"
        f"| holdout metric | value |\n|---|---|\n{rows}\n"
    )
