"""The ticket and the event a monitoring verdict raises.

- :func:`open_ticket` opens the incident's ticket once (a repeat adds evidence); while a
  refresh's hand-back waits for the data scientists' rebuild, a degraded verdict adds
  its batch to that rebuild ticket instead (:func:`demand.repository.open_handback`).
- :func:`emit_degraded` emits ``zenops.model.degraded`` on the event bus for a new
  refresh or rebuild ticket.
- :func:`would_open` tells the report cadence whether a verdict opens a ticket.
"""

from __future__ import annotations

import json

from demand.repository import open_handback
from demand.tickets import ACTIVE, TicketDraft, incident_key
from zenops.kernel.config import ModelSpec
from zenops.ports import EventBus
from zenops.services.monitor.records import BatchOutcome
from zenops.services.monitor.wiring import MonitorWorkspace

__all__ = [
    "DEGRADED",
    "TICKET_VERDICTS",
    "emit_degraded",
    "incident",
    "open_ticket",
    "would_open",
]

TICKET_VERDICTS = ("refresh", "rebuild", "data_quality")
DEGRADED = ("refresh", "rebuild")
ACTOR = "zenops monitor"


def would_open(workspace: MonitorWorkspace, spec: ModelSpec, outcome: BatchOutcome) -> bool:
    """Whether this outcome opens a new ticket (no open one for the incident yet)."""
    if outcome.verdict not in TICKET_VERDICTS or workspace.config.monitoring.html_reports == "never":
        return False
    key = incident(spec, outcome.verdict)
    store = workspace.ticket_store()
    if outcome.verdict in DEGRADED and open_handback(store, spec.name) is not None:
        return False
    active = store.list(model=spec.name, status=ACTIVE)
    return not any(t.idempotency_key == key for t in active)


def incident(spec: ModelSpec, verdict: str) -> str:
    return incident_key(spec.name, verdict, "monitoring")


def open_ticket(workspace: MonitorWorkspace, spec: ModelSpec, outcome: BatchOutcome) -> None:
    """Open the incident's ticket, or add this batch as evidence to the open one.

    While a hand-back's rebuild ticket is open, a ``refresh`` or ``rebuild`` verdict adds
    its batch to that ticket instead: a refresh did not help, the data scientists have
    the model, and no new ticket (nor refresh) is started until their rebuild comes back.
    """
    if outcome.verdict not in TICKET_VERDICTS:
        return
    titles = {
        "refresh": f"Refresh {spec.name}: drift or performance drop",
        "rebuild": f"Rebuild {spec.name}: performance lost beyond a refresh",
        "data_quality": f"Data quality: bad batch for {spec.name}",
    }
    evidence = {
        "batch": outcome.batch,
        "verdict": outcome.verdict,
        "reasons": outcome.reasons,
        "drift_share": outcome.drift_share,
        "drifted_features": outcome.drifted_features[:10],
        "performance": outcome.performance,
        "report_uri": outcome.report_uri,
        "report_url": outcome.report_url,
        "mlflow_run": outcome.run_id,
        "mlflow_url": outcome.mlflow_url,
        "champion_version": outcome.champion_version,
    }
    store = workspace.ticket_store()
    handback = open_handback(store, spec.name) if outcome.verdict in DEGRADED else None
    if handback is not None:
        note = (
            f"rebuild ticket #{handback.id} (a refresh handed the model back) is open: this batch is "
            "added to it as evidence; no new ticket or refresh until the rebuilt model comes back"
        )
        outcome.reasons.append(note)
        store.add_evidence(
            handback.id, json.loads(json.dumps({**evidence, "note": note}, default=str)), actor=ACTOR
        )
        outcome.ticket, outcome.ticket_created = handback.id, False
        return
    draft = TicketDraft(
        kind=outcome.verdict,
        title=titles[outcome.verdict],
        model=spec.name,
        idempotency_key=incident(spec, outcome.verdict),
        evidence=json.loads(json.dumps(evidence, default=str)),
    )
    stored, created = store.open_or_update(draft, actor=ACTOR)
    outcome.ticket, outcome.ticket_created = stored.id, created


def emit_degraded(events: EventBus, spec: ModelSpec, outcome: BatchOutcome) -> None:
    """The event a deployment trigger starts a refresh from, once per incident.

    Emitted when a ``refresh`` or ``rebuild`` verdict opens its ticket (a repeat of
    the incident only adds evidence to the ticket, so it starts nothing again). The
    resource carries the verdict and ticket as labels, so a trigger may match on
    them; ``refresh_ticket`` is the ticket when it is a refresh ticket, for the
    refresh deployment to work on (a rebuild verdict's refresh opens its own).
    """
    if outcome.verdict not in DEGRADED or not outcome.ticket_created:
        return
    events.emit(
        event="zenops.model.degraded",
        resource={
            "prefect.resource.id": f"zenops.model.{spec.name}",
            "prefect.resource.name": spec.name,
            "zenops.verdict": outcome.verdict,
            "zenops.ticket": str(outcome.ticket),
        },
        payload={
            "model": spec.name,
            "verdict": outcome.verdict,
            "ticket": outcome.ticket,
            "refresh_ticket": outcome.ticket if outcome.verdict == "refresh" else None,
            "reasons": outcome.reasons,
            "batch": outcome.batch,
            "champion_version": outcome.champion_version,
            "report_uri": outcome.report_uri,
            "mlflow_run": outcome.run_id,
        },
    )
