"""The training use case from start to end: its steps, in order, written once.

``steps`` is where the steps come from: :mod:`zenops.services.train.steps` itself by
default (plain calls, as the unit tests run it), or the flow's namespace of the same
steps as Prefect tasks (``flows/train.py``), with the same names and arguments.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from zenops.kernel.config import ModelSpec
from zenops.services.train import steps as plain_steps
from zenops.services.train.pipeline import pipeline_params, write_metrics
from zenops.services.train.steps import TrainOutcome, TrainPorts

__all__ = ["pipeline_spec", "train"]


def pipeline_spec(ports: TrainPorts, spec: ModelSpec) -> ModelSpec:
    """``spec`` with the trainer parameters ``params.yaml`` sets (a ``dvc repro`` stage)."""
    params = pipeline_params(ports.workspace, spec)
    return spec.model_copy(update={"trainer": spec.trainer.model_copy(update={"params": params})})


def train(
    ports: TrainPorts, spec: ModelSpec, *, pipeline: bool = False, steps: ModuleType | Any = plain_steps
) -> TrainOutcome:
    """Version the data, train, log the lineage and register; the first version becomes champion.

    ``pipeline``: run as the model's ``dvc repro`` stage (parameters from ``params.yaml``,
    data as DVC tracks it, metrics written for ``dvc metrics``).
    """
    if pipeline:
        spec = pipeline_spec(ports, spec)
    frame = steps.load_training_frame(ports.workspace, spec)
    version = steps.training_data_version(ports, spec, pipeline)
    result = steps.fit_model(spec, frame)
    logged = steps.record_training(ports, spec, version, result, frame)
    if pipeline:
        write_metrics(ports.workspace, spec.name, result.metrics)
    return TrainOutcome(
        model=spec.name,
        version=logged.version,
        run_id=logged.run_id,
        alias=logged.alias,
        data_rev=version.rev,
        data_md5=version.md5,
        metrics=result.metrics,
    )
