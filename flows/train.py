"""The training flow: version the data, train, log lineage, register.

One task per step, so the Prefect UI shows where the time went and which step
failed; retries only on the steps that talk to a store.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from zenops import train as steps
from zenops.workspace import Workspace

STORE_RETRIES = {"retries": 2, "retry_delay_seconds": 2}


@task(name="snapshot-training-data", cache_policy=NO_CACHE, **STORE_RETRIES)
def snapshot(workspace: Workspace, model: str):
    return steps.snapshot_training_data(workspace, workspace.config.model(model))


@task(name="load-training-data", cache_policy=NO_CACHE)
def load(workspace: Workspace, model: str):
    return steps.load_training_frame(workspace, workspace.config.model(model))


@task(name="fit-and-evaluate", cache_policy=NO_CACHE)
def fit(workspace: Workspace, model: str, frame):
    return steps.fit_model(workspace.config.model(model), frame)


@task(name="log-and-register", cache_policy=NO_CACHE, **STORE_RETRIES)
def record(workspace: Workspace, model: str, version, result, frame):
    return steps.record_training(workspace, workspace.config.model(model), version, result, frame)


@flow(name="train-model", flow_run_name="train {model}", log_prints=False)
def train_model(model: str, workspace: str) -> dict[str, Any]:
    """Train ``model`` of the workspace at ``workspace`` with full lineage."""
    ws = Workspace(workspace)
    ws.config.model(model)  # fail fast on an unknown model
    frame = load(ws, model)
    version = snapshot(ws, model)
    result = fit(ws, model, frame)
    logged = record(ws, model, version, result, frame)
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
