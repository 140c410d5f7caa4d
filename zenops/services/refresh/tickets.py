"""The refresh ticket's workflow, and the rebuild ticket a hand-back opens.

The refresh ticket: the one given, else the model's oldest active refresh ticket,
else a new one (incident ``manual``), so that every refresh has an audit trail. It
moves to ``in_progress`` when the work starts and closes as ``done`` with the outcome
(promoted or handed back); a failed refresh adds the error as evidence and moves it to
``blocked`` (a later refresh takes it up again). A hand-back opens one ``rebuild``
ticket per model (incident ``refresh-handback``) carrying the dossier; a second
hand-back adds its evidence there.

Tickets are opened one way: a :class:`~demand.tickets.TicketDraft` naming its model and
incident, given to the ticket repository, which validates it against the workspace's
configuration and takes its due time from the model's SLA tier.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from demand.repository import open_handback
from demand.tickets import ACTIVE, TicketDraft
from registry.promotion import AliasMove, AuditRecord
from registry.versions import LoggedTraining
from zenops.kernel import clock
from zenops.kernel.config import ModelSpec
from zenops.kernel.errors import UsageError
from zenops.ports import TicketRepository
from zenops.services.refresh.compare import Comparison
from zenops.services.refresh.context import RefreshPorts
from zenops.services.refresh.outcome import ACTOR, HANDBACK_INCIDENT, HANDED_BACK, PROMOTED, json_ready
from zenops.services.refresh.rehydrate import ChampionRef

__all__ = [
    "add_evidence",
    "claim_ticket",
    "close_tickets",
    "close_handed_back",
    "close_promoted",
    "event_refresh_not_needed",
    "note_failure",
    "open_rebuild_ticket",
    "refresh_evidence",
]


def claim_ticket(ports: RefreshPorts, spec: ModelSpec, ticket: int | None, champion: ChampionRef) -> int:
    """The refresh ticket this refresh works on, moved to ``in_progress``.

    ``ticket`` must be an active refresh ticket of the model. Without one, the
    model's oldest active refresh ticket is taken; without any, a refresh ticket is
    opened (incident ``manual``) so that the refresh has an audit trail.
    """
    store = ports.tickets
    if ticket is not None:
        found = store.get(ticket)
        if found.model != spec.name or found.kind != "refresh":
            raise UsageError(
                f"ticket {ticket}: a {found.kind} ticket of model '{found.model}', "
                f"not a refresh of '{spec.name}'"
            )
        if not found.is_open:
            raise UsageError(f"ticket {ticket}: already {found.status}; nothing to refresh on it")
    else:
        active = store.list(status=ACTIVE, kind="refresh", model=spec.name)
        if active:
            found = active[0]
        else:
            draft = TicketDraft(
                kind="refresh",
                title=f"Refresh {spec.name}: requested",
                model=spec.name,
                incident="manual",
                evidence={"event": "refresh_requested", "champion_version": champion.version},
            )
            found, _ = store.open_or_update(draft, actor=ACTOR)
    if found.status != "in_progress":
        note = f"refresh of version {champion.version} started"
        found = store.transition(found.id, "in_progress", note=note, actor=ACTOR)
    return int(found.id)


def event_refresh_not_needed(tickets: TicketRepository, spec: ModelSpec, ticket: int | None) -> str | None:
    """Why a refresh an event started should not run, or None when it should.

    Not when its ticket is closed already (another refresh dealt with the incident),
    nor while the rebuild a hand-back opened is still open: a refresh did not help,
    and the data scientists have the model.
    """
    if ticket is not None:
        found = tickets.get(ticket)
        if not found.is_open:
            return f"ticket {ticket} is {found.status} already: another refresh dealt with the incident"
    handback = open_handback(tickets, spec.name)
    if handback is not None:
        return (
            f"an earlier refresh was handed back and rebuild ticket {handback.id} is still open; "
            "the model waits for its rebuild"
        )
    return None


def note_failure(ports: RefreshPorts, ticket: int, error: BaseException) -> None:
    """Record a failed refresh on its ticket and block the ticket on it."""
    store = ports.tickets
    message = str(error) or type(error).__name__
    store.add_evidence(
        ticket,
        {"event": "refresh_failed", "at": clock.now().isoformat(), "error": message[:2000]},
        actor=ACTOR,
    )
    if store.get(ticket).status in ("open", "scheduled", "in_progress"):
        store.transition(ticket, "blocked", note=f"refresh failed: {message[:500]}", actor=ACTOR)


def refresh_evidence(tickets: TicketRepository, ticket: int) -> list[dict[str, Any]]:
    """The evidence the refresh ticket gathered (monitoring's drift reports among it), oldest first."""
    return list(tickets.get(ticket).evidence)


def close_promoted(
    ports: RefreshPorts, ticket: int, move: AliasMove, comparison: Comparison, audit: AuditRecord
) -> str:
    """The refresh ticket's audit evidence, and the ticket closed as done with its outcome."""
    outcome = f"promoted version {move.champion_to} over {move.champion_from}: {comparison.summary()}"
    ports.tickets.add_evidence(
        ticket,
        {
            "event": PROMOTED,
            "at": clock.now().isoformat(),
            "model": move.model,
            "champion_version": move.champion_to,
            "previous_champion_version": move.champion_from,
            "aliases_before": move.before,
            "aliases_after": move.after,
            "reasons": comparison.reasons,
            "comparison": json_ready(comparison.to_dict()),
            "audit_run": audit.run_id,
        },
        actor=ACTOR,
    )
    ports.tickets.close(ticket, outcome=outcome, actor=ACTOR)
    return outcome


def open_rebuild_ticket(
    ports: RefreshPorts,
    spec: ModelSpec,
    ticket: int,
    challenger: LoggedTraining,
    comparison: Comparison,
    dossier: Path,
    markdown: str,
) -> int:
    """The rebuild ticket for the data scientists (one open per model), carrying the dossier."""
    draft = TicketDraft(
        kind="rebuild",
        title=f"Rebuild {spec.name}: a refresh did not beat the champion",
        model=spec.name,
        incident=HANDBACK_INCIDENT,
        evidence=json_ready(
            {
                "event": "refresh_handed_back",
                "at": clock.now().isoformat(),
                "refresh_ticket": ticket,
                "challenger_version": challenger.version,
                "challenger_run": challenger.run_id,
                "reasons": comparison.reasons,
                "comparison": comparison.to_dict(),
                "dossier": str(dossier),
                "dossier_markdown": markdown,
            }
        ),
        notes=markdown,
    )
    stored, _ = ports.tickets.open_or_update(draft, actor=ACTOR)
    merge_rebuilds(ports.tickets, spec, int(stored.id))
    return int(stored.id)


def merge_rebuilds(tickets: TicketRepository, spec: ModelSpec, handback: int) -> list[int]:
    """Cancel the model's other open rebuild tickets into the hand-back's, which carries the dossier.

    Monitoring opens a rebuild ticket when the labels show a drop beyond a refresh; the
    refresh that verdict starts hands the model back with a rebuild ticket of its own.
    Both ask the data scientists for one rebuild, so the plan must count it once: each
    other open rebuild ticket's evidence moves to the hand-back's and it is cancelled,
    naming it. Returns the tickets merged.
    """
    merged = []
    for other in tickets.list(status=ACTIVE, kind="rebuild", model=spec.name):
        if int(other.id) == handback:  # type: ignore[arg-type]
            continue
        for item in other.evidence:
            tickets.add_evidence(handback, {**item, "merged_from": other.id}, actor=ACTOR)
        tickets.close(
            int(other.id),  # type: ignore[arg-type]
            outcome=f"merged into rebuild ticket #{handback}, the hand-back that carries the dossier",
            status="cancelled",
            actor=ACTOR,
        )
        merged.append(int(other.id))  # type: ignore[arg-type]
    return merged


def close_handed_back(
    ports: RefreshPorts, ticket: int, rebuild: int, comparison: Comparison, dossier: Path, challenger: str
) -> str:
    """The refresh ticket's evidence and its closing as done, with the hand-back as outcome."""
    outcome = (
        f"handed back: challenger version {challenger} did not pass the gate "
        f"({comparison.summary()}); rebuild ticket #{rebuild}"
    )
    ports.tickets.add_evidence(
        ticket,
        {
            "event": HANDED_BACK,
            "at": clock.now().isoformat(),
            "challenger_version": challenger,
            "rebuild_ticket": rebuild,
            "dossier": str(dossier),
            "reasons": comparison.reasons,
            "comparison": json_ready(comparison.to_dict()),
        },
        actor=ACTOR,
    )
    ports.tickets.close(ticket, outcome=outcome, actor=ACTOR)
    return outcome


def add_evidence(
    tickets: TicketRepository, ids: Iterable[int], evidence: Mapping[str, Any], actor: str
) -> None:
    """The same evidence on each ticket."""
    for ticket in ids:
        tickets.add_evidence(ticket, dict(evidence), actor=actor)


def close_tickets(
    tickets: TicketRepository,
    ids: Iterable[int],
    outcome: str,
    evidence: Mapping[str, Any],
    actor: str,
) -> list[int]:
    """Add ``evidence`` to each ticket still open and close it as done with ``outcome``; the ones closed."""
    closed = []
    for ticket in ids:
        current = tickets.get(ticket)
        if not current.is_open:
            continue
        tickets.add_evidence(ticket, dict(evidence), actor=actor)
        if current.status != "in_progress":
            tickets.transition(ticket, "in_progress", note="answered by a promotion", actor=actor)
        tickets.close(ticket, outcome=outcome, actor=actor)
        closed.append(ticket)
    return closed
