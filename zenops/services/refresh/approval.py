"""Promotions that wait for a person: the request a passed gate makes, then approve or reject.

For a model whose spec says ``promotion: {approval: required}``, a challenger (a
refresh) or candidate that passes the gate is not promoted: :func:`request_approval`
gives it the ``challenger`` alias and the ``zenops.approval.*`` version tags
(:mod:`registry.approval`), opens the model's ``approval`` ticket (one at a time: a
newer version that passes takes the older one's place, and the ticket carries both as
evidence), records the request in the ledger, and notes it on the tickets the work
answered, which stay open.

:func:`approve` (``zenops approve MODEL VERSION --by NAME``) promotes the waiting version
— the alias move, its audit (the approver as actor), the approval ticket and the tickets
the work answered closed: all or nothing, as a refresh's promotion — when ``NAME`` is in
the team, the version is the one waiting and the champion is still the one it was
compared with. :func:`reject` turns it down: recorded in the ledger, the approval ticket
closed, a refresh ticket closed with the refusal, rebuild tickets left open for the data
scientists. The ``challenger`` alias stays, as after a hand-back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from demand.tickets import TicketDraft
from registry import approval, candidates
from registry.approval import Waiting, check_waiting, waiting_version
from registry.ledger import headline
from registry.promotion import (
    APPROVAL_REJECTED,
    APPROVAL_REQUESTED,
    APPROVED,
    AliasMove,
    AuditRecord,
    write_decision,
)
from registry.versions import CHALLENGER, CHAMPION
from zenops.kernel import clock
from zenops.kernel.config import ModelSpec
from zenops.services.champion_profile import profile_champion
from zenops.services.refresh.compare import Comparison
from zenops.services.refresh.context import RefreshPorts, Runner
from zenops.services.refresh.outcome import json_ready
from zenops.services.refresh.promote import aliases_now, move_aliases, undo_promotion, write_promotion_audit
from zenops.services.refresh.tickets import add_evidence, close_tickets

__all__ = ["STEPS", "ApprovalRequest", "approve", "close_approved", "reject", "request_approval"]

ACTOR = "zenops approval"
INCIDENT = "promotion"


@dataclass(frozen=True)
class ApprovalRequest:
    """A version that passed the gate of a model whose promotions wait for approval."""

    model: str
    version: str
    champion: str
    source: str  # refresh | candidate
    comparison: Comparison
    origin: tuple[int, ...] = ()
    flow_run: str | None = None
    notes: list[str] = field(default_factory=list)


def request_approval(ports: RefreshPorts, spec: ModelSpec, request: ApprovalRequest) -> int:
    """Make ``request.version`` the one waiting for approval; returns the approval ticket."""
    registry, model, version = ports.registry, spec.name, request.version
    earlier = waiting_version(model, registry.all_version_tags(model))
    if earlier is not None and earlier.version != version:
        registry.set_version_tag(model, earlier.version, approval.STATE, approval.SUPERSEDED)
    registry.set_alias(model, CHALLENGER, version)
    summary = request.comparison.summary()
    evidence = json_ready(
        {
            "event": "approval_requested",
            "at": clock.now().isoformat(),
            "version": version,
            "champion_version": request.champion,
            "source": request.source,
            "answers": list(request.origin),
            "supersedes": earlier.version if earlier is not None and earlier.version != version else None,
            "reasons": request.comparison.reasons,
            "comparison": request.comparison.to_dict(),
        }
    )
    draft = TicketDraft(
        kind="approval",
        title=f"Approve {model}: version {version} passed the promotion gate",
        model=model,
        incident=INCIDENT,
        evidence=evidence,
        notes=f"zenops approve {model} VERSION --by NAME (or zenops reject); {summary}",
    )
    stored, _ = ports.tickets.open_or_update(draft, actor=ACTOR)
    ticket = int(stored.id)  # type: ignore[arg-type]
    waiting = Waiting(model, version, ticket, request.champion, request.source, request.origin)
    for key, value in waiting.tags().items():
        registry.set_version_tag(model, version, key, value)
    if request.source == "candidate":
        registry.set_version_tag(model, version, candidates.DECISION, candidates.AWAITING_APPROVAL)
        registry.set_version_tag(model, version, candidates.DECIDED_AT, clock.now().isoformat())
    reason = f"{request.source}: passed the gate, waits for approval on ticket #{ticket}: {summary}"
    write_decision(
        registry,
        model,
        APPROVAL_REQUESTED,
        champion=request.champion,
        version=version,
        at=clock.now(),
        reason=reason,
        ticket=ticket,
        actor=f"zenops {request.source}",
        evidence={
            "headline": headline(request.comparison.to_dict(), reason),
            "flow_run": request.flow_run,
            "comparison": request.comparison.to_dict(),
        },
    )
    note = {
        "event": "awaiting_approval",
        "at": clock.now().isoformat(),
        "approval_ticket": ticket,
        "version": version,
    }
    add_evidence(ports.tickets, request.origin, note, actor=ACTOR)
    return ticket


def _waiting(ports: RefreshPorts, spec: ModelSpec, version: str, by: str, same_champion: bool) -> Waiting:
    ports.workspace.config.member(by)
    versions = ports.registry.all_version_tags(spec.name)
    champion = ports.registry.aliases(spec.name).get(CHAMPION)
    found = waiting_version(spec.name, versions)
    return check_waiting(spec.name, version, found, versions, champion, same_champion=same_champion)


def approve(
    ports: RefreshPorts, spec: ModelSpec, version: str, by: str, *, run: Runner, flow_run: str | None = None
) -> dict[str, Any]:
    """Promote the waiting ``version`` on ``by``'s approval (see the module's notes)."""
    waiting = _waiting(ports, spec, version, by, same_champion=True)
    registry = ports.registry
    info = registry.version(spec.name, waiting.version)
    comparison = Comparison.from_dict(registry.read_run_dict(info.run_id, "comparison.json"))
    before = aliases_now(registry, spec.name)
    audit: AuditRecord | None = None
    s = run.steps
    champion = waiting.champion or before.get(CHAMPION) or ""
    try:
        with run.promotion():
            move = s.move_aliases(ports, spec.name, waiting.version, champion, APPROVED)
            audit = s.write_promotion_audit(
                ports, move, waiting.ticket, comparison, flow_run, by, f"approved by {by}"
            )
            closed = s.close_approved(ports, waiting, move, comparison, by)
    except Exception:
        undo_promotion(registry, spec.name, before, audit)
        raise
    s.profile_champion(ports.profile_stores(), spec, waiting.version)
    return {
        "model": spec.name,
        "version": waiting.version,
        "decision": "approved",
        "by": by,
        "champion_version": waiting.version,
        "previous_champion_version": move.champion_from,
        "approval_ticket": waiting.ticket,
        "closed_tickets": closed,
        "comparison": comparison.to_dict(),
        "audit_run": audit.run_id,
        "flow_run": flow_run,
    }


def close_approved(
    ports: RefreshPorts, waiting: Waiting, move: AliasMove, comparison: Comparison, by: str
) -> list[int]:
    """After an approved move: the version's tags, the approval ticket and the tickets it answered closed."""
    registry, model = ports.registry, waiting.model
    registry.set_version_tag(model, waiting.version, approval.STATE, approval.APPROVED)
    if waiting.source == "candidate":
        registry.set_version_tag(model, waiting.version, candidates.DECISION, candidates.PROMOTED)
        registry.set_version_tag(model, waiting.version, candidates.DECIDED_AT, clock.now().isoformat())
    outcome = (
        f"approved by {by}: version {move.champion_to} promoted over {move.champion_from}: "
        f"{comparison.summary()}"
    )
    evidence = json_ready(
        {
            "event": "promoted",
            "at": clock.now().isoformat(),
            "model": model,
            "champion_version": move.champion_to,
            "previous_champion_version": move.champion_from,
            "approved_by": by,
            "aliases_before": move.before,
            "aliases_after": move.after,
            "comparison": comparison.to_dict(),
        }
    )
    tickets = [t for t in (waiting.ticket, *waiting.origin) if t is not None]
    return close_tickets(ports.tickets, tickets, outcome, evidence, actor=by)


