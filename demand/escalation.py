"""SLA escalation: which open tickets are near or past their due time, as pure decisions.

A ticket is *near* its due time once less than ``near_share`` of its SLA window
(due time minus opening time) is left, and *breached* once the due time has
passed. The SLA watch escalates each ticket once per level: a ticket first seen
breached is escalated as breached only, and a ticket already escalated as
breached is never escalated as near again. What was escalated is remembered in
the ticket's own evidence (an item with ``event: sla_escalation``), so the rule
needs no state of its own and a repeated watch changes nothing.

Nothing here stores or sends: :func:`due_escalations` returns the decisions and
:func:`escalation_evidence` the evidence a repository appends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from demand.tickets import Ticket

NEAR, BREACHED = "near", "breached"
LEVELS = (NEAR, BREACHED)
EVIDENCE_EVENT = "sla_escalation"


@dataclass(frozen=True)
class Escalation:
    """One ticket to escalate: who it concerns, how late it is, and at what level."""

    ticket: int
    kind: str
    model: str | None
    sponsor: str | None
    title: str
    level: str  # NEAR | BREACHED
    due: datetime
    hours_left: float  # negative once breached

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticket": self.ticket,
            "kind": self.kind,
            "model": self.model,
            "sponsor": self.sponsor,
            "title": self.title,
            "level": self.level,
            "due": self.due.isoformat(),
            "hours_left": round(self.hours_left, 2),
        }

    @property
    def summary(self) -> str:
        """``#12 refresh of loan-default: SLA breached 5.0 h ago``, for logs and tables."""
        subject = f"{self.kind} of {self.model}" if self.model else self.kind
        when = (
            f"SLA breached {-self.hours_left:.1f} h ago"
            if self.level == BREACHED
            else f"due in {self.hours_left:.1f} h"
        )
        return f"#{self.ticket} {subject}: {when}"


def level_at(ticket: Ticket, now: datetime, near_share: float) -> str | None:
    """The escalation level ``ticket`` has reached at ``now``, or None while it is on time."""
    if not ticket.is_open:
        return None
    if now > ticket.due:
        return BREACHED
    window = (ticket.due - ticket.created).total_seconds()
    left = (ticket.due - now).total_seconds()
    if window > 0 and left < near_share * window:
        return NEAR
    return None


def escalated_levels(ticket: Ticket) -> set[str]:
    """The levels ``ticket`` has already been escalated at, read from its evidence."""
    return {
        str(item.get("level"))
        for item in ticket.evidence
        if item.get("event") == EVIDENCE_EVENT and item.get("level") in LEVELS
    }


def due_escalations(
    tickets: Iterable[Ticket], now: datetime, near_share: float, kinds: Iterable[str]
) -> list[Escalation]:
    """The escalations the watch owes at ``now``, most overdue first."""
    watched = set(kinds)
    found = []
    for ticket in tickets:
        if ticket.id is None or ticket.kind not in watched:
            continue
        level = level_at(ticket, now, near_share)
        done = escalated_levels(ticket)
        if level is None or level in done or (level == NEAR and BREACHED in done):
            continue
        found.append(
            Escalation(
                ticket=ticket.id,
                kind=ticket.kind,
                model=ticket.model,
                sponsor=ticket.sponsor,
                title=ticket.title,
                level=level,
                due=ticket.due,
                hours_left=(ticket.due - now).total_seconds() / 3600,
            )
        )
    return sorted(found, key=lambda e: (e.hours_left, e.ticket))


def escalation_evidence(escalation: Escalation, now: datetime) -> dict[str, Any]:
    """The evidence item that records ``escalation`` on its ticket."""
    return {
        "event": EVIDENCE_EVENT,
        "level": escalation.level,
        "at": now.isoformat(),
        "due": escalation.due.isoformat(),
        "hours_left": round(escalation.hours_left, 2),
    }
