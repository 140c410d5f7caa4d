"""``zenops history MODEL``: the promotion ledger, read from the model's audit runs.

The rules are the registry core's (:mod:`registry.ledger`); this reads the audit runs
through the registry port and renders the ledger for a person and for the Prefect UI
(the ``ledger-MODEL`` artifact, which every promotion's artifact links to).
"""

from __future__ import annotations

import re
from typing import Any

from registry import lineage
from registry.ledger import LedgerEvent, ledger
from registry.promotion import AUDIT_RUN_KIND
from zenops.kernel.errors import NotFoundError
from zenops.ports import ModelRegistry

__all__ = ["history", "ledger_key", "ledger_link", "ledger_markdown"]


def history(registry: ModelRegistry, model: str) -> dict[str, Any]:
    """The ledger of ``model``: ``{"model": NAME, "events": [...]}``, newest first.

    A model the tracking store does not know is a NotFoundError (a mistyped store is
    not an empty history).
    """
    if not registry.is_registered(model):
        raise NotFoundError(
            f"model '{model}' is not a registered model in the tracking store: run 'zenops train {model}'"
        )
    return {"model": model, "events": [event.to_dict() for event in events_of(registry, model)]}


def events_of(registry: ModelRegistry, model: str) -> list[LedgerEvent]:
    """The ledger's events of ``model``, newest first."""
    runs = registry.runs_with_tags(model, {lineage.RUN_KIND: AUDIT_RUN_KIND})
    return ledger(runs, document=lambda run_id: registry.read_run_dict(run_id, "audit.json"))


def ledger_key(model: str) -> str:
    """The key of the model's ledger artifact in Prefect (lowercase letters, digits and dashes)."""
    return f"ledger-{re.sub(r'[^a-z0-9-]+', '-', model.lower())}"


def ledger_link(ui: str | None, model: str) -> str | None:
    """Where the Prefect UI shows the model's latest ledger artifact (None: no UI known)."""
    return f"{ui.rstrip('/')}/artifacts/key/{ledger_key(model)}" if ui else None


def ledger_markdown(model: str, events: list[dict[str, Any]]) -> str:
    """The ledger as a Markdown table, newest first."""
    lines = [
        f"# Promotion ledger: {model}",
        "",
        f"Every change of champion, newest first (`zenops history {model}`).",
        "",
        "| at | action | from | to | by | ticket | why |",
        "|---|---|---|---|---|---|---|",
    ]
    for event in events:
        evidence = event.get("evidence") or {}
        why = str(evidence.get("summary") or evidence.get("reason") or "").replace("|", "/")
        ticket = f"#{event['ticket']}" if event.get("ticket") is not None else "—"
        lines.append(
            f"| {str(event['at'])[:16].replace('T', ' ')} | {event['action']} | "
            f"{event.get('from_version') or '—'} | {event.get('to_version') or '—'} | {event['actor']} | "
            f"{ticket} | {why[:200]} |"
        )
    if not events:
        lines.append("| — | — | — | — | — | — | no change of champion recorded |")
    return "\n".join(lines) + "\n"
