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


LEVELS = ("junior", "mid", "senior")
NO_PHASES = "none"


class PhaseTemplate(_Strict):
    """One phase of a ``planning.phases`` template (see ``demand/phases.py``).

    Work gives ``effort`` (person-days) or ``share`` (of the ticket's effort); a wait
    for someone outside the team gives ``lead_time`` and nothing else.
    """

    name: Name
    effort: float | None = Field(None, gt=0)
    share: float | None = Field(None, gt=0, le=1)
    lead_time: Duration | None = None
    role: Literal["mlops_engineer", "data_scientist"] | None = None
    skills: list[str] = []
    level: Literal["junior", "mid", "senior"] | None = None
    gpus: int = Field(0, ge=0, le=1024)

    @model_validator(mode="after")
    def _one_size(self) -> PhaseTemplate:
        given = [k for k in ("effort", "share", "lead_time") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"{self.name}: give exactly one of effort, share or lead_time")
        if self.lead_time is not None:
            if self.lead_time.total_seconds() <= 0:
                raise ValueError(f"{self.name}.lead_time: must be longer than 0")
            if self.role or self.skills or self.level or self.gpus:
                raise ValueError(
                    f"{self.name}: a lead time occupies no one; give it no role, skills, level or GPUs"
                )
        return self

    @property
    def is_wait(self) -> bool:
        return self.lead_time is not None


def _check_template(name: str, phases: list[PhaseTemplate]) -> None:
    if name == NO_PHASES:
        raise ValueError(f"phases.{name}: '{NO_PHASES}' is reserved (it asks for no phases)")
    if not phases or all(p.is_wait for p in phases):
        raise ValueError(f"phases.{name}: give at least one phase of work")
    seen: set[str] = set()
    for phase in phases:
        if phase.name in seen:
            raise ValueError(f"phases.{name}: phase '{phase.name}' is named twice")
        seen.add(phase.name)
    work = [p for p in phases if not p.is_wait]
    shares = [p.share for p in work if p.share is not None]
    if shares and len(shares) != len(work):
        raise ValueError(f"phases.{name}: give every phase of work a share, or every one an effort")
    if shares and abs(sum(shares) - 1) > 1e-6:
        raise ValueError(f"phases.{name}: the shares add up to {sum(shares):g}, not 1")


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
    - ``phases``: phase templates by name (see ``demand/phases.py``); a template named
      after a ticket kind gives every new ticket of that kind its phases, others are
      chosen by name (``zenops tickets new --phases-from NAME``). Default: none.
    - ``handoff_gap_days``: a hand-off between phases is at risk when the next phase
      starts more than this many days after the one before it ends (default 5).
    - ``change_cost_days``: what moving an assignment of the previous plan (another
      person, or another start) costs, in weighted days (default 1.0): a re-plan keeps
      the previous plan's assignments unless moving them saves more (0: no stickiness).
    - ``bound_time_s``: time for the Lagrangian relaxation's lower bound on the plan's
      cost, the figure the plan's gap is measured against (default 2; 0: the cheaper
      bounds only). Reproducible: it sets a number of rounds by the problem's size.
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
    phases: dict[Name, list[PhaseTemplate]] = {}
    handoff_gap_days: float = Field(5.0, ge=0)
    change_cost_days: float = Field(1.0, ge=0)
    bound_time_s: float = Field(2.0, ge=0)

    @model_validator(mode="after")
    def _shares(self) -> PlanningPolicy:
        for name, phases in self.phases.items():
            _check_template(name, phases)
        if self.quick_win_share + self.rnd_share > 1:
            raise ValueError("quick_win_share + rnd_share: together they must not exceed 1")
        for sponsor, weight in self.sponsor_weights.items():
            if not weight > 0:
                raise ValueError(f"sponsor_weights.{sponsor}: weight must be greater than 0")
        return self


def check_templates(policy: PlanningPolicy, team: list[TeamMember], resources: Resources) -> None:
    """Each template's phases can be done by someone on the team and fit the GPU pool."""
    for name, phases in policy.phases.items():
        for i, phase in enumerate(phases):
            where = f"planning.phases.{name}[{i}]"
            if phase.gpus > resources.gpus:
                raise ValueError(f"{where}.gpus: needs {phase.gpus} GPUs, the pool has {resources.gpus}")
            if phase.is_wait or not team:
                continue
            least = LEVELS.index(phase.level or "junior")
            if not any(
                (phase.role is None or p.role == phase.role)
                and set(phase.skills) <= set(p.skills)
                and LEVELS.index(p.level) >= least
                for p in team
            ):
                who = " ".join(x for x in (phase.level, (phase.role or "person").replace("_", " ")) if x)
                skills = f" with {', '.join(phase.skills)}" if phase.skills else ""
                raise ValueError(f"{where}: no {who}{skills} is on the team")


DEFAULT_SLA_TIERS = {
    "gold": SlaTier(refresh="2d", rebuild="14d", data_quality="1d"),
    "silver": SlaTier(refresh="7d", rebuild="30d", data_quality="3d"),
}
