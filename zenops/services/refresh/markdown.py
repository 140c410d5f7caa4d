"""The Prefect artifacts of a refresh and of a rollback, as Markdown, and their keys."""

from __future__ import annotations

import re
from typing import Any

from zenops.services.refresh.dossier import comparison_lines

__all__ = ["artifact_key", "refresh_markdown", "rollback_markdown"]


def refresh_markdown(result: dict[str, Any]) -> str:
    """The artifact of a refresh: the decision and the comparison table."""
    lines = [
        f"# Refresh {result['model']}: {result['decision']}",
        "",
        f"- champion: version {result['champion_version']}",
        f"- challenger: version {result.get('challenger_version') or 'none'}",
        f"- ticket: #{result.get('ticket')}",
    ]
    if result.get("rebuild_ticket"):
        lines.append(f"- rebuild ticket: #{result['rebuild_ticket']} (dossier `{result.get('dossier')}`)")
    comparison = result.get("comparison") or {}
    lines += ["", *[f"- {reason}" for reason in comparison.get("reasons", [])], ""]
    lines += comparison_lines(comparison)
    return "\n".join(lines) + "\n"


def rollback_markdown(result: dict[str, Any]) -> str:
    """The artifact of a rollback."""
    return (
        f"# Rollback {result['model']}\n\n"
        f"- champion: version {result['champion_version']} (was {result['rolled_back_from']})\n"
        f"- previous-champion: version {result['previous_champion_version']}\n"
        f"- audit run: `{result['audit_run']}`\n"
        f"- ticket: {'#' + str(result['ticket']) if result.get('ticket') else 'none'}\n"
    )


def artifact_key(prefix: str, model: str) -> str:
    """A Prefect artifact key (lowercase letters, digits and dashes) for ``model``."""
    return f"{prefix}-{re.sub(r'[^a-z0-9-]+', '-', model.lower())}"
