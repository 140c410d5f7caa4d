"""The Prefect artifacts of a refresh, a candidate, an approval and a rollback, and their keys."""

from __future__ import annotations

import re
from typing import Any

from zenops.services.refresh.dossier import comparison_lines

__all__ = ["approval_markdown", "artifact_key", "candidate_markdown", "refresh_markdown", "rollback_markdown"]


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
    lines += _approval_lines(result, result.get("challenger_version"))
    comparison = result.get("comparison") or {}
    lines += ["", *[f"- {reason}" for reason in comparison.get("reasons", [])], ""]
    lines += comparison_lines(comparison)
    return "\n".join(lines) + "\n"


def candidate_markdown(result: dict[str, Any]) -> str:
    """The artifact of a candidate's evaluation: the decision and the comparison table."""
    lines = [
        f"# Candidate {result['model']} version {result['candidate_version']}: {result['decision']}",
        "",
        f"- champion compared with: version {result['champion_version']}",
        f"- serving now: version {result.get('serving_version')}",
        f"- tickets it answers: {', '.join(f'#{t}' for t in result.get('tickets') or []) or 'none'}",
    ]
    if result.get("closed_tickets"):
        lines.append(f"- closed: {', '.join(f'#{t}' for t in result['closed_tickets'])}")
    lines += _approval_lines(result, result.get("candidate_version"))
    lines += [f"- {note}" for note in result.get("notes") or []]
    comparison = result.get("comparison") or {}
    lines += ["", *[f"- {reason}" for reason in comparison.get("reasons", [])], ""]
    lines += comparison_lines(comparison)
    return "\n".join(lines) + "\n"


def approval_markdown(result: dict[str, Any]) -> str:
    """The artifact of an approval or a rejection."""
    lines = [
        f"# {result['model']} version {result['version']}: {result['decision']} by {result['by']}",
        "",
        f"- champion: version {result['champion_version']}",
        f"- approval ticket: #{result.get('approval_ticket')}",
    ]
    if result.get("closed_tickets"):
        lines.append(f"- closed: {', '.join(f'#{t}' for t in result['closed_tickets'])}")
    return "\n".join(lines) + "\n"


def _approval_lines(result: dict[str, Any], version: Any) -> list[str]:
    if not result.get("approval_ticket") or result.get("decision") != "awaiting_approval":
        return []
    return [
        f"- awaiting approval: ticket #{result['approval_ticket']} "
        f"(`zenops approve {result['model']} {version} --by NAME`, or `zenops reject`)"
    ]


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
