"""A candidate's evaluation from start to end: its steps, in order, written once.

Read the candidate and check it, then, holding the model's refresh limit (one
evaluation, refresh or rollback of a model at a time): stand down when another
evaluation decided it meanwhile; re-hydrate its training data; gather the labelled
production rows it never trained on, newer than its data; compare it with the
champion on them by the refresh's own gate; then promote it (aliases, audit, its
tickets closed: all or nothing), make it wait for approval when the model asks for
one, or reject it (the ledger and its tickets say why; nothing moves).

The :class:`~zenops.services.refresh.context.Runner` says how the steps run, as for a
refresh: plain calls by default, or the flow's Prefect tasks with its concurrency limit
and transaction.
"""

from __future__ import annotations

from typing import Any

from registry import candidates
from registry.approval import STATE, WAITING
from registry.promotion import CANDIDATE_PROMOTED, AuditRecord
from registry.versions import CHAMPION
from zenops.kernel.config import ModelSpec
from zenops.services.candidate import steps as plain_steps
from zenops.services.candidate.read import CandidateRef
from zenops.services.candidate.tickets import ACTOR
from zenops.services.refresh.approval import ApprovalRequest
from zenops.services.refresh.compare import Comparison
from zenops.services.refresh.context import RefreshPorts, Runner
from zenops.services.refresh.outcome import json_ready
from zenops.services.refresh.promote import aliases_now, undo_promotion
from zenops.services.refresh.rehydrate import ChampionRef

__all__ = ["AWAITING_APPROVAL", "PROMOTED", "REJECTED", "SUPERSEDED", "evaluate", "stand_down_reason"]

PROMOTED, REJECTED, AWAITING_APPROVAL, SUPERSEDED = "promoted", "rejected", "awaiting_approval", "superseded"


def evaluate(
    ports: RefreshPorts,
    spec: ModelSpec,
    version: str,
    ticket: int | None = None,
    *,
    on_event: bool = False,
    flow_run: str | None = None,
    run: Runner | None = None,
) -> dict[str, Any]:
    """Evaluate ``version`` of ``spec``'s model as a candidate; returns the outcome (see :func:`outcome`).

    ``ticket`` is the ticket it answers (default: the one its ``zenops.candidate`` tag
    names). ``on_event``: an event started it (the ``evaluate-candidate`` deployment), so a
    candidate decided before (even rejected) is not evaluated again.
    """
    run = run or Runner(steps=plain_steps)
    s = run.steps
    candidate: CandidateRef = s.read_candidate(ports, spec, version)
    with run.exclusive():
        serving, reason = stand_down_reason(ports, spec, candidate.version, on_event)
        if reason:
            return outcome(
                spec, candidate, SUPERSEDED, serving, None, notes=[reason], flow_run=flow_run, run=run
            )
        champion: ChampionRef = s.read_champion(ports, spec)
        tickets, notes = s.answered_tickets(ports, spec, ticket if ticket is not None else candidate.ticket)
        data = s.rehydrate_candidate(ports, candidate)
        rows, skipped = s.production_rows(ports, spec, data)
        split = s.candidate_window(spec, rows, data)
        model = s.load_candidate(ports, candidate)
        comparison: Comparison = s.compare_and_record(ports, spec, champion, model, split, candidate.run_id)
        common = {"tickets": tickets, "notes": [*notes, *skipped], "flow_run": flow_run, "run": run}
        if not comparison.promote:
            audit = s.reject_candidate(ports, candidate, champion.version, comparison, tickets, flow_run)
            return outcome(spec, candidate, REJECTED, champion.version, comparison, audit_run=audit, **common)
        if spec.promotion.approval == "required":
            request = ApprovalRequest(
                spec.name,
                candidate.version,
                champion.version,
                "candidate",
                comparison,
                tuple(tickets),
                flow_run,
            )
            approval = s.request_approval(ports, spec, request)
            return outcome(
                spec,
                candidate,
                AWAITING_APPROVAL,
                champion.version,
                comparison,
                approval_ticket=approval,
                **common,
            )
        audit, closed = _promote(ports, spec, candidate, champion, comparison, tickets, flow_run, run)
        return outcome(
            spec,
            candidate,
            PROMOTED,
            candidate.version,
            comparison,
            audit_run=audit.run_id,
            closed_tickets=closed,
            champion_version=champion.version,
            **common,
        )