def reject(
    ports: RefreshPorts, spec: ModelSpec, version: str, by: str, *, flow_run: str | None = None
) -> dict[str, Any]:
    """Turn the waiting ``version`` down on ``by``'s word; nothing moves (see the module's notes)."""
    waiting = _waiting(ports, spec, version, by, same_champion=False)
    registry, store = ports.registry, ports.tickets
    champion = registry.aliases(spec.name).get(CHAMPION)
    registry.set_version_tag(spec.name, waiting.version, approval.STATE, approval.REJECTED)
    if waiting.source == "candidate":
        registry.set_version_tag(spec.name, waiting.version, candidates.DECISION, candidates.REJECTED)
        registry.set_version_tag(spec.name, waiting.version, candidates.DECIDED_AT, clock.now().isoformat())
    reason = f"rejected by {by}: version {waiting.version} stays unpromoted; version {champion} serves"
    run_id = write_decision(
        registry,
        spec.name,
        APPROVAL_REJECTED,
        champion=champion,
        version=waiting.version,
        at=clock.now(),
        reason=reason,
        ticket=waiting.ticket,
        actor=by,
        evidence={"headline": {"reason": reason}, "flow_run": flow_run},
    )
    evidence = {
        "event": "approval_rejected",
        "at": clock.now().isoformat(),
        "version": waiting.version,
        "by": by,
    }
    closed = close_tickets(store, [waiting.ticket] if waiting.ticket else [], reason, evidence, actor=by)
    refreshes = [t for t in waiting.origin if store.get(t).kind == "refresh"]
    closed += close_tickets(store, refreshes, reason, evidence, actor=by)
    add_evidence(
        store, [t for t in waiting.origin if t not in refreshes and store.get(t).is_open], evidence, actor=by
    )
    return {
        "model": spec.name,
        "version": waiting.version,
        "decision": "rejected",
        "by": by,
        "champion_version": champion,
        "approval_ticket": waiting.ticket,
        "closed_tickets": closed,
        "audit_run": run_id,
        "flow_run": flow_run,
    }


#: The steps :func:`approve` calls, as plain calls (the approval flow gives Prefect tasks of them).
STEPS = SimpleNamespace(
    move_aliases=move_aliases,
    write_promotion_audit=write_promotion_audit,
    close_approved=close_approved,
    profile_champion=profile_champion,
)
