"""The monitoring flow: one cycle over every model (or those named).

The flow is the monitor service's steps (:mod:`zenops.services.monitor.cycle`):

1. check the names (an unknown model fails the flow before any work);
2. per model, the task ``monitor-model`` (run name ``monitor MODEL``, tag
   ``model:MODEL``): the model's pending batches in order under its lease, and the
   model's markdown artifact. It reads and writes the stores, so it is the one step
   tried again after a store failure (``monitoring.retries``): a retry resumes at the
   watermark, so no batch is done twice;
3. the cycle's table artifact and the ``fleet`` table (``zenops status``), then the
   result, or a failure that names each model that failed with its error (a model's
   failure fails its task, not the others');
4. beside them: each model whose task completed is recorded in the workspace's cycle
   log (the SLA watch's watch on the monitor), and ``notice-candidates`` announces the
   versions tagged ``zenops.candidate`` that no registry webhook announced yet
   (:mod:`zenops.services.candidate.notice`).

The tasks fan out on the runner ``monitoring.runner`` chooses (threads, processes or
Dask; :mod:`flows.runners`), whether the flow runs from the command line, a deployment
or ``zenops serve``. The model's lease lives in the workspace database, so two
overlapping cycles — under one Prefect server, two, or none — never process a batch
twice, and a cycle killed mid-way stops no later one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait

from flows.model_pool import Listeners, model_pool
from flows.retries import STORE_RETRIES, store_retries
from flows.runners import describe, task_runner
from zenops.bootstrap import notify_flow_failure, notify_incident
from zenops.kernel import clock
from zenops.kernel.errors import ZenopsError
from zenops.services.candidate.notice import notice_candidates
from zenops.services.monitor import cycle as monitoring
from zenops.services.status import fleet_rows, workspace_status
from zenops.workspace import Workspace


@task(name="monitor-model", task_run_name="monitor {model}", cache_policy=NO_CACHE)
def monitor_model(workspace: Workspace, model: str) -> dict[str, Any]:
    """The model's pending batches, under its lease; a new ticket is announced at once."""
    from prefect.runtime import flow_run

    spec = workspace.config.model(model)

    def announce(outcome: dict[str, Any]) -> None:
        notify_incident(workspace, spec, outcome, flow_run.id)

    settings = workspace.config.monitoring
    if settings.runner == "process":
        listeners = Listeners(incident=announce, event=lambda event: workspace.events().emit(**event))
        summary = model_pool(settings.workers).monitor(str(workspace.root), model, listeners)
    else:
        summary = monitoring.monitor_leased(
            workspace, spec, workspace.drift_engine(), on_ticket_opened=lambda o: announce(o.to_dict())
        )
    create_markdown_artifact(
        key=f"monitor-{model}",
        markdown=monitoring.cycle_markdown(summary),
        description=f"Monitoring of {model}",
    )
    return summary


@task(name="notice-candidates", cache_policy=NO_CACHE, **STORE_RETRIES)
def notice(workspace: Workspace, models: list[str]) -> list[dict[str, str]]:
    """Announce the tagged candidates of ``models`` no webhook announced yet."""
    return notice_candidates(workspace.registry(), workspace.events(), models)


def failure_message(state: Any) -> str:
    """The error a failed task ended with, in one line."""
    try:
        error = state.result(raise_on_failure=False)
    except Exception as unreadable:  # the result itself could not be read
        error = unreadable
    if isinstance(error, ZenopsError):
        return str(error)
    return " ".join(str(state.message or state.name).split())


def cycle_name() -> str:
    """``monitor NAME``: the flow run named by the workspace it monitors."""
    from prefect.runtime import flow_run

    parameters = flow_run.parameters or {}
    name = parameters.get("workspace_name") or Path(str(parameters.get("workspace", ""))).name
    return f"monitor {name or 'workspace'}"


@flow(
    name="monitor-models",
    flow_run_name=cycle_name,
    on_failure=[notify_flow_failure],
    on_crashed=[notify_flow_failure],
)
def monitor_models(
    workspace: str, models: list[str] | None = None, workspace_name: str | None = None
) -> dict:
    """One monitoring cycle over ``models`` (default: all) of the workspace at ``workspace``."""
    ws = Workspace(workspace)
    names = models or [spec.name for spec in ws.config.models]
    for name in names:
        ws.config.model(name)  # unknown names fail the flow before any work
    settings = ws.config.monitoring
    if settings.runner == "process":
        model_pool(settings.workers).warm()
    retries = store_retries(settings.retries, settings.retry_delay_s)
    results, failed = [], {}
    with task_runner(settings) as runner:
        futures = {
            name: runner.submit(
                monitor_model.with_options(tags=[f"model:{name}"], **retries),
                parameters={"workspace": ws, "model": name},
            )
            for name in names
        }
        wait(list(futures.values()))
        for name, future in futures.items():
            if future.state.is_completed():
                results.append(future.result())
            else:
                failed[name] = failure_message(future.state)
    if results:
        ws.cycle_log().completed([r["model"] for r in results], clock.now())
    # Only the models whose cycle completed: a failed one's error (a store down) is the flow's.
    announced = notice(ws, [r["model"] for r in results])
    create_table_artifact(
        key="monitor-cycle",
        table=monitoring.cycle_table(results, list(failed)),
        description=f"Monitoring cycle ({describe(settings)}): one row per model",
    )
    publish_fleet(ws)
    if failed:
        errors = "; ".join(f"{name}: {message}" for name, message in failed.items())
        raise ZenopsError(f"monitoring failed for {', '.join(failed)} ({errors})")
    return {"models": results, "candidates": announced}


def publish_fleet(workspace: Workspace) -> None:
    """The ``fleet`` table artifact: ``zenops status`` as the Prefect UI shows it."""
    try:
        rows = fleet_rows(workspace_status(workspace))
    except ZenopsError as error:  # the cycle's own results stand; the view is left out, said once
        get_run_logger().warning("fleet view not published: %s", error)
        return
    create_table_artifact(key="fleet", table=rows, description="The fleet: one row per model")


def run_cycle(workspace: Workspace, models: list[str] | None = None) -> dict:
    """One cycle now, on the task runner the workspace configures.

    The process runner's workers start first, so they get ready while the flow run starts.
    """
    settings = workspace.config.monitoring
    if settings.runner == "process":
        model_pool(settings.workers).warm()
    return monitor_models(workspace=str(workspace.root), models=models, workspace_name=workspace.root.name)
