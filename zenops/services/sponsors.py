"""The sponsors' view: per sponsor, the planned work and why it sits where it does, and the
work delivered in a window with how its SLAs were kept (see :mod:`demand.sponsors`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from demand.planner import Plan
from demand.sponsors import SponsorView, sponsor_views
from demand.tickets import Ticket
from zenops.services.plan import make_plan
from zenops.workspace import Workspace

WINDOW_DAYS = 90.0


def closed_times(workspace: Workspace, tickets: list[Ticket], since: datetime) -> dict[int, datetime]:
    """When each ticket done since ``since`` was closed, from its history."""
    store = workspace.ticket_store()
    out: dict[int, datetime] = {}
    for ticket in tickets:
        if ticket.status != "done" or ticket.updated < since:
            continue
        closings = [e.at for e in store.history(ticket.id) if e.action == "closed"]  # type: ignore[arg-type]
        out[ticket.id] = closings[-1] if closings else ticket.updated  # type: ignore[index]
    return out


def views(
    workspace: Workspace, result: Plan, sponsor: str | None = None, window_days: float = WINDOW_DAYS
) -> list[SponsorView]:
    """Each sponsor's view of ``result`` and of the work done in the last ``window_days``."""
    tickets = workspace.ticket_store().list()
    closed = closed_times(workspace, tickets, result.now - timedelta(days=window_days))
    return sponsor_views(result, tickets, closed, window_days, sponsor)


def sponsors_report(
    workspace: Workspace, sponsor: str | None = None, window_days: float = WINDOW_DAYS
) -> dict[str, Any]:
    """The sponsors' views of a plan made now: ``zenops report sponsors``'s document."""
    result = make_plan(workspace)
    found = views(workspace, result, sponsor, window_days)
    return {
        "now": result.now.isoformat(),
        "window_days": window_days,
        "sponsors": [view.to_dict() for view in found],
    }
