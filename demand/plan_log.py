"""The plans published before: what a re-plan keeps unless moving it pays.

:class:`PlanLog` is the port; :class:`InMemoryPlanLog` keeps its promises for tests,
:class:`demand.adapters.plan_log.SqlPlanLog` in the workspace database. A log keeps
the last :data:`KEPT_PLANS` plans of each mode (``normal``, ``crisis``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol, runtime_checkable

from demand.stability import Planned

KEPT_PLANS = 30


@runtime_checkable
class PlanLog(Protocol):
    """Where published plans are kept."""

    def record(self, made_at: datetime, mode: str, planned: Iterable[Planned]) -> None:
        """Keep a published plan's assignments (older plans beyond the last few are dropped)."""
        ...

    def last(self, mode: str) -> list[Planned]:
        """The assignments of the last plan of ``mode`` (empty when there is none)."""
        ...


class InMemoryPlanLog:
    """A :class:`PlanLog` in a list, safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plans: list[tuple[datetime, str, list[Planned]]] = []

    def record(self, made_at: datetime, mode: str, planned: Iterable[Planned]) -> None:
        with self._lock:
            self._plans.append((made_at, mode, list(planned)))
            same = [p for p in self._plans if p[1] == mode]
            for old in same[:-KEPT_PLANS]:
                self._plans.remove(old)

    def last(self, mode: str) -> list[Planned]:
        with self._lock:
            same = [p for p in self._plans if p[1] == mode]
            return list(same[-1][2]) if same else []
