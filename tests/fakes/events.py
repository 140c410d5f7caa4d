"""An event bus in memory: the :class:`zenops.ports.EventBus` port without Prefect."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Emitted:
    """One event as it was emitted."""

    event: str
    resource: dict[str, str]
    payload: dict[str, Any]
    related: list[dict[str, str]] = field(default_factory=list)


class FakeEventBus:
    """Keeps every event emitted, in order, in ``emitted``."""

    def __init__(self) -> None:
        self.emitted: list[Emitted] = []

    def emit(
        self,
        event: str,
        resource: Mapping[str, str],
        payload: Mapping[str, Any],
        related: Sequence[Mapping[str, str]] = (),
    ) -> None:
        self.emitted.append(Emitted(event, dict(resource), dict(payload), [dict(r) for r in related]))

    def named(self, event: str) -> list[Emitted]:
        """The events called ``event``, in order."""
        return [e for e in self.emitted if e.event == event]
