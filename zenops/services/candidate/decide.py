"""What a candidate's comparison leads to: promoted (its tickets closed) or rejected (its owner told).

The promotion itself is the refresh's: the alias move with its audit
(:mod:`zenops.services.refresh.promote`), inside the runner's transaction; this module
adds what is a candidate's own — its version tags, the tickets it answers, and the
ledger's record of a rejection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from registry import candidates
from registry.ledger import headline
from registry.promotion import CANDIDATE_REJECTED, AliasMove, AuditRecord, write_decision
from zenops.kernel import clock
from zenops.services.candidate.read import CandidateRef
from zenops.services.candidate.tickets import ACTOR, add_evidence, close_tickets
from zenops.services.refresh.compare import Comparison
from zenops.services.refresh.context import RefreshPorts
from zenops.services.refresh.outcome import json_ready

__all__ = ["close_candidate_promoted", "reject_candidate"]


def _decided(ports: RefreshPorts, candidate: CandidateRef, decision: str) -> None:
    registry = ports.registry
    registry.set_version_tag(candidate.model, candidate.version, candidates.DECISION, decision)
    registry.set_version_tag(
        candidate.model, candidate.version, candidates.DECIDED_AT, clock.now().isoformat()
    )


def close_candidate_promoted(
    ports: RefreshPorts,
    candidate: CandidateRef,
    move: AliasMove,
    comparison: Comparison,
    audit: AuditRecord,
    tickets: Sequence[int],
) -> list[int]:
    """The candidate marked promoted, and every ticket it answers closed with the promotion."""
    _decided(ports, candidate, candidates.PROMOTED)
    outcome = (
        f"candidate version {move.champion_to} promoted over {move.champion_from}: {comparison.summary()}"
    )
    evidence = json_ready(
        {
            "event": "promoted",
            "at": clock.now().isoformat(),
            "model": move.model,
            "candidate_version": move.champion_to,
            "champion_version": move.champion_to,
            "previous_champion_version": move.champion_from,
            "aliases_before": move.before,
            "aliases_after": move.after,
            "reasons": comparison.reasons,
            "comparison": comparison.to_dict(),
            "audit_run": audit.run_id,
        }
    )
    return close_tickets(ports.tickets, tickets, outcome, evidence, actor=ACTOR)


def reject_candidate(
    ports: RefreshPorts,
    candidate: CandidateRef,
    champion: str,
    comparison: Comparison,
    tickets: Sequence[int],
    flow_run: str | None,
) -> str:
    """The candidate marked rejected, the decision in the ledger and on its tickets; returns the audit run.

    Nothing moves; the tickets stay open for the data scientists.
    """
    _decided(ports, candidate, candidates.REJECTED)
    reason = f"candidate: did not pass the gate: {comparison.summary()}"
    summary = comparison.to_dict()
    run_id = write_decision(
        ports.registry,
        candidate.model,
        CANDIDATE_REJECTED,
        champion=champion,
        version=candidate.version,
        at=clock.now(),
        reason=reason,
        ticket=tickets[0] if tickets else None,
        actor=ACTOR,
        evidence={"headline": headline(summary, reason), "flow_run": flow_run, "comparison": summary},
    )
    evidence: dict[str, Any] = json_ready(
        {
            "event": "candidate_rejected",
            "at": clock.now().isoformat(),
            "candidate_version": candidate.version,
            "champion_version": champion,
            "reasons": comparison.reasons,
            "comparison": summary,
            "audit_run": run_id,
        }
    )
    add_evidence(ports.tickets, tickets, evidence, actor=ACTOR)
    return run_id
