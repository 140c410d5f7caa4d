"""Promotion's steps: the alias move, its audit, and putting both back when a later step fails.

``previous-champion`` takes the old champion, ``champion`` the challenger, and the
``challenger`` alias goes; the move is refused if the champion is no longer the
version the refresh started from. The audit is an MLflow audit run and
``zenops.champion.*`` version tags (:mod:`registry.promotion`). If anything after the
move fails, the audit is marked rolled back and the aliases are put back exactly as
they were (:func:`undo_promotion`).
"""

from __future__ import annotations

import logging

from registry.ledger import headline
from registry.promotion import (
    PROMOTED,
    AliasMove,
    AuditRecord,
    alias_snapshot,
    promote,
    restore_aliases,
    undo_audit,
)
from registry.promotion import write_audit as write_move_audit
from zenops.kernel import clock
from zenops.kernel.errors import StoreError
from zenops.ports import ModelRegistry
from zenops.services.refresh.compare import Comparison
from zenops.services.refresh.context import RefreshPorts
from zenops.services.refresh.outcome import ACTOR

__all__ = [
    "aliases_now",
    "ensure_aliases",
    "move_aliases",
    "undo_promotion",
    "undo_promotion_audit",
    "write_promotion_audit",
]

log = logging.getLogger("zenops.refresh")


def aliases_now(registry: ModelRegistry, model: str) -> dict[str, str]:
    """The model's zenops aliases now, as ``{alias: version}``."""
    return alias_snapshot(registry, model)


def move_aliases(
    ports: RefreshPorts, model: str, challenger: str, expected_champion: str, action: str = PROMOTED
) -> AliasMove:
    """``previous-champion`` ← champion, ``champion`` ← challenger; refused if the champion moved.

    ``action`` names the move in the audit: ``promoted`` (a refresh), ``candidate-promoted``,
    ``approved``.
    """
    return promote(ports.registry, model, challenger, expected_champion, action=action)


def write_promotion_audit(
    ports: RefreshPorts,
    move: AliasMove,
    ticket: int | None,
    comparison: Comparison,
    flow_run: str | None,
    actor: str = ACTOR,
    why: str = "refresh",
) -> AuditRecord:
    """The audit of a promotion: an audit run and the versions' ``zenops.champion.*`` tags.

    ``why`` opens the reason (``refresh``, ``candidate``, ``approved by ana``); ``actor``
    is who or what promoted (``zenops refresh``, ``zenops candidate``, a person).
    """
    reason = f"{why}: {comparison.summary()}"
    summary = comparison.to_dict()
    return write_move_audit(
        ports.registry,
        move,
        at=clock.now(),
        reason=reason,
        ticket=ticket,
        actor=actor,
        evidence={"comparison": summary, "flow_run": flow_run, "headline": headline(summary, reason)},
    )


def undo_promotion_audit(registry: ModelRegistry, model: str, record: AuditRecord) -> None:
    """Mark the audit run rolled back and put the version tags back as they were."""
    undo_audit(registry, model, record)


def ensure_aliases(registry: ModelRegistry, model: str, expected: dict[str, str]) -> None:
    """After a failed promotion: the aliases must be as before it; put them back if not.

    A failure to put them back is a :class:`StoreError` that says what to check.
    """
    if aliases_now(registry, model) == expected:
        return
    log.warning("%s: the promotion failed after the aliases moved; putting them back", model)
    restore_aliases(registry, model, expected)
    if aliases_now(registry, model) != expected:
        raise StoreError(f"{model}: could not restore the aliases to {expected}; check the MLflow registry")


def undo_promotion(
    registry: ModelRegistry, model: str, before: dict[str, str], audit: AuditRecord | None
) -> None:
    """Undo what a failed promotion did: its audit (if written) marked rolled back, the aliases back.

    Safe to repeat: a rollback hook that did it already leaves nothing to change.
    """
    if audit is not None:
        undo_promotion_audit(registry, model, audit)
    ensure_aliases(registry, model, before)
