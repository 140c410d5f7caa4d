"""What crosses the notifier port: a message, the URLs it goes to, what became of each.

Plain values shared by the notifications service (:mod:`zenops.services.notify`,
which writes and routes messages) and the notifier adapter
(:mod:`zenops.adapters.apprise`, which sends them), so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Delivery", "Message", "Severity", "Target"]

Severity = Literal["info", "success", "warning", "failure"]


@dataclass(frozen=True)
class Message:
    """One notification: a title, a markdown body and how serious it is."""

    title: str
    body: str
    severity: Severity = "info"


@dataclass(frozen=True)
class Target:
    """One URL to notify and the ``zenops.yaml`` field it comes from (for error lines)."""

    field: str  # e.g. notifications.owners.ds-credit
    url: str

    @property
    def scheme(self) -> str:
        """Only the URL's scheme (``slack://``): names the target without any of its secrets."""
        return self.url.split("://", 1)[0] + "://" if "://" in self.url else "?"


@dataclass(frozen=True)
class Delivery:
    """What became of one URL's notification. ``target`` hides secrets; ``error`` says why it failed."""

    audience: str
    target: str
    ok: bool
    error: str | None = None
