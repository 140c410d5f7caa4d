"""The team's plan from the workspace's tickets, team and resources, and what it publishes."""

from __future__ import annotations

from typing import Any

from demand.chart import draw_chart
from demand.planner import Plan, plan
from demand.priority import score
from demand.sla import tier_weights
from demand.tickets import Ticket
from zenops.kernel import clock
from zenops.workspace import Workspace


def mode(crisis: bool) -> str:
    """The plan's mode: ``crisis`` or ``normal``."""
    return "crisis" if crisis else "normal"


def done_assets(tickets: list[Ticket]) -> set[str]:
    """Data assets that finished work produced: re-using them makes later work cheaper."""
    return {asset for t in tickets if t.status == "done" for asset in t.produces}


def make_plan(workspace: Workspace, crisis: bool = False) -> Plan:
    """Plan every active ticket on the team's capacity and the GPU pool, now.

    The last published plan of the same mode is kept where moving it does not pay.
    """
    config = workspace.config
    everything = workspace.ticket_store().list()
    return plan(
        everything,
        config.team,
        config.resources,
        config.planning,
        clock.now(),
        crisis=crisis,
        sla_weights=tier_weights(config.sla_tiers),
        done_assets=done_assets(everything),
        previous=workspace.plan_log().last(mode(crisis)),
    )


def publish(workspace: Workspace, result: Plan) -> None:
    """Keep the plan's assignments, so that the next plan moves them only when that pays."""
    workspace.plan_log().record(result.now, mode(result.crisis), result.planned())


def chart(workspace: Workspace, result: Plan, fmt: str = "png") -> bytes:
    """The plan as a PNG or SVG Gantt chart, the GPU pool's use under it."""
    return draw_chart(result, workspace.config.resources.gpus, fmt)


def ticket_row(ticket: Ticket, workspace: Workspace, assets: set[str]) -> dict[str, Any]:
    """A ticket as ``zenops tickets list`` reports it (interface keys first)."""
    priority = score(ticket, clock.now(), workspace.config.planning, assets)
    return {
        "id": ticket.id,
        "kind": ticket.kind,
        "model": ticket.model,
        "status": ticket.status,
        "due": ticket.due.isoformat(),
        "priority": round(priority.total, 3),
        "title": ticket.title,
        "sponsor": ticket.sponsor,
        "value": ticket.value,
        "effort": ticket.effort,
        "evidence": len(ticket.evidence),
        "phases": [p.name for p in ticket.phases],
        "after": list(ticket.after),
    }
