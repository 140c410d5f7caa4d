"""The planning flow: a prioritised, capacity-aware plan of every open ticket.

Publishes the plan so the Prefect UI answers "what is next, who does it, which SLA is
at risk, and why": a table artifact (``plan``), the Gantt chart as a picture with the
figures, a table and the Mermaid text beside it (``plan-gantt``), and each sponsor's
view (``plan-sponsors``). The plan's assignments are kept (the plan log), so the next
plan moves them only when that pays.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from demand.gantt import plan_markdown
from demand.planner import Plan
from demand.sponsors import sponsors_markdown
from zenops.bootstrap import notify_flow_failure
from zenops.services.plan import chart, make_plan, publish
from zenops.services.sponsors import WINDOW_DAYS, views
from zenops.workspace import Workspace


@task(name="make-plan", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def plan_task(workspace: Workspace, crisis: bool) -> Plan:
    return make_plan(workspace, crisis=crisis)


@task(name="draw-chart", cache_policy=NO_CACHE)
def chart_task(workspace: Workspace, result: Plan, fmt: str) -> bytes:
    return chart(workspace, result, fmt)


@task(name="publish-plan", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def publish_task(workspace: Workspace, result: Plan) -> None:
    publish(workspace, result)


@flow(
    name="plan-demand",
    flow_run_name="plan {mode}",
    on_failure=[notify_flow_failure],
    on_crashed=[notify_flow_failure],
)
def plan_demand(
    workspace: str, crisis: bool = False, mode: str = "normal", chart_file: str | None = None
) -> dict[str, Any]:
    """Plan the workspace's open tickets (``crisis``: operational work only).

    ``chart_file``: also write the chart there (``.png`` or ``.svg``).
    """
    ws = Workspace(workspace)
    result = plan_task(ws, crisis)
    png = chart_task(ws, result, "png") if result.assignments else None
    create_table_artifact(
        key="plan",
        table=[_row(a) for a in result.assignments],
        description=f"Plan of {len(result.assignments)} tickets ({'crisis' if crisis else 'normal'} mode)",
    )
    create_markdown_artifact(
        key="plan-gantt",
        markdown=_with_picture(plan_markdown(result), png),
        description="Gantt chart of the plan",
    )
    create_markdown_artifact(
        key="plan-sponsors",
        markdown=sponsors_markdown(views(ws, result), WINDOW_DAYS),
        description="Each sponsor's planned and delivered work",
    )
    publish_task(ws, result)
    data = result.to_dict()
    if chart_file:
        path = Path(chart_file)
        fmt = path.suffix.lstrip(".").lower()
        picture = png if fmt == "png" and png is not None else chart_task(ws, result, fmt)
        path.write_bytes(picture)
        data["chart"] = str(path.resolve())
    return data


def _row(a: Any) -> dict[str, Any]:
    return {
        "ticket": a.ticket,
        "title": a.title,
        "score": round(a.score, 2),
        "assignee": a.assignee,
        "reviewer": a.reviewer or "",
        "phases": ", ".join(f"{p.name} {p.assignee or ''}".strip() for p in a.phases),
        "start": a.start.strftime("%Y-%m-%d %H:%M"),
        "end": a.end.strftime("%Y-%m-%d %H:%M"),
        "due": a.due.strftime("%Y-%m-%d"),
        "sla_at_risk": a.sla_at_risk,
    }


def _with_picture(markdown: str, png: bytes | None) -> str:
    """The plan's markdown with the chart embedded under its first paragraph (a data: URI)."""
    if png is None:
        return markdown
    head, sep, rest = markdown.partition("\n\n")
    picture = f"![the plan as a Gantt chart](data:image/png;base64,{base64.b64encode(png).decode()})"
    return f"{head}{sep}{picture}\n\n{rest}"


def run_plan(workspace: Workspace, crisis: bool = False, chart_file: str | None = None) -> dict[str, Any]:
    return plan_demand(
        workspace=str(workspace.root),
        crisis=crisis,
        mode="crisis" if crisis else "normal",
        chart_file=chart_file,
    )
