"""Moving the aliases of a registered model, and the audit record of every move.

The aliases ``champion``, ``challenger`` and ``previous-champion`` say which
version serves, which one is on trial and which one served before. Every move is
taken from a snapshot of the aliases (:func:`alias_snapshot`) so that it can be
undone exactly (:func:`restore_aliases`), and checked against the champion the
caller expects, so that a move never builds on a champion someone else has
replaced meanwhile.

The audit of a move lives in MLflow:

- an *audit run* per move in the model's experiment (tag ``zenops.run`` =
  ``alias-move``; tags ``zenops.audit.*`` name the action, versions, ticket and
  actor, and ``zenops.audit.evidence`` holds the comparison's headline figures;
  ``audit.json`` holds the reason and the whole evidence). Runs are never edited
  but for ``zenops.audit.state``, which turns ``rolled-back`` if the move is undone;
- an audit run too, with ``zenops.audit.moved`` = ``false``, for each decision that
  moves nothing but belongs in the model's history (:func:`write_decision`): a
  candidate the gate rejected, a promotion that waits for approval, an approval
  turned down;
- tags on the versions themselves (``zenops.champion.*``): since when a version is
  champion, why, on which ticket, and whom it replaced (or was replaced by).

Pure: every read and write goes through the registry port
(:class:`zenops.ports.ModelRegistry`); the MLflow side of the gate, the registry's own
threshold check, is the port's ``validate_thresholds``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from registry import lineage
from registry.versions import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION
from zenops.kernel.errors import NotFoundError, ZenopsError

if TYPE_CHECKING:
    from zenops.ports import ModelRegistry

ZENOPS_ALIASES = (CHAMPION, CHALLENGER, PREVIOUS_CHAMPION)
AUDIT_RUN_KIND = "alias-move"
AUDIT_STATE = "zenops.audit.state"
AUDIT_EVIDENCE = "zenops.audit.evidence"
AUDIT_MOVED = "zenops.audit.moved"
AUDIT_FLOW_RUN = "zenops.audit.flow_run"
EVIDENCE_TAG_CHARS = 5000

# What an audit run records (``zenops.audit.action``): moves of the champion ...
TRAINED = "trained"
PROMOTED = "promoted"
CANDIDATE_PROMOTED = "candidate-promoted"
APPROVED = "approved"
ROLLED_BACK_TO = "rolled-back-to"
MOVES = (TRAINED, PROMOTED, CANDIDATE_PROMOTED, APPROVED, ROLLED_BACK_TO)
# ... and decisions that move nothing.
CANDIDATE_REJECTED = "candidate-rejected"
APPROVAL_REQUESTED = "approval-requested"
APPROVAL_REJECTED = "approval-rejected"
DECISIONS = (CANDIDATE_REJECTED, APPROVAL_REQUESTED, APPROVAL_REJECTED)

CHAMPION_SINCE = "zenops.champion.since"
CHAMPION_ACTION = "zenops.champion.action"
CHAMPION_REPLACED = "zenops.champion.replaced"
CHAMPION_TICKET = "zenops.champion.ticket"
CHAMPION_REASON = "zenops.champion.reason"
CHAMPION_AUDIT_RUN = "zenops.champion.audit_run"
CHAMPION_UNTIL = "zenops.champion.until"
CHAMPION_REPLACED_BY = "zenops.champion.replaced_by"
VERSION_AUDIT_TAGS = (
    CHAMPION_SINCE,
    CHAMPION_ACTION,
    CHAMPION_REPLACED,
    CHAMPION_TICKET,
    CHAMPION_REASON,
    CHAMPION_AUDIT_RUN,
    CHAMPION_UNTIL,
    CHAMPION_REPLACED_BY,
)


@dataclass(frozen=True)
class AliasMove:
    """One move of the champion: the aliases before and after, as ``{alias: version}``."""

    model: str
    action: str
    before: dict[str, str]
    after: dict[str, str]

    @property
    def champion_from(self) -> str | None:
        return self.before.get(CHAMPION)

    @property
    def champion_to(self) -> str:
        return self.after[CHAMPION]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def alias_snapshot(registry: ModelRegistry, model: str) -> dict[str, str]:
    """The zenops aliases of ``model`` and the versions holding them."""
    return {k: v for k, v in registry.aliases(model).items() if k in ZENOPS_ALIASES}


def restore_aliases(registry: ModelRegistry, model: str, snapshot: dict[str, str]) -> None:
    """Put the zenops aliases back exactly as ``snapshot`` holds them (absent ones deleted)."""
    for alias in ZENOPS_ALIASES:
        if alias in snapshot:
            registry.set_alias(model, alias, snapshot[alias])
        else:
            registry.delete_alias(model, alias)


def promote(
    registry: ModelRegistry, model: str, challenger: str, expected_champion: str, action: str = PROMOTED
) -> AliasMove:
    """``previous-champion`` takes the champion, ``champion`` moves to ``challenger``.

    The ``challenger`` alias is removed: its version now serves. Refused with
    a :class:`ZenopsError` when the champion is not ``expected_champion``; a move that
    fails half-way is undone. ``action`` names the move in its audit (a refresh's
    ``promoted``, a candidate's ``candidate-promoted``, an approval's ``approved``).
    """
    before = alias_snapshot(registry, model)
    current = before.get(CHAMPION)
    if current != expected_champion:
        raise ZenopsError(
            f"{model}: the champion is version {current}, not {expected_champion} as when the refresh "
            "started; nothing was moved"
        )
    with _undone_on_failure(registry, model, before):
        registry.set_alias(model, PREVIOUS_CHAMPION, current)
        registry.set_alias(model, CHAMPION, challenger)
        registry.delete_alias(model, CHALLENGER)
    after = {CHAMPION: challenger, PREVIOUS_CHAMPION: current}
    return AliasMove(model=model, action=action, before=before, after=after)


def first_champion(model: str, version: str) -> AliasMove:
    """The move a first training makes: no champion before, ``version`` after."""
    return AliasMove(model=model, action=TRAINED, before={}, after={CHAMPION: version})


def roll_back(registry: ModelRegistry, model: str) -> AliasMove:
    """``champion`` returns to ``previous-champion``; the replaced champion becomes previous.

    So a second rollback undoes the first. The ``challenger`` alias is left alone.
    Refused with :class:`NotFoundError` when there is no previous champion.
    """
    before = alias_snapshot(registry, model)
    previous = before.get(PREVIOUS_CHAMPION)
    if previous is None:
        raise NotFoundError(
            f"{model}: no previous champion to roll back to (aliases: "
            f"{', '.join(f'{k}=v{v}' for k, v in sorted(before.items())) or 'none'})"
        )
    current = before.get(CHAMPION)
    with _undone_on_failure(registry, model, before):
        registry.set_alias(model, CHAMPION, previous)
        if current is not None:
            registry.set_alias(model, PREVIOUS_CHAMPION, current)
        else:
            registry.delete_alias(model, PREVIOUS_CHAMPION)
    after = {k: v for k, v in before.items() if k == CHALLENGER}
    after[CHAMPION] = previous
    if current is not None:
        after[PREVIOUS_CHAMPION] = current
    return AliasMove(model=model, action=ROLLED_BACK_TO, before=before, after=after)


@contextmanager
def _undone_on_failure(registry: ModelRegistry, model: str, before: dict[str, str]) -> Iterator[None]:
    """A move interrupted half-way puts back what it had moved, then re-raises."""
    try:
        yield
    except BaseException:
        restore_aliases(registry, model, before)
        raise


# -- the audit ------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRecord:
    """Where one move's audit was written, and what the version tags held before it."""

    run_id: str
    tags_before: dict[str, dict[str, str]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def write_audit(
    registry: ModelRegistry,
    move: AliasMove,
    *,
    at: datetime,
    reason: str,
    ticket: int | None,
    actor: str,
    evidence: dict[str, Any],
) -> AuditRecord:
    """The audit run of ``move`` and the ``zenops.champion.*`` tags of the versions it touched.

    ``evidence`` may hold ``headline`` (the figures the ledger shows, kept as the tag
    ``zenops.audit.evidence``) and ``flow_run`` (kept as ``zenops.audit.flow_run``).
    """
    model = move.model
    touched = [v for v in {move.champion_to, move.champion_from} if v]
    tags_before = {
        version: {k: v for k, v in registry.version_tags(model, version).items() if k in VERSION_AUDIT_TAGS}
        for version in touched
    }
    record = {
        "model": model,
        "action": move.action,
        "at": at.isoformat(),
        "actor": actor,
        "ticket": ticket,
        "reason": reason,
        "aliases_before": move.before,
        "aliases_after": move.after,
        "evidence": evidence,
    }
    tags = _audit_tags(move.action, move.champion_from, move.champion_to, record, moved=True)
    name = f"{move.action} {model} v{move.champion_from or '-'} -> v{move.champion_to}"
    run_id = registry.record_run(model, name, tags, {"audit.json": record})
    champion_tags = {
        CHAMPION_SINCE: at.isoformat(),
        CHAMPION_ACTION: move.action,
        CHAMPION_REPLACED: move.champion_from or "",
        CHAMPION_TICKET: "" if ticket is None else str(ticket),
        CHAMPION_REASON: reason[:4000],
        CHAMPION_AUDIT_RUN: run_id,
    }
    for key, value in champion_tags.items():
        registry.set_version_tag(model, move.champion_to, key, value)
    if move.champion_from and move.champion_from != move.champion_to:
        registry.set_version_tag(model, move.champion_from, CHAMPION_UNTIL, at.isoformat())
        registry.set_version_tag(model, move.champion_from, CHAMPION_REPLACED_BY, move.champion_to)
    return AuditRecord(run_id=run_id, tags_before=tags_before)


def write_decision(
    registry: ModelRegistry,
    model: str,
    action: str,
    *,
    champion: str | None,
    version: str,
    at: datetime,
    reason: str,
    ticket: int | None,
    actor: str,
    evidence: dict[str, Any],
) -> str:
    """The audit run of a decision that moves no alias (``zenops.audit.moved`` = ``false``).

    ``champion`` is the version that keeps serving, ``version`` the one decided on (a
    rejected candidate, a promotion waiting for approval, an approval turned down).
    Returns the run's id.
    """
    if action not in DECISIONS:
        raise ValueError(f"{action!r} is not a decision that moves nothing ({', '.join(DECISIONS)})")
    record = {
        "model": model,
        "action": action,
        "at": at.isoformat(),
        "actor": actor,
        "ticket": ticket,
        "reason": reason,
        "champion": champion,
        "version": version,
        "evidence": evidence,
    }
    tags = _audit_tags(action, champion, version, record, moved=False)
    name = f"{action} {model} v{version} (champion v{champion or '-'})"
    return registry.record_run(model, name, tags, {"audit.json": record})


def _audit_tags(
    action: str, from_version: str | None, to_version: str, record: dict[str, Any], *, moved: bool
) -> dict[str, str]:
    """The ``zenops.audit.*`` tags of an audit run: what the ledger reads without its artifact."""
    evidence = record.get("evidence") or {}
    headline = evidence.get("headline") or {"reason": record["reason"]}
    text = json.dumps(headline, default=str, sort_keys=True)
    if len(text) > EVIDENCE_TAG_CHARS:
        text = json.dumps({"reason": str(record["reason"])[: EVIDENCE_TAG_CHARS - 100]})
    ticket = record.get("ticket")
    return {
        lineage.MODEL: record["model"],
        lineage.RUN_KIND: AUDIT_RUN_KIND,
        "zenops.audit.action": action,
        "zenops.audit.from_version": from_version or "",
        "zenops.audit.to_version": to_version,
        "zenops.audit.ticket": "" if ticket is None else str(ticket),
        "zenops.audit.actor": record["actor"],
        "zenops.audit.at": record["at"],
        AUDIT_MOVED: "true" if moved else "false",
        AUDIT_EVIDENCE: text,
        AUDIT_FLOW_RUN: str(evidence.get("flow_run") or ""),
        AUDIT_STATE: "committed",
    }


def undo_audit(registry: ModelRegistry, model: str, record: AuditRecord) -> None:
    """Mark the audit run ``rolled-back`` and put the version tags back as they were."""
    registry.set_run_tag(record.run_id, AUDIT_STATE, "rolled-back")
    for version, tags in record.tags_before.items():
        for key in VERSION_AUDIT_TAGS:
            if key in tags:
                registry.set_version_tag(model, version, key, tags[key])
            else:
                registry.delete_version_tag(model, version, key)


def audit_trail(registry: ModelRegistry, model: str) -> list[dict[str, str]]:
    """Every audit run of ``model``, oldest first, as its ``zenops.audit.*`` tags and run id."""
    runs = registry.runs_with_tags(model, {lineage.RUN_KIND: AUDIT_RUN_KIND})
    return [
        {"run_id": run_id, **{k: v for k, v in tags.items() if k.startswith("zenops.audit.")}}
        for run_id, tags in runs
    ]
