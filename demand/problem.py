"""The planning problem as numbers, how a schedule is scored, and how it is checked.

Time runs in ticks of a quarter day (:data:`TICKS_PER_DAY`) from the plan's start,
on the calendar: a person-day of effort is one calendar day of a full-time person
(no weekends or holidays are modelled). A person works on one ticket at a time, at
their ``capacity`` share of a day, so a ticket lasts ``job size / capacity`` days
(job size: the effort after data re-use, see :mod:`demand.priority`). A GPU ticket
holds its GPUs for its whole duration; together they never exceed the pool. A
stretch assignment's senior reviewer is busy reviewing for
``review_share × job size / reviewer capacity`` days (never longer than the
work) at the end of the work.

The cost of a schedule, in weighted days (the planner minimises it)::

    cost = Σ lateness weight × days late                    (SLA-weighted lateness)
         + Σ UNDELIVERED_DAYS × value, for tickets ending after the horizon
         + BALANCE_PENALTY_DAYS × person-days missing from the quick-win and R&D shares

    lateness weight = tier weight (SlaTier.lateness_weight, 1 without a tier)
                      × value × sponsor weight

The shares: within the first ``balance_window_days`` at least ``quick_win_share``
of the team's capacity goes to quick wins (job size up to ``quick_win_days``) and
``rnd_share`` to ``tooling_rnd`` tickets, as far as such tickets exist. Costs are
kept as integers (:data:`COST_PER_DAY` units per weighted day) so the optimiser
and the figures agree exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from demand import priority
from demand.sla import tier_weights
from demand.staffing import Staffing, staffing
from demand.tickets import OPERATIONAL_KINDS, Ticket, as_utc
from zenops.kernel.config import PlanningPolicy, Resources, TeamMember
from zenops.kernel.errors import UsageError

TICKS_PER_DAY = 4
TICK = timedelta(days=1) / TICKS_PER_DAY
COST_PER_DAY = 10 * TICKS_PER_DAY
UNDELIVERED_DAYS = 5.0
BALANCE_PENALTY_DAYS = 10.0
CLASSES = ("quick_win", "rnd")


@dataclass(frozen=True)
class Option:
    """One way to staff a job: ``person`` works ``duration`` ticks (with a reviewer if ``stretch``)."""

    person: int
    duration: int
    stretch: bool = False


@dataclass(frozen=True)
class Review:
    """A senior who may review a stretch assignment, and for how many ticks."""

    person: int
    duration: int


@dataclass(frozen=True)
class Job:
    """A plannable ticket in ticks and integer costs."""

    index: int
    ticket: Ticket
    score: float
    value: float
    weight: float
    due: int
    gpus: int
    size: float
    effort_ticks: int
    options: tuple[Option, ...]
    reviews: tuple[Review, ...] = ()
    after: tuple[int, ...] = ()
    classes: frozenset[str] = frozenset()
    late_coef: int = 1
    miss_coef: int = 0
    note: str = ""


@dataclass(frozen=True)
class Problem:
    """Everything the schedulers need; built by :func:`build_problem`."""

    now: datetime
    jobs: tuple[Job, ...]
    team: tuple[TeamMember, ...]
    available: tuple[int, ...]
    gpus: int
    horizon: int
    window: int
    targets: Mapping[str, int]
    shortfall_coef: int
    unplannable: tuple[tuple[Ticket, str], ...] = ()
    pushed_back: tuple[tuple[Ticket, str], ...] = ()
    breakdowns: Mapping[int, priority.ScoreBreakdown] = field(default_factory=dict)

    def at(self, tick: int) -> datetime:
        """The time of a tick."""
        return self.now + tick * TICK

    @property
    def latest_useful_end(self) -> int:
        """A tick by which some cheapest schedule has ended every job.

        The cost only grows as jobs end later, so some cheapest schedule has no job
        that could start earlier; each start then meets the end of another job or a
        person's availability, and chains of such jobs last at most the sum of the
        longest durations.
        """
        longest = sum(max(o.duration for o in job.options) for job in self.jobs)
        return max(self.available, default=0) + longest


@dataclass(frozen=True)
class Placement:
    """Where a job sits: which option, from which tick, reviewed by which ``reviews`` entry."""

    option: int
    start: int
    review: int | None = None


Schedule = dict[int, Placement]


@dataclass(frozen=True)
class Figures:
    """How good a schedule is."""

    cost: int
    lateness: float
    late_tickets: int
    value_delivered: float
    value_total: float
    shortfall: Mapping[str, float]
    makespan: int

    @property
    def cost_days(self) -> float:
        """The cost in weighted days."""
        return self.cost / COST_PER_DAY


def end_of(job: Job, placement: Placement) -> int:
    """The tick at which a placed job ends."""
    return placement.start + job.options[placement.option].duration


def to_tick(moment: datetime, now: datetime, up: bool) -> int:
    """Ticks from ``now`` to ``moment``, rounded up or down."""
    ticks = (moment - now) / TICK
    return math.ceil(ticks - 1e-9) if up else math.floor(ticks + 1e-9)


def ticks_for(days: float) -> int:
    """Whole ticks that hold ``days`` (at least one)."""
    return max(1, math.ceil(days * TICKS_PER_DAY - 1e-9))


def build_problem(
    tickets: Iterable[Ticket],
    team: Sequence[TeamMember],
    resources: Resources,
    policy: PlanningPolicy,
    now: datetime,
    *,
    crisis: bool = False,
    sla_weights: Mapping[str, float] | None = None,
    done_assets: Iterable[str] = (),
) -> Problem:
    """Turn tickets, team and policy into jobs, or into the reasons they cannot be planned."""
    now = as_utc(now, "now")
    weights = dict(tier_weights()) if sla_weights is None else dict(sla_weights)
    done = frozenset(done_assets)
    team = tuple(team)
    available = tuple(
        max(0, to_tick(datetime.combine(p.available_from, time(0), tzinfo=UTC), now, up=True))
        if p.available_from
        else 0
        for p in team
    )
    active = sorted((t for t in tickets if t.is_open), key=lambda t: _ident(t))
    candidates, unplannable, pushed_back = _sort_out(active, resources, crisis)
    staffed = _staffed(candidates, team, unplannable)
    reviews_of = _ethics_gate(staffed, unplannable)

    order = sorted(staffed)
    index_of = {ident: i for i, ident in enumerate(order)}
    horizon = policy.horizon_days * TICKS_PER_DAY
    window = min(policy.balance_window_days, policy.horizon_days) * TICKS_PER_DAY
    jobs: list[Job] = []
    breakdowns: dict[int, priority.ScoreBreakdown] = {}
    for ident in order:
        ticket, who = staffed[ident]
        breakdown = priority.score(ticket, now, policy, done)
        breakdowns[ident] = breakdown
        after = tuple(index_of[r] for r in reviews_of.get(ident, ())) if ticket.awaits_approval else ()
        jobs.append(_job(index_of[ident], ticket, who, breakdown, team, policy, weights, after, now))

    return Problem(
        now=now,
        jobs=tuple(jobs),
        team=team,
        available=available,
        gpus=resources.gpus,
        horizon=horizon,
        window=window,
        targets=_targets(jobs, team, available, window, policy, crisis),
        shortfall_coef=round(BALANCE_PENALTY_DAYS * COST_PER_DAY / TICKS_PER_DAY),
        unplannable=tuple(unplannable),
        pushed_back=tuple(pushed_back),
        breakdowns=breakdowns,
    )


def _sort_out(
    active: Sequence[Ticket], resources: Resources, crisis: bool
) -> tuple[list[Ticket], list[tuple[Ticket, str]], list[tuple[Ticket, str]]]:
    """The tickets the plan considers, those it cannot plan and those a crisis pushes back."""
    unplannable: list[tuple[Ticket, str]] = []
    pushed_back: list[tuple[Ticket, str]] = []
    candidates: list[Ticket] = []
    for ticket in active:
        if crisis and ticket.kind not in OPERATIONAL_KINDS:
            pushed_back.append((ticket, f"crisis mode: operational work only, {ticket.kind} waits"))
        elif ticket.status == "blocked":
            unplannable.append(
                (ticket, f"blocked: {ticket.status_note}" if ticket.status_note else "blocked")
            )
        elif ticket.gpus > resources.gpus:
            unplannable.append((ticket, f"needs {ticket.gpus} GPUs, the pool has {resources.gpus}"))
        else:
            candidates.append(ticket)
    return candidates, unplannable, pushed_back


def _staffed(
    candidates: Iterable[Ticket], team: Sequence[TeamMember], unplannable: list[tuple[Ticket, str]]
) -> dict[int, tuple[Ticket, Staffing]]:
    """Who may do each candidate; those no one may do join ``unplannable`` with the reason."""
    staffed: dict[int, tuple[Ticket, Staffing]] = {}
    for ticket in candidates:
        who = staffing(ticket, team)
        if not who.possible:
            unplannable.append((ticket, who.reason or "no one may do it"))
        else:
            staffed[_ident(ticket)] = (ticket, who)
    return staffed


def _ethics_gate(
    staffed: dict[int, tuple[Ticket, Staffing]], unplannable: list[tuple[Ticket, str]]
) -> dict[int, list[int]]:
    """The ethics gate: work starts after an open, plannable ethics review of it ends.

    Returns the reviews of each ticket; a ticket awaiting approval with no review that
    can be planned leaves ``staffed`` for ``unplannable``.
    """
    reviews_of: dict[int, list[int]] = {}
    for ident, (ticket, _) in staffed.items():
        if ticket.kind == "ethics_review" and ticket.subject is not None and not ticket.awaits_approval:
            reviews_of.setdefault(ticket.subject, []).append(ident)
    for ident, (ticket, _) in list(staffed.items()):
        if ticket.awaits_approval and not reviews_of.get(ident):
            del staffed[ident]
            unplannable.append(
                (ticket, "waiting for ethics approval (no ethics review of it can be planned)")
            )
    return reviews_of


def _job(
    index: int,
    ticket: Ticket,
    who: Staffing,
    breakdown: priority.ScoreBreakdown,
    team: Sequence[TeamMember],
    policy: PlanningPolicy,
    weights: Mapping[str, float],
    after: tuple[int, ...],
    now: datetime,
) -> Job:
    """One ticket as a job: who may do it and how long each takes, its review, its costs."""
    size = breakdown.size.value
    options = [Option(p, ticks_for(size / team[p].capacity)) for p in who.assignees]
    options += [Option(p, ticks_for(size / team[p].capacity), stretch=True) for p in who.stretch]
    reviews: tuple[Review, ...] = ()
    if who.stretch:
        # A review happens within the work it reviews: never longer than the shortest stretch.
        shortest = min(o.duration for o in options if o.stretch)
        reviews = tuple(
            Review(
                p,
                min(
                    shortest,
                    math.ceil(policy.review_share * size * TICKS_PER_DAY / team[p].capacity - 1e-9),
                ),
            )
            for p in who.reviewers
        )
    value = ticket.value * priority.sponsor_weight(ticket, policy)
    weight = (weights.get(ticket.sla, 1.0) if ticket.sla else 1.0) * value
    classes = set()
    if size <= policy.quick_win_days:
        classes.add("quick_win")
    if ticket.kind == "tooling_rnd":
        classes.add("rnd")
    return Job(
        index=index,
        ticket=ticket,
        score=breakdown.total,
        value=value,
        weight=weight,
        due=to_tick(ticket.due, now, up=False),
        gpus=ticket.gpus,
        size=size,
        effort_ticks=max(1, round(size * TICKS_PER_DAY)),
        options=tuple(options),
        reviews=reviews,
        after=after,
        classes=frozenset(classes),
        late_coef=max(1, round(weight * COST_PER_DAY / TICKS_PER_DAY)),
        miss_coef=round(UNDELIVERED_DAYS * value * COST_PER_DAY),
        note=who.note,
    )


def _targets(
    jobs: Sequence[Job],
    team: Sequence[TeamMember],
    available: Sequence[int],
    window: int,
    policy: PlanningPolicy,
    crisis: bool,
) -> dict[str, int]:
    """Effort each class of work should get in the balance window, as far as it can."""
    shares = (
        {"quick_win": 0.0, "rnd": 0.0}
        if crisis
        else {"quick_win": policy.quick_win_share, "rnd": policy.rnd_share}
    )
    capacity = sum(p.capacity * max(0, window - available[i]) for i, p in enumerate(team))
    targets: dict[str, int] = {}
    for name in CLASSES:
        reachable = sum(
            j.effort_ticks
            for j in jobs
            if name in j.classes and min(available[o.person] + o.duration for o in j.options) <= window
        )
        targets[name] = min(round(shares[name] * capacity), reachable)
    return targets


def _ident(ticket: Ticket) -> int:
    if ticket.id is None:
        raise UsageError(f"ticket '{ticket.title}': only stored tickets (with an id) can be planned")
    return ticket.id