def stand_down_reason(
    ports: RefreshPorts, spec: ModelSpec, version: str, on_event: bool
) -> tuple[str | None, str | None]:
    """The version serving now, and why this evaluation should not go on (None: it should).

    Not when the candidate is the champion now or was promoted, not while it waits for
    approval, and, for an event's evaluation, not when it was rejected before (the
    command evaluates it again on request).
    """
    registry = ports.registry
    serving = registry.aliases(spec.name).get(CHAMPION)
    tags = registry.version_tags(spec.name, version)
    decision = tags.get(candidates.DECISION)
    when = tags.get(candidates.DECIDED_AT, "")[:16].replace("T", " ")
    if serving == version or decision == candidates.PROMOTED:
        return serving, f"version {version} is the champion already: another evaluation promoted it"
    if decision == candidates.AWAITING_APPROVAL and tags.get(STATE) == WAITING:
        return (
            serving,
            f"version {version} waits for approval already (ticket #{tags.get('zenops.approval.ticket')})",
        )
    if on_event and decision == candidates.REJECTED:
        return serving, (
            f"version {version} was rejected on {when}; 'zenops candidate {spec.name} --version {version}' "
            "evaluates it again"
        )
    return serving, None


def _promote(
    ports: RefreshPorts,
    spec: ModelSpec,
    candidate: CandidateRef,
    champion: ChampionRef,
    comparison: Comparison,
    tickets: list[int],
    flow_run: str | None,
    run: Runner,
) -> tuple[AuditRecord, list[int]]:
    """Move the aliases, audit and close the tickets, all or nothing; then the new champion's profile."""
    s = run.steps
    before = aliases_now(ports.registry, spec.name)
    audit: AuditRecord | None = None
    try:
        with run.promotion():
            move = s.move_aliases(ports, spec.name, candidate.version, champion.version, CANDIDATE_PROMOTED)
            ticket = tickets[0] if tickets else None
            audit = s.write_promotion_audit(ports, move, ticket, comparison, flow_run, ACTOR, "candidate")
            closed = s.close_candidate_promoted(ports, candidate, move, comparison, audit, tickets)
    except Exception:
        undo_promotion(ports.registry, spec.name, before, audit)
        raise
    s.profile_champion(ports.profile_stores(), spec, candidate.version)
    return audit, closed


def outcome(
    spec: ModelSpec,
    candidate: CandidateRef,
    decision: str,
    serving: str | None,
    comparison: Comparison | None,
    *,
    tickets: list[int] | None = None,
    notes: list[str] | None = None,
    flow_run: str | None = None,
    run: Runner | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The evaluation's result: ``model``, ``champion_version`` (compared with), ``candidate_version``,
    ``comparison``, ``decision``, ``ticket`` (the one it answers first), ``tickets``,
    ``serving_version``, ``notes``, ``flow_run``, ``waits``; and, by decision,
    ``closed_tickets``, ``approval_ticket``, ``audit_run``."""
    found = {
        "model": spec.name,
        "champion_version": extra.pop("champion_version", serving),
        "candidate_version": candidate.version,
        "comparison": comparison.to_dict() if comparison is not None else {},
        "decision": decision,
        "ticket": (tickets or [None])[0] if tickets else candidate.ticket,
        "tickets": list(tickets or []),
        "serving_version": serving,
        "run_id": candidate.run_id,
        "notes": list(notes or []),
        "flow_run": flow_run,
        "waits": dict(run.waits) if run is not None else {},
        **extra,
    }
    return json_ready(found)
