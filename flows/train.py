"""The training flow: version the data, train, log lineage, register.

The training service's steps (:mod:`zenops.services.train.steps`), each a Prefect task,
so the Prefect UI shows where the time went and which step failed; the service
(:func:`zenops.services.train.run.train`) calls them in order. Retries only on the
steps that talk to a store.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.retries import STORE_RETRIES
from registry.versions import CHAMPION
from zenops.bootstrap import notify_flow_failure
from zenops.services.champion_profile import profile_champion
from zenops.services.train import run, steps
from zenops.services.train.steps import TrainPorts
from zenops.workspace import Workspace

#: The training's steps as tasks, by the names the service calls them.
TASKS = SimpleNamespace(
    load_training_frame=task(name="load-training-data", cache_policy=NO_CACHE)(steps.load_training_frame),
    training_data_version=task(name="snapshot-training-data", cache_policy=NO_CACHE, **STORE_RETRIES)(
        steps.training_data_version
    ),
    fit_model=task(name="fit-and-evaluate", cache_policy=NO_CACHE)(steps.fit_model),
    record_training=task(name="log-and-register", cache_policy=NO_CACHE, **STORE_RETRIES)(
        steps.record_training
    ),
)


#: The new champion's monitoring profile, built once here so the first cycle only reads it.
profile_task = task(name="profile-champion", cache_policy=NO_CACHE)(profile_champion)


def train_ports(workspace: Workspace) -> TrainPorts:
    """The training's ports, bound to the workspace's adapters (built once per workspace)."""
    return TrainPorts(workspace, workspace.registry(), workspace.data_store())


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
    outcome = run.train(train_ports(ws), spec, pipeline=pipeline, steps=TASKS)
    if outcome.alias == CHAMPION:
        profile_task(ws, spec, outcome.version)
    create_markdown_artifact(
        key=f"train-{model}",
        markdown=steps.training_markdown(outcome),
        description=f"Training of {model}",
    )
    return outcome.to_dict()
