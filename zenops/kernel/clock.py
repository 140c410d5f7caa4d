"""The time zenops acts at: the wall clock, or a fixed time for replays.

``ZENOPS_NOW`` (ISO 8601, e.g. ``2024-07-15T09:00:00+00:00``) pins the clock, so a
replay of past batches (the demo, a back-test) stamps tickets and due dates at
the replayed time and prints the same story every run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from zenops.kernel.errors import ConfigError


def now() -> datetime:
    """The current time, aware and in UTC."""
    pinned = os.environ.get("ZENOPS_NOW")
    if not pinned:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(pinned)
    except ValueError:
        raise ConfigError(f"ZENOPS_NOW: '{pinned}' is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@contextmanager
def pinned(moment: datetime) -> Iterator[None]:
    """Pin the clock to ``moment`` (naive times are UTC) for the block, then restore it."""
    before = os.environ.get("ZENOPS_NOW")
    os.environ["ZENOPS_NOW"] = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("ZENOPS_NOW", None)
        else:
            os.environ["ZENOPS_NOW"] = before
