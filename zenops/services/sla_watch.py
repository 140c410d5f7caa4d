"""The SLA watch's steps: find the tickets near or past due, record each escalation once;
and watch the watcher: a model no monitoring cycle completed lately is an incident.

The escalation rule is pure (:mod:`demand.escalation`); these functions read the ticket
store, re-check each ticket just before recording (so two watches at once escalate a
ticket once), emit each escalation on the event bus, and render what the Prefect UI
shows.

A model whose last completed monitoring cycle (the workspace's cycle log, written by the
monitor flow) is older than ``monitoring.stale_after`` gets one ``stale_monitoring``
ticket (incident ``monitor``: a watch finding it again opens nothing new), and the
on-call hears of it once; the ticket closes itself once a cycle completes the model
again. A model no cycle ever completed is not watched yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from demand.escalation import Escalation, due_escalations, escalated_levels, escalation_evidence
from demand.tickets import ACTIVE, TicketDraft, incident_key
from zenops.kernel import clock
from zenops.ports import EventBus
from zenops.workspace import Workspace

ACTOR = "zenops sla-watch"
STALE_KIND, STALE_INCIDENT = "stale_monitoring", "monitor"


@dataclass(frozen=True)
class Stale:
    """A model whose monitoring has not completed within ``stale_after``."""

    model: str
    last: datetime
    age: timedelta
    stale_after: timedelta

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "last_cycle": self.last.isoformat(),
            "age_hours": round(self.age.total_seconds() / 3600, 2),
            "stale_after_hours": round(self.stale_after.total_seconds() / 3600, 2),
        }


def stale_models(
    last: Mapping[str, datetime], models: Iterable[str], now: datetime, after: timedelta
) -> list[Stale]:
    """The ``models`` whose last completed cycle is older than ``after`` (never completed: not watched)."""
    found = []
    for model in models:
        when = last.get(model)
        if when is not None and now - when > after:
            found.append(Stale(model, when, now - when, after))
    return found


def find_stale(workspace: Workspace) -> list[Stale]:
    """The workspace's models no monitoring cycle completed within ``monitoring.stale_after``."""
    config = workspace.config
    last = workspace.cycle_log().last_completed()
    return stale_models(last, [spec.name for spec in config.models], clock.now(), config.stale_after)


def open_stale_ticket(workspace: Workspace, stale: Stale) -> tuple[int, bool]:
    """The model's ``stale_monitoring`` ticket, opened once; returns it and whether it is new."""
    store = workspace.ticket_store()
    key = incident_key(stale.model, STALE_KIND, STALE_INCIDENT)
    for ticket in store.list(status=ACTIVE, kind=STALE_KIND, model=stale.model):
        if ticket.idempotency_key == key:
            return int(ticket.id), False  # type: ignore[arg-type]
    hours = stale.age.total_seconds() / 3600
    draft = TicketDraft(
        kind=STALE_KIND,
        title=f"Monitoring stale: {stale.model} not watched for {hours:.1f} h",
        model=stale.model,
        incident=STALE_INCIDENT,
        evidence={"event": "monitoring_stale", "at": clock.now().isoformat(), **stale.to_dict()},
        notes=(
            f"No monitoring cycle completed {stale.model} since {stale.last.isoformat()} "
            f"(monitoring.stale_after {stale.stale_after}); check the monitor deployment "
            "(zenops serve, or the work pool's worker) and its last flow runs."
        ),
    )
    stored, created = store.open_or_update(draft, actor=ACTOR)
    return int(stored.id), created  # type: ignore[arg-type]


def close_recovered(workspace: Workspace, stale: Iterable[Stale]) -> list[int]:
    """Close the ``stale_monitoring`` tickets of models a cycle completed again; the ones closed."""
    still = {item.model for item in stale}
    store = workspace.ticket_store()
    last = workspace.cycle_log().last_completed()
    closed = []
    for ticket in store.list(status=ACTIVE, kind=STALE_KIND):
        if ticket.model in still or ticket.model not in last:
            continue
        outcome = f"monitoring resumed: a cycle completed {ticket.model} at {last[ticket.model].isoformat()}"
        if ticket.status != "in_progress":
            store.transition(int(ticket.id), "in_progress", note=outcome, actor=ACTOR)  # type: ignore[arg-type]
        store.close(int(ticket.id), outcome=outcome, actor=ACTOR)  # type: ignore[arg-type]
        closed.append(int(ticket.id))  # type: ignore[arg-type]
    return closed


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


def watch_markdown(
    escalated: list[Escalation], watched: int, stale: list[dict[str, Any]] | None = None
) -> str:
    """The ``sla-watch`` artifact: what was escalated now, and why; models no cycle watched lately."""
    lines = [f"# SLA watch: {len(escalated)} escalated of {watched} active tickets", ""]
    for item in stale or []:
        lines.append(
            f"- **monitoring stale**: {item['model']} last completed a cycle at {item['last_cycle']} "
            f"({item['age_hours']:.1f} h ago, over {item['stale_after_hours']:.1f} h): "
            f"ticket #{item['ticket']}"
        )
    if stale:
        lines.append("")
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


def watch_result(
    escalated: list[Escalation],
    watched: int,
    stale: list[dict[str, Any]] | None = None,
    recovered: list[int] | None = None,
) -> dict[str, Any]:
    return {
        "watched": watched,
        "escalations": [e.to_dict() for e in escalated],
        "stale": list(stale or []),
        "recovered": list(recovered or []),
    }
