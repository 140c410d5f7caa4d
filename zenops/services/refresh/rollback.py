"""Rollback: the previous champion serves again, audited like a promotion."""

from __future__ import annotations

from typing import Any

from registry.promotion import (
    CHAMPION_TICKET,
    AliasMove,
    AuditRecord,
    alias_snapshot,
    restore_aliases,
    roll_back,
    undo_audit,
    write_audit,
)
from registry.versions import PREVIOUS_CHAMPION
from zenops.kernel import clock
from zenops.services.champion_profile import profile_champion
from zenops.services.refresh.context import RefreshPorts
from zenops.services.refresh.outcome import ROLLBACK_ACTOR

__all__ = ["rollback"]


def rollback(ports: RefreshPorts, model: str, actor: str = ROLLBACK_ACTOR) -> dict[str, Any]:
    """Restore the previous champion; the replaced champion becomes ``previous-champion``.

    Audited like a promotion (an audit run and ``zenops.champion.*`` version tags)
    and, when the replaced champion was promoted on a ticket, as evidence on that
    ticket. If the audit cannot be written, the aliases are put back. No previous
    champion is a :class:`~zenops.kernel.errors.NotFoundError`.
    """
    ports.workspace.config.model(model)
    registry = ports.registry
    before = alias_snapshot(registry, model)
    move = roll_back(registry, model)
    at = clock.now()
    audit: AuditRecord | None = None
    try:
        reason = f"rollback: version {move.champion_to} restored in place of version {move.champion_from}"
        audit = write_audit(
            registry, move, at=at, reason=reason, ticket=None, actor=actor, evidence={"requested_by": actor}
        )
        ticket = _note_on_ticket(ports, model, move, audit, actor, at.isoformat())
    except BaseException:
        restore_aliases(registry, model, before)
        if audit is not None:
            undo_audit(registry, model, audit)
        raise
    profile_champion(ports.profile_stores(), ports.workspace.config.model(model), move.champion_to)
    return {
        "model": model,
        "champion_version": move.champion_to,
        "previous_champion_version": move.after.get(PREVIOUS_CHAMPION),
        "rolled_back_from": move.champion_from,
        "aliases_before": move.before,
        "aliases_after": move.after,
        "audit_run": audit.run_id,
        "ticket": ticket,
        "at": at.isoformat(),
    }


def _note_on_ticket(
    ports: RefreshPorts, model: str, move: AliasMove, audit: AuditRecord, actor: str, at: str
) -> int | None:
    """Evidence of the rollback on the ticket the replaced champion was promoted on, if any."""
    replaced = move.champion_from
    if replaced is None:
        return None
    tagged = ports.registry.version_tags(model, replaced).get(CHAMPION_TICKET)
    ticket = int(tagged) if tagged and tagged.isdigit() else None
    if ticket is not None:
        ports.tickets.add_evidence(
            ticket,
            {
                "event": "rolled_back",
                "at": at,
                "champion_version": move.champion_to,
                "replaced_version": replaced,
                "audit_run": audit.run_id,
                "actor": actor,
            },
            actor=actor,
        )
    return ticket
