"""Configuration of the demand side: SLA tiers, ticket kinds, the team, shared resources,
the planner's weights."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from zenops.kernel.config.base import Duration, Name, _Strict
from zenops.kernel.errors import ConfigError

TICKET_KINDS = (
    "refresh",
    "rebuild",
    "data_quality",
    "new_project",
    "tooling_rnd",
    "ethics_review",
    "approval",
    "stale_monitoring",
)


class SlaTier(_Strict):
    """How long each kind of ticket may stay open before its SLA is breached.

    - ``approval`` (default 2d): a challenger or candidate that passed the promotion gate
      of a model whose ``promotion.approval`` is ``required`` waits this long for
      ``zenops approve`` / ``zenops reject``.
    - ``stale_monitoring`` (default 12h): the SLA watch's incident for a model whose last
      completed monitoring cycle is older than ``monitoring.stale_after``.
    - ``weight``: how much a day of lateness on this tier weighs in the plan,
      relative to other tiers. Default: ``7d / refresh``, kept within 0.5–5, so a
      tier that refreshes within 2 days weighs 3.5 and one with 7 days weighs 1.
    """

    refresh: Duration
    rebuild: Duration
    data_quality: Duration
    new_project: Duration = timedelta(days=90)
    tooling_rnd: Duration = timedelta(days=60)
    ethics_review: Duration = timedelta(days=14)
    approval: Duration = timedelta(days=2)
    stale_monitoring: Duration = timedelta(hours=12)
    weight: float | None = Field(None, gt=0, le=100)

    def due_after(self, kind: str) -> timedelta:
        """The time a ticket of ``kind`` has before its due time."""
        if kind not in TICKET_KINDS:
            raise ConfigError(f"unknown ticket kind '{kind}'")
        return getattr(self, kind)

    @property
    def lateness_weight(self) -> float:
        """``weight`` if given, else derived from how fast the tier wants refreshes."""
        if self.weight is not None:
            return self.weight
        days = max(self.refresh.total_seconds() / 86400, 1e-9)
        return min(5.0, max(0.5, 7.0 / days))


class TeamMember(_Strict):
    """A person on the team. ``capacity`` is the share of a full week they give (0–1]."""

    name: Name
    role: Literal["mlops_engineer", "data_scientist"]
    skills: list[str] = []
    level: Literal["junior", "mid", "senior"] = "mid"
    capacity: float = Field(1.0, gt=0, le=1)
    available_from: date | None = None


class Resources(_Strict):
    gpus: int = Field(0, ge=0)


class PlanningPolicy(_Strict):
    """Portfolio balance and planning limits.

    - ``quick_win_share``: share of capacity kept for small quick wins.
    - ``rnd_share``: share of capacity kept for tooling R&D.
    - ``horizon_days``: how far ahead the plan schedules.
    - ``time_limit_s``: the optimiser's time limit; the greedy plan is the fallback.
      With ``deterministic`` it is CP-SAT's deterministic time (close to seconds).
    - ``sponsor_weights``: weight per sponsor (default 1.0).
    - ``quick_win_days``: effort (person-days) up to which a ticket is a quick win (default 2).
    - ``balance_window_days``: the first days of the plan over which the quick-win and
      R&D shares are kept (default 28, at most the horizon).
    - ``review_share``: share of a stretch ticket's effort its senior reviewer spends
      reviewing, at the end of the work (default 0.2).
    - ``reuse_discount``: how much of a ticket's effort is saved when all the data
      assets it uses were already produced by done tickets (default 0.3).
    - ``deterministic``: the same inputs give the same plan on the same machine
      (default true): the optimiser stops on deterministic time, interleaving its
      workers; false stops on wall time with free-running workers.
    - ``workers``: optimiser threads (default 2).
    - ``seed``: the optimiser's random seed (default 0).
    """

    quick_win_share: float = Field(0.15, ge=0, le=1)
    rnd_share: float = Field(0.1, ge=0, le=1)
    horizon_days: int = Field(180, ge=1)
    time_limit_s: float = Field(5.0, gt=0)
    sponsor_weights: dict[str, float] = {}
    quick_win_days: float = Field(2.0, gt=0)
    balance_window_days: int = Field(28, ge=1)
    review_share: float = Field(0.2, ge=0, le=1)
    reuse_discount: float = Field(0.3, ge=0, le=0.9)
    deterministic: bool = True
    workers: int = Field(2, ge=1, le=64)
    seed: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _shares(self) -> PlanningPolicy:
        if self.quick_win_share + self.rnd_share > 1:
            raise ValueError("quick_win_share + rnd_share: together they must not exceed 1")
        for sponsor, weight in self.sponsor_weights.items():
            if not weight > 0:
                raise ValueError(f"sponsor_weights.{sponsor}: weight must be greater than 0")
        return self


DEFAULT_SLA_TIERS = {
    "gold": SlaTier(refresh="2d", rebuild="14d", data_quality="1d"),
    "silver": SlaTier(refresh="7d", rebuild="30d", data_quality="3d"),
}
