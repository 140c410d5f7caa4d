"""The promotion ledger: who was champion when, and why, read from the audit runs.

Pure: the audit runs come in as ``(run_id, tags)`` pairs (the registry port's
``runs_with_tags``); :func:`ledger` turns them into :class:`LedgerEvent` objects,
newest first. Every move of the champion is there — a first training, a refresh's
promotion, a candidate's, an approval's, a rollback — and the decisions that moved
nothing but belong in the history: a candidate the gate rejected, a promotion waiting
for approval, an approval turned down. A move that was undone (its audit marked
``rolled-back`` when a later step of the promotion failed) never happened and is left
out.

The ledger's actions (``action``), from the audit's (``zenops.audit.action``):

==============================  =====================  ===================
ledger action                   audit action           moves the champion
==============================  =====================  ===================
``train``                       ``trained``            yes (none → first)
``promotion``                   ``promoted``           yes (a refresh)
``candidate``                   ``candidate-promoted`` yes
``approval``                    ``approved``           yes
``rollback``                    ``rolled-back-to``     yes
``candidate-rejected``          ``candidate-rejected`` no
``awaiting-approval``           ``approval-requested`` no
``rejection``                   ``approval-rejected``  no
==============================  =====================  ===================

:func:`headline` makes the short evidence an audit keeps as a tag: the gate's
figures (metric, both models' values, the interval, rows, window, paired test).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from registry import promotion

__all__ = ["ACTIONS", "LedgerEvent", "headline", "ledger"]

ACTIONS = {
    promotion.TRAINED: "train",
    promotion.PROMOTED: "promotion",
    promotion.CANDIDATE_PROMOTED: "candidate",
    promotion.APPROVED: "approval",
    promotion.ROLLED_BACK_TO: "rollback",
    promotion.CANDIDATE_REJECTED: "candidate-rejected",
    promotion.APPROVAL_REQUESTED: "awaiting-approval",
    promotion.APPROVAL_REJECTED: "rejection",
}


@dataclass(frozen=True)
class LedgerEvent:
    """One entry of the ledger; ``to_dict`` holds the interface's JSON keys first."""

    at: str
    action: str
    from_version: str | None
    to_version: str | None
    actor: str
    ticket: int | None
    evidence: dict[str, Any] = field(default_factory=dict)
    moved: bool = True
    flow_run: str | None = None
    audit_run: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """The event in one line: when, what, which versions, who, why."""
        change = f"v{self.from_version or '-'} → v{self.to_version or '-'}"
        if not self.moved:
            change = f"v{self.to_version} (champion stays v{self.from_version or '-'})"
        ticket = f" ticket #{self.ticket}" if self.ticket is not None else ""
        why = self.evidence.get("summary") or self.evidence.get("reason") or ""
        when = self.at[:16].replace("T", " ")
        return f"{when}  {self.action:18} {change}  by {self.actor}{ticket}  {why}".rstrip()


def ledger(
    runs: Iterable[tuple[str, Mapping[str, str]]],
    document: Callable[[str], Mapping[str, Any]] | None = None,
) -> list[LedgerEvent]:
    """The ledger of a model's audit runs (given oldest first), newest first.

    ``document(run_id)`` reads an audit run's ``audit.json``: it gives the evidence of
    audit runs written before the evidence was kept as a tag (None: such runs keep
    their reason only). Runs at the same time keep the order they were given in.
    """
    events = []
    for order, (run_id, tags) in enumerate(runs):
        if tags.get(promotion.AUDIT_STATE) == "rolled-back":
            continue
        events.append((tags.get("zenops.audit.at", ""), order, _event(run_id, tags, document)))
    events.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [event for _, _, event in events]


def _event(
    run_id: str, tags: Mapping[str, str], document: Callable[[str], Mapping[str, Any]] | None
) -> LedgerEvent:
    raw = tags.get("zenops.audit.action", "")
    ticket = tags.get("zenops.audit.ticket", "")
    return LedgerEvent(
        at=tags.get("zenops.audit.at", ""),
        action=ACTIONS.get(raw, raw),
        from_version=tags.get("zenops.audit.from_version") or None,
        to_version=tags.get("zenops.audit.to_version") or None,
        actor=tags.get("zenops.audit.actor", ""),
        ticket=int(ticket) if ticket.isdigit() else None,
        evidence=_evidence(run_id, tags, document),
        moved=tags.get(promotion.AUDIT_MOVED, "true") != "false",
        flow_run=tags.get(promotion.AUDIT_FLOW_RUN) or None,
        audit_run=run_id,
    )


def _evidence(
    run_id: str, tags: Mapping[str, str], document: Callable[[str], Mapping[str, Any]] | None
) -> dict[str, Any]:
    kept = tags.get(promotion.AUDIT_EVIDENCE)
    if kept:
        try:
            found = json.loads(kept)
        except ValueError:
            return {"reason": kept}
        return dict(found) if isinstance(found, dict) else {"reason": str(found)}
    if document is None:
        return {}
    record = dict(document(run_id) or {})
    evidence = dict(record.get("evidence") or {})
    return evidence.get("headline") or {"reason": record.get("reason", "")}


def headline(comparison: Mapping[str, Any] | None, reason: str) -> dict[str, Any]:
    """The short evidence of a gate's decision: what the ledger shows of a comparison.

    ``reason`` is the one-line why; the rest comes from the comparison's figures
    (:class:`zenops.services.refresh.compare.Comparison` as a dict).
    """
    out: dict[str, Any] = {"reason": reason}
    if not comparison:
        return out
    boot = comparison.get("bootstrap") or {}
    test = comparison.get("test") or {}
    out.update(
        metric=comparison.get("metric"),
        champion=_finite(boot.get("champion")),
        challenger=_finite(boot.get("challenger")),
        relative_improvement=_finite(boot.get("relative_improvement")),
        interval=[_finite(boot.get("relative_low")), _finite(boot.get("relative_high"))],
        confidence=boot.get("confidence"),
        margin=comparison.get("margin"),
        rows=comparison.get("rows"),
        window=comparison.get("window"),
        test={"name": test.get("name"), "p_value": _finite(test.get("p_value"))} if test else None,
        promote=comparison.get("promote"),
        reasons=list(comparison.get("reasons") or []),
    )
    if out["champion"] is not None and out["challenger"] is not None:
        out["summary"] = (
            f"{out['metric']} {out['champion']:.4f} → {out['challenger']:.4f} "
            f"on {out['rows']} rows ({_pct(out['relative_improvement'])})"
        )
    return out


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _pct(value: Any) -> str:
    return f"{value:+.1%}" if isinstance(value, int | float) else "n/a"
