"""Training with full lineage: the steps, over the registry and data store ports.

Each step is a plain function of the ports and the model spec; :func:`zenops.services.
train.run.train` calls them in order, and the flow in ``flows/train.py`` runs each as a
Prefect task. Tests give the steps fakes of the ports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

import zenops
from registry import lineage
from registry.candidates import FEATURES, features_tag
from registry.ledger import headline
from registry.lineage import DataVersion, Lineage
from registry.promotion import first_champion, write_audit
from registry.versions import CHAMPION, LoggedTraining
from zenops.kernel import clock
from zenops.kernel.config import CONFIG_FILE, ModelSpec
from zenops.kernel.tabular import check_training_frame, read_table
from zenops.ports import DataStore, ModelRegistry
from zenops.services.train.fitting import TrainingResult, train_and_evaluate
from zenops.workspace import Workspace

__all__ = [
    "TrainOutcome",
    "TrainPorts",
    "fit_model",
    "load_training_frame",
    "record_training",
    "snapshot_training_data",
    "training_data_version",
    "training_markdown",
]


@dataclass(frozen=True)
class TrainPorts:
    """What a training works with: the workspace (configuration, files) and two stores."""

    workspace: Workspace
    registry: ModelRegistry
    data: DataStore


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


def snapshot_training_data(data: DataStore, spec: ModelSpec) -> DataVersion:
    """Version the training data: dvc add, push to the remote, git commit."""
    return data.snapshot(spec.training_data, f"data: {spec.name} training data")


def training_data_version(ports: TrainPorts, spec: ModelSpec, pipeline: bool) -> DataVersion:
    """The data version this training records: a new snapshot, or, in ``dvc repro``, the committed one.

    ``dvc repro`` versions the data itself and holds the repository lock, so a pipeline
    stage takes the version HEAD holds (checked against the work tree).
    """
    if pipeline:
        return ports.data.committed_version(spec.training_data)
    return snapshot_training_data(ports.data, spec)


def fit_model(spec: ModelSpec, frame: pd.DataFrame) -> TrainingResult:
    """Train on the seeded split and evaluate on the holdout."""
    return train_and_evaluate(spec, frame, where=f"{CONFIG_FILE}: model '{spec.name}' trainer")


def record_training(
    ports: TrainPorts,
    spec: ModelSpec,
    version: DataVersion,
    result: TrainingResult,
    frame: pd.DataFrame,
    extra_tags: dict[str, str] | None = None,
    run_name: str | None = None,
) -> LoggedTraining:
    """Log the run with its lineage, register a version; the first version becomes champion."""
    registry = ports.registry
    trail = Lineage(
        data=version,
        trainer=spec.trainer.reference,
        code_rev=ports.data.head() or version.rev,
        code_version=zenops.__version__,
    )
    features = features_tag(spec.features.numerical, spec.features.categorical)
    tags = {
        **trail.tags(),
        FEATURES: features,
        lineage.MODEL: spec.name,
        lineage.RUN_KIND: "training",
        **(extra_tags or {}),
    }
    run_id, model_uri = registry.log_training(
        spec.name,
        run_name=run_name or f"train {spec.name}",
        fitted=result.model,
        params=dict(spec.trainer.params),
        metrics=result.metrics,
        tags=tags,
        train_frame=frame,
        holdout=result.holdout,
        data_source=str(ports.workspace.path(spec.training_data)),
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
        _audit_first_champion(registry, spec, model_version, result)
    return LoggedTraining(model=spec.name, version=model_version, run_id=run_id, alias=alias)


def _audit_first_champion(
    registry: ModelRegistry, spec: ModelSpec, version: str, result: TrainingResult
) -> None:
    """The ledger's first entry: the first version trained becomes champion."""
    metric = spec.metric_name
    value = result.metrics.get(metric)
    reason = f"first version of {spec.name}, trained with full lineage" + (
        f" (holdout {metric} {value:.4f})" if isinstance(value, float) else ""
    )
    write_audit(
        registry,
        first_champion(spec.name, version),
        at=clock.now(),
        reason=reason,
        ticket=None,
        actor="zenops train",
        evidence={"headline": {**headline(None, reason), "holdout": dict(result.metrics)}},
    )


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
