"""What a refresh decides and reports: the decisions, its actors, and its result as JSON."""

from __future__ import annotations

import math
from datetime import date
from typing import Any, Protocol

from demand.tickets import HANDBACK_INCIDENT

__all__ = [
    "ACTOR",
    "AWAITING_APPROVAL",
    "HANDBACK_INCIDENT",
    "HANDED_BACK",
    "PROMOTED",
    "REFRESH_TICKET",
    "ROLLBACK_ACTOR",
    "SUPERSEDED",
    "json_ready",
    "outcome_dict",
]

ACTOR = "zenops refresh"
ROLLBACK_ACTOR = "zenops rollback"
REFRESH_TICKET = "zenops.refresh.ticket"  # the run tag naming the refresh ticket a challenger answers
REFRESH_DECISION = "zenops.refresh.decision"  # the run tag of the gate's decision on a challenger
PROMOTED, HANDED_BACK, SUPERSEDED = "promoted", "handed_back", "superseded"
AWAITING_APPROVAL = "awaiting_approval"  # passed the gate; the model asks a person to approve


class Described(Protocol):
    """What the result takes of a comparison: its figures and decision as a dict."""

    def to_dict(self) -> dict[str, Any]: ...


def json_ready(value: Any) -> Any:
    """NaN and infinities become None and dates ISO text, so evidence and results stay valid JSON."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, date):
        return value.isoformat()
    return value


def outcome_dict(
    model: str,
    decision: str,
    champion_version: str | None,
    challenger_version: str | None,
    comparison: Described | None,
    ticket: int | None,
    **extra: Any,
) -> dict[str, Any]:
    """The refresh's result (the interface's JSON keys first)."""
    return json_ready(
        {
            "model": model,
            "champion_version": champion_version,
            "challenger_version": challenger_version,
            "comparison": comparison.to_dict() if comparison is not None else {},
            "decision": decision,
            "ticket": ticket,
            **extra,
        }
    )
