"""The changes of a ticket, each a pure function ``(ticket, ...) -> (new ticket, TicketEvent)``.

Moves along the status machine (:data:`demand.tickets.MOVES`), closing with an
outcome, the ethics approval, evidence, and the event of an opening. The repositories
persist what these return; nothing here sends or stores anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from demand.tickets import MOVES, TERMINAL, Ticket, TicketEvent, as_utc, check_status, evidence_item
from zenops.kernel.errors import TransitionError, UsageError

__all__ = ["add_evidence", "approve", "close", "move", "opened"]


def move(
    ticket: Ticket, to: str, *, now: datetime, note: str | None = None, actor: str | None = None
) -> tuple[Ticket, TicketEvent]:
    """Move a ticket to status ``to`` if the status machine allows it."""
    check_status(to)
    if to not in MOVES[ticket.status]:
        raise TransitionError(f"ticket {_ident(ticket)}: cannot move from {ticket.status} to {to}")
    now = as_utc(now, "now")
    moved = replace(ticket, status=to, updated=now, status_note=note)
    detail: dict[str, Any] = {"from": ticket.status, "to": to}
    if note:
        detail["note"] = note
    return moved, TicketEvent(at=now, action="moved", ticket=ticket.id, actor=actor, detail=detail)


def close(
    ticket: Ticket, *, outcome: str, status: str = "done", now: datetime, actor: str | None = None
) -> tuple[Ticket, TicketEvent]:
    """Finish a ticket as ``done`` or ``cancelled``, recording its outcome."""
    if status not in TERMINAL:
        raise UsageError(f"status: a ticket closes as done or cancelled, not '{status}'")
    moved, _ = move(ticket, status, now=now, actor=actor)
    closed = replace(moved, outcome=outcome)
    detail = {"from": ticket.status, "to": status, "outcome": outcome}
    return closed, TicketEvent(
        at=closed.updated, action="closed", ticket=ticket.id, actor=actor, detail=detail
    )


def approve(ticket: Ticket, *, by: str, now: datetime) -> tuple[Ticket, TicketEvent]:
    """Grant a ticket's ethics approval: from now on its work may start."""
    if not ticket.ethics_required:
        raise UsageError(f"ticket {_ident(ticket)}: needs no ethics approval")
    if not ticket.is_open:
        raise TransitionError(f"ticket {_ident(ticket)}: cannot approve a {ticket.status} ticket")
    if not by or not str(by).strip():
        raise UsageError("by: name who approves")
    now = as_utc(now, "now")
    approved = replace(
        ticket, ethics_approved=True, approved_by=str(by).strip(), approved_at=now, updated=now
    )
    event = TicketEvent(at=now, action="approved", ticket=ticket.id, actor=approved.approved_by)
    return approved, event


def add_evidence(
    ticket: Ticket, evidence: Mapping[str, Any], *, now: datetime, actor: str | None = None
) -> tuple[Ticket, TicketEvent]:
    """Append one piece of evidence (a JSON-ready mapping) to a ticket.

    Evidence names its source: one item per ``batch`` of one ``champion_version``.
    A batch reported again (a cycle re-done after a crash) replaces its earlier
    item instead of adding a second one, so no batch is counted twice.
    """
    item = evidence_item(evidence)
    now = as_utc(now, "now")
    kept = tuple(e for e in ticket.evidence if not _same_source(e, item))
    updated = replace(ticket, evidence=(*kept, item), updated=now)
    return updated, TicketEvent(at=now, action="evidence", ticket=ticket.id, actor=actor, detail=item)


def opened(ticket: Ticket, actor: str | None = None) -> TicketEvent:
    """The event recording that ``ticket`` was opened."""
    detail: dict[str, Any] = {"kind": ticket.kind, "due": ticket.due.isoformat()}
    if ticket.idempotency_key:
        detail["idempotency_key"] = ticket.idempotency_key
    return TicketEvent(at=ticket.created, action="opened", ticket=ticket.id, actor=actor, detail=detail)


def _same_source(earlier: Mapping[str, Any], item: Mapping[str, Any]) -> bool:
    if item.get("batch") is None or "champion_version" not in item:
        return False
    same_batch = earlier.get("batch") == item["batch"]
    return same_batch and earlier.get("champion_version") == item["champion_version"]


def _ident(ticket: Ticket) -> str:
    return str(ticket.id) if ticket.id is not None else "(new)"
