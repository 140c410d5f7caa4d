"""The training flow: version the data, train, log lineage, register.

One task per step, so the Prefect UI shows where the time went and which step
failed; retries only on the steps that talk to a store.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.retries import STORE_RETRIES
from zenops.kernel.config import ModelSpec
from zenops.services.train.pipeline import pipeline_params, write_metrics
from zenops.services.notify import notify_flow_failure
from zenops.services.train import steps
from zenops.workspace import Workspace


@task(name="snapshot-training-data", cache_policy=NO_CACHE, **STORE_RETRIES)
def snapshot(workspace: Workspace, spec: ModelSpec, pipeline: bool):
    if pipeline:  # dvc repro versions the data itself and holds the repository lock
        return workspace.data_store().committed_version(spec.training_data)
    return steps.snapshot_training_data(workspace, spec)


@task(name="load-training-data", cache_policy=NO_CACHE)
def load(workspace: Workspace, spec: ModelSpec):
    return steps.load_training_frame(workspace, spec)


@task(name="fit-and-evaluate", cache_policy=NO_CACHE)
def fit(spec: ModelSpec, frame):
    return steps.fit_model(spec, frame)


@task(name="log-and-register", cache_policy=NO_CACHE, **STORE_RETRIES)
def record(workspace: Workspace, spec: ModelSpec, version, result, frame):
    return steps.record_training(workspace, spec, version, result, frame)


@flow(
    name="train-model",
    flow_run_name="train {model}",
    log_prints=False,
    on_failure=[notify_flow_failure],
    on_crashed=[notify_flow_failure],
)
def train_model(model: str, workspace: str, pipeline: bool = False) -> dict[str, Any]:
    """Train ``model`` of the workspace at ``workspace`` with full lineage.

    ``pipeline``: run as the model's ``dvc repro`` stage (parameters from
    ``params.yaml``, data as DVC tracks it, metrics written for ``dvc metrics``).
    """
    ws = Workspace(workspace)
    spec = ws.config.model(model)  # fail fast on an unknown model
    if pipeline:
        spec = spec.model_copy(
            update={"trainer": spec.trainer.model_copy(update={"params": pipeline_params(ws, spec)})}
        )
    frame = load(ws, spec)
    version = snapshot(ws, spec, pipeline)
    result = fit(spec, frame)
    logged = record(ws, spec, version, result, frame)
    if pipeline:
        write_metrics(ws, model, result.metrics)
    outcome = steps.TrainOutcome(
        model=model,
        version=logged.version,
        run_id=logged.run_id,
        alias=logged.alias,
        data_rev=version.rev,
        data_md5=version.md5,
        metrics=result.metrics,
    )
    create_markdown_artifact(
        key=f"train-{model}",
        markdown=steps.training_markdown(outcome),
        description=f"Training of {model}",
    )
    return outcome.to_dict()
