"""The team's plan from the workspace's tickets, team and resources."""

from __future__ import annotations

from typing import Any

from demand.planner import Plan, plan
from demand.priority import score
from demand.sla import tier_weights
from demand.tickets import ACTIVE, Ticket
from zenops.kernel import clock
from zenops.workspace import Workspace


def done_assets(tickets: list[Ticket]) -> set[str]:
    """Data assets that finished work produced: re-using them makes later work cheaper."""
    return {asset for t in tickets if t.status == "done" for asset in t.produces}


def make_plan(workspace: Workspace, crisis: bool = False) -> Plan:
    """Plan every active ticket on the team's capacity and the GPU pool, now."""
    config = workspace.config
    store = workspace.ticket_store()
    everything = store.list()
    return plan(
        [t for t in everything if t.status in ACTIVE],
        config.team,
        config.resources,
        config.planning,
        clock.now(),
        crisis=crisis,
        sla_weights=tier_weights(config.sla_tiers),
        done_assets=done_assets(everything),
    )


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
    }
