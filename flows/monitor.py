"""The monitoring flow: one cycle over every model (or those named).

One task run per model, tagged with the model's name, run concurrently by the
flow's task runner; each task processes the model's pending batches in order.
A model's failure fails its task, not the others'; the flow then fails with the
names of the models that did.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait
from prefect.task_runners import ThreadPoolTaskRunner

from zenops import monitoring
from zenops.errors import ZenopsError
from zenops.workspace import Workspace


@task(name="monitor-model", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def monitor_model(workspace: Workspace, model: str) -> dict[str, Any]:
    from drift.engine import EvidentlyEngine

    spec = workspace.config.model(model)
    summary = monitoring.monitor_one_model(workspace, spec, EvidentlyEngine())
    create_markdown_artifact(
        key=f"monitor-{model}",
        markdown=monitoring.cycle_markdown(summary),
        description=f"Monitoring of {model}",
    )
    return summary


@flow(name="monitor-models", flow_run_name="monitor {workspace_name}")
def monitor_models(
    workspace: str, models: list[str] | None = None, workspace_name: str = "workspace"
) -> dict:
    """One monitoring cycle over ``models`` (default: all) of the workspace at ``workspace``."""
    ws = Workspace(workspace)
    names = models or [spec.name for spec in ws.config.models]
    for name in names:
        ws.config.model(name)  # unknown names fail the flow before any work
    monitoring.warm_up()
    futures = {name: monitor_model.with_options(tags=[f"model:{name}"]).submit(ws, name) for name in names}
    wait(list(futures.values()))
    results, failed = [], []
    for name, future in futures.items():
        if future.state.is_completed():
            results.append(future.result())
        else:
            failed.append(name)
    create_table_artifact(
        key="monitor-cycle",
        table=[
            {
                "model": r["model"],
                "rows": r["rows"],
                "verdict": r["verdict"],
                "drift_share": None if r["drift_share"] is None else round(r["drift_share"], 3),
                "ticket": r["ticket"],
            }
            for r in results
        ],
        description="Monitoring cycle: one row per model",
    )
    if failed:
        errors = "; ".join(f"{name}: {futures[name].state.message}" for name in failed)
        raise ZenopsError(f"monitoring failed for {', '.join(failed)} ({errors})")
    return {"models": results}


def run_cycle(workspace: Workspace, models: list[str] | None = None) -> dict:
    """One cycle now, with the task runner the workspace configures."""
    workers = workspace.config.monitoring.workers
    configured = monitor_models.with_options(task_runner=ThreadPoolTaskRunner(max_workers=workers))
    return configured(workspace=str(workspace.root), models=models, workspace_name=workspace.root.name)
