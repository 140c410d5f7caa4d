"""The planning flow: a prioritised, capacity-aware plan of every open ticket.

Publishes the plan as a table artifact and a Gantt chart (Mermaid, with a table
beside it) so the Prefect UI answers "what is next, who does it, which SLA is at
risk, and why".
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from demand.gantt import plan_markdown
from zenops.bootstrap import notify_flow_failure
from zenops.services.plan import make_plan
from zenops.workspace import Workspace


@task(name="make-plan", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def plan_task(workspace: Workspace, crisis: bool):
    return make_plan(workspace, crisis=crisis)


@flow(
    name="plan-demand",
    flow_run_name="plan {mode}",
    on_failure=[notify_flow_failure],
    on_crashed=[notify_flow_failure],
)
def plan_demand(workspace: str, crisis: bool = False, mode: str = "normal") -> dict[str, Any]:
    """Plan the workspace's open tickets (``crisis``: operational work only)."""
    ws = Workspace(workspace)
    result = plan_task(ws, crisis)
    create_table_artifact(
        key="plan",
        table=[
            {
                "ticket": a.ticket,
                "title": a.title,
                "score": round(a.score, 2),
                "assignee": a.assignee,
                "reviewer": a.reviewer or "",
                "start": a.start.strftime("%Y-%m-%d %H:%M"),
                "end": a.end.strftime("%Y-%m-%d %H:%M"),
                "due": a.due.strftime("%Y-%m-%d"),
                "sla_at_risk": a.sla_at_risk,
            }
            for a in result.assignments
        ],
        description=f"Plan of {len(result.assignments)} tickets ({'crisis' if crisis else 'normal'} mode)",
    )
    create_markdown_artifact(
        key="plan-gantt", markdown=plan_markdown(result), description="Gantt chart of the plan"
    )
    return result.to_dict()


def run_plan(workspace: Workspace, crisis: bool = False) -> dict[str, Any]:
    return plan_demand(workspace=str(workspace.root), crisis=crisis, mode="crisis" if crisis else "normal")
