"""Announcing candidates: the event the ``evaluate-candidate`` deployment starts from.

A version tagged ``zenops.candidate`` is announced once, as the event
``zenops.candidate.registered`` (resource ``zenops.model.NAME`` with the label
``zenops.version``; payload ``model``, ``version``, ``ticket``, ``source``), and marked
``zenops.candidate.seen`` so it is not announced again. Two places announce:

- the registry webhook receiver of ``zenops server`` (``source: webhook``), as soon as
  MLflow reports the version created with the tag, or the tag set;
- the monitor cycle (``source: monitor``), which looks for tagged versions not yet
  announced: where webhooks are not set up, or a delivery was lost.

Two announcers racing emit the event twice at worst; the deployment's trigger fires once
per model and version within its window, and an evaluation stands down for a candidate
another one decided.
"""

from __future__ import annotations

from collections.abc import Iterable

from registry import candidates
from zenops.kernel import clock
from zenops.ports import EventBus, ModelRegistry

__all__ = ["CANDIDATE_EVENT", "announce", "notice_candidates"]

CANDIDATE_EVENT = "zenops.candidate.registered"


def announce(registry: ModelRegistry, events: EventBus, model: str, version: str, source: str) -> bool:
    """Emit ``zenops.candidate.registered`` for ``version`` unless it is untagged or announced already.

    Returns whether it was announced now.
    """
    tags = registry.version_tags(model, version)
    if candidates.CANDIDATE not in tags or candidates.SEEN in tags:
        return False
    registry.set_version_tag(model, version, candidates.SEEN, clock.now().isoformat())
    events.emit(
        event=CANDIDATE_EVENT,
        resource={
            "prefect.resource.id": f"zenops.model.{model}",
            "prefect.resource.name": model,
            "zenops.version": str(version),
        },
        payload={
            "model": model,
            "version": str(version),
            "ticket": candidates.ticket_of(tags.get(candidates.CANDIDATE)),
            "source": source,
        },
    )
    return True


def notice_candidates(
    registry: ModelRegistry, events: EventBus, models: Iterable[str]
) -> list[dict[str, str]]:
    """Announce every tagged version of ``models`` not announced yet (the monitor cycle's hook)."""
    announced = []
    for model in models:
        if not registry.is_registered(model):
            continue
        for version in candidates.not_announced(registry.all_version_tags(model)):
            if announce(registry, events, model, version, "monitor"):
                announced.append({"model": model, "version": version})
    return announced
