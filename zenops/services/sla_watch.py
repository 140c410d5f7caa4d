"""The SLA watch's steps: find the tickets near or past due, record each escalation once.

The rule is pure (:mod:`demand.escalation`); these functions read the ticket store,
re-check each ticket just before recording (so two watches at once escalate a
ticket once), emit each escalation on the event bus, and render what the Prefect UI
shows.
"""

from __future__ import annotations

from typing import Any

from demand.escalation import Escalation, due_escalations, escalated_levels, escalation_evidence
from demand.tickets import ACTIVE
from zenops.kernel import clock
from zenops.ports import EventBus
from zenops.workspace import Workspace

ACTOR = "zenops sla-watch"


def find_escalations(workspace: Workspace) -> tuple[list[Escalation], int]:
    """The escalations owed now, and how many active tickets were watched."""
    policy = workspace.config.sla_watch
    tickets = workspace.ticket_store().list(status=ACTIVE)
    return due_escalations(tickets, clock.now(), policy.near_share, policy.kinds), len(tickets)


def record_escalation(workspace: Workspace, escalation: Escalation) -> bool:
    """Append the escalation to its ticket's evidence; False if it was recorded meanwhile."""
    store = workspace.ticket_store()
    current = store.get(escalation.ticket)
    if not current.is_open or escalation.level in escalated_levels(current):
        return False
    store.add_evidence(escalation.ticket, escalation_evidence(escalation, clock.now()), actor=ACTOR)
    return True


def emit_escalated(events: EventBus, escalation: Escalation) -> None:
    """The event ``zenops.ticket.escalated``, for automations that act on SLA risk."""
    resource = {
        "prefect.resource.id": f"zenops.ticket.{escalation.ticket}",
        "prefect.resource.name": escalation.title,
        "zenops.level": escalation.level,
        "zenops.kind": escalation.kind,
    }
    related = []
    if escalation.model:
        related.append(
            {
                "prefect.resource.id": f"zenops.model.{escalation.model}",
                "prefect.resource.role": "model",
                "prefect.resource.name": escalation.model,
            }
        )
    events.emit(
        event="zenops.ticket.escalated",
        resource=resource,
        related=related,
        payload=escalation.to_dict(),
    )


def watch_markdown(escalated: list[Escalation], watched: int) -> str:
    """The ``sla-watch`` artifact: what was escalated now, and why."""
    lines = [f"# SLA watch: {len(escalated)} escalated of {watched} active tickets", ""]
    if not escalated:
        lines.append("No ticket reached a new escalation level.")
        return "\n".join(lines) + "\n"
    lines += [
        "| ticket | kind | model | sponsor | level | due | hours left |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in escalated:
        lines.append(
            f"| #{e.ticket} | {e.kind} | {e.model or '—'} | {e.sponsor or '—'} | {e.level} "
            f"| {e.due.strftime('%Y-%m-%d %H:%M')} | {e.hours_left:.1f} |"
        )
    return "\n".join(lines) + "\n"


def watch_result(escalated: list[Escalation], watched: int) -> dict[str, Any]:
    return {"watched": watched, "escalations": [e.to_dict() for e in escalated]}
