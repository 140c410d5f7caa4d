"""SLA clocks: when a ticket is due, how urgent it is now, and how much its lateness weighs.

- A ticket's due time is its creation time plus its tier's time for its kind
  (``SlaTier.due_after``), unless the ticket gives an explicit due date.
- *Urgency* is the SLA term of the priority score. Before the due time it halves
  with each :data:`URGENCY_HALF_LIFE_DAYS` left (``10`` at the due time, ``5`` a
  week before, ``2.5`` two weeks before); past it, it grows with the square of the
  days overdue (``10 × (1 + days overdue)²``: 40 one day late, 90 two days late),
  so a breached SLA soon outweighs any business value (at most 10 × sponsor weight).
- The *lateness weight* of a tier (``SlaTier.lateness_weight``) multiplies a ticket's
  lateness in the plan's objective: a day late on a gold model costs more than a
  day late on a silver one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from zenops.kernel.config import DEFAULT_SLA_TIERS, SlaTier

URGENCY_AT_DUE = 10.0
URGENCY_HALF_LIFE_DAYS = 7.0
DAY = timedelta(days=1)


def due_at(kind: str, created: datetime, tier: SlaTier) -> datetime:
    """When a ticket of ``kind`` opened at ``created`` breaches ``tier``'s SLA."""
    return created + tier.due_after(kind)


def days_left(due: datetime, now: datetime) -> float:
    """Days until ``due`` (negative once breached)."""
    return (due - now) / DAY


def breached(due: datetime, now: datetime) -> bool:
    """True once ``now`` is past ``due``."""
    return now > due


def urgency(due: datetime, now: datetime) -> float:
    """The SLA urgency term: rises as ``due`` nears, grows steeply once breached."""
    left = days_left(due, now)
    if left >= 0:
        return URGENCY_AT_DUE * 2.0 ** (-left / URGENCY_HALF_LIFE_DAYS)
    return URGENCY_AT_DUE * (1.0 - left) ** 2


def describe(due: datetime, now: datetime) -> str:
    """``due in 2.5d`` or ``SLA breached 1.0d ago``, for explanations."""
    left = days_left(due, now)
    if left >= 0:
        return f"due in {left:.1f}d"
    return f"SLA breached {-left:.1f}d ago"


def tier_weights(tiers: Mapping[str, SlaTier] = DEFAULT_SLA_TIERS) -> dict[str, float]:
    """The lateness weight of each tier (see ``SlaTier.lateness_weight``)."""
    return {name: tier.lateness_weight for name, tier in tiers.items()}
