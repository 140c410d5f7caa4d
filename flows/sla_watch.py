"""The SLA watch flow: escalate tickets near or past their due time, once per level;
and open an incident for each model no monitoring cycle completed lately.

Each escalation is recorded on its ticket (evidence and history), sent to the
sponsor (and to the on-call once breached), emitted as the Prefect event
``zenops.ticket.escalated`` and listed in the ``sla-watch`` artifact. A model whose
last completed monitoring cycle is older than ``monitoring.stale_after`` gets one
``stale_monitoring`` ticket, and the on-call hears of it once; the ticket closes when a
cycle completes the model again. Deployed, the flow also runs when the monitor's
completed runs stop arriving (the deployment's proactive trigger, :mod:`flows.deployments`).
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from demand.escalation import Escalation
from flows.retries import STORE_RETRIES
from zenops.bootstrap import notify_escalations, notify_flow_failure, notify_stale
from zenops.services import sla_watch as steps
from zenops.workspace import Workspace


@task(name="find-escalations", cache_policy=NO_CACHE, **STORE_RETRIES)
def find(workspace: Workspace) -> tuple[list[Escalation], int]:
    return steps.find_escalations(workspace)


@task(name="record-escalation", cache_policy=NO_CACHE, **STORE_RETRIES)
def record(workspace: Workspace, escalation: Escalation) -> bool:
    return steps.record_escalation(workspace, escalation)


@task(name="notify-escalations", cache_policy=NO_CACHE)
def notify(workspace: Workspace, escalated: list[Escalation]) -> int:
    events = workspace.events()
    for escalation in escalated:
        steps.emit_escalated(events, escalation)
    return len(notify_escalations(workspace, escalated))


@task(name="watch-the-monitor", cache_policy=NO_CACHE, **STORE_RETRIES)
def watch_monitor(workspace: Workspace) -> tuple[list[dict[str, Any]], list[int]]:
    """Open (once) a ticket per model whose monitoring is stale, tell the on-call; close the recovered."""
    stale = steps.find_stale(workspace)
    found = []
    for item in stale:
        ticket, created = steps.open_stale_ticket(workspace, item)
        if created:
            notify_stale(workspace, item.to_dict(), ticket)
        found.append({**item.to_dict(), "ticket": ticket, "created": created})
    return found, steps.close_recovered(workspace, stale)


@flow(
    name="sla-watch",
    flow_run_name="sla watch",
    on_failure=[notify_flow_failure],
    on_crashed=[notify_flow_failure],
)
def sla_watch(workspace: str) -> dict[str, Any]:
    """Escalate the workspace's tickets that came near or past their due time since the last watch,
    and open an incident for each model whose monitoring went stale."""
    ws = Workspace(workspace)
    stale, recovered = watch_monitor(ws)
    found, watched = find(ws)
    escalated = [e for e in found if record(ws, e)]
    notify(ws, escalated)
    create_markdown_artifact(
        key="sla-watch",
        markdown=steps.watch_markdown(escalated, watched, stale),
        description=f"SLA watch: {len(escalated)} escalated, {len(stale)} stale",
    )
    return steps.watch_result(escalated, watched, stale, recovered)
