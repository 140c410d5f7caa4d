"""Opening a ticket a person asks for, and showing one with whether the plan can take it."""

from __future__ import annotations

from typing import Any

from demand.intake import plannable, take_in
from demand.priority import score
from demand.tickets import Ticket, TicketDraft, new_ticket
from zenops.kernel import clock
from zenops.kernel.errors import UsageError
from zenops.services.plan import done_assets
from zenops.workspace import Workspace


def open_ticket(workspace: Workspace, draft: TicketDraft, actor: str) -> tuple[Ticket, bool]:
    """Validate a draft against the workspace and store it (a repeat adds its evidence).

    Besides each field's own checks, a ticket no plan could take is refused: a phase (or
    the work) nobody on the team may do, GPUs beyond the pool. The store refuses waits
    for unknown or cancelled tickets and cycles of waits. Nothing is stored on refusal.
    """
    config = workspace.config
    ticket = new_ticket(
        draft,
        now=clock.now(),
        sla_tiers=config.sla_tiers,
        models=config.models,
        team=config.team,
        templates=config.planning.phases,
    )
    if config.team:
        why = plannable(ticket, config.team, config.resources)
        if why is not None:
            raise UsageError(why)
    return workspace.ticket_store().open_or_update(ticket, actor=actor)


def ticket_details(workspace: Workspace, ticket_id: int) -> dict[str, Any]:
    """A ticket's fields, score breakdown, history, and why the plan cannot take it (if so)."""
    config = workspace.config
    store = workspace.ticket_store()
    everything = store.list()
    found = store.get(ticket_id)
    breakdown = score(found, clock.now(), config.planning, done_assets(everything))
    intake = take_in(everything, config.team, config.resources, crisis=False)
    left_out = next((why for t, why in intake.unplannable if t.id == ticket_id), None)
    return {
        **found.to_dict(),
        "priority": breakdown.to_dict(),
        "explain": breakdown.explain(),
        "plannable": found.is_open and left_out is None,
        "unplannable_reason": left_out,
        "history": [event.to_dict() for event in store.history(ticket_id)],
    }
