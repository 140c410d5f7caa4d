"""The tickets a candidate answers: the rebuild it was built for, and every open rebuild of its model.

A candidate names its ticket (``zenops candidate --ticket ID`` or the value of its
``zenops.candidate`` tag); besides it, the model's open ``rebuild`` tickets — the one a
refresh's hand-back opened, the one monitoring opened for a performance lost beyond a
refresh — all ask for the same thing. A promoted candidate closes them all; a rejected
one adds its comparison to them as evidence and leaves them open, for the data
scientists.
"""

from __future__ import annotations

from demand.tickets import ACTIVE
from zenops.kernel.config import ModelSpec
from zenops.kernel.errors import NotFoundError
from zenops.ports import TicketRepository
from zenops.services.candidate.read import TICKET_KINDS
from zenops.services.refresh.tickets import add_evidence, close_tickets

__all__ = ["ACTOR", "add_evidence", "answered_tickets", "close_tickets"]

ACTOR = "zenops candidate"


def answered_tickets(
    tickets: TicketRepository, spec: ModelSpec, named: int | None
) -> tuple[list[int], list[str]]:
    """The open tickets a candidate answers (the named one first), and notes on a name not taken."""
    notes: list[str] = []
    found: list[int] = []
    if named is not None:
        ticket = _open_ticket(tickets, spec, named)
        if ticket is None:
            notes.append(
                f"ticket #{named} is not an open rebuild or refresh ticket of {spec.name}; not answered"
            )
        else:
            found.append(named)
    for ticket in tickets.list(status=ACTIVE, kind="rebuild", model=spec.name):
        if ticket.id not in found:
            found.append(int(ticket.id))  # type: ignore[arg-type]
    return found, notes


def _open_ticket(tickets: TicketRepository, spec: ModelSpec, ticket: int) -> int | None:
    try:
        found = tickets.get(ticket)
    except NotFoundError:  # a ticket that does not exist answers nothing
        return None
    ok = found.model == spec.name and found.kind in TICKET_KINDS and found.is_open
    return ticket if ok else None
