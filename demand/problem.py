"""The planning problem as numbers: jobs, time, capacity, GPUs and the cost coefficients.

Each phase of a plannable ticket is a *job* (a ticket without phases is one job); a
ticket's jobs run in phase order, and its first job starts after the last job of
every ticket it waits for (``after``, and the ethics reviews of a gated ticket). A
lead time is a job that occupies no one. Which tickets are plannable, and who may do
each phase, is :mod:`demand.intake`'s.

Time runs in ticks of a quarter day (:data:`TICKS_PER_DAY`) from the plan's start,
on the calendar: a person-day of effort is one calendar day of a full-time person
(no weekends or holidays are modelled). A person works on one ticket at a time, at
their ``capacity`` share of a day, so a ticket lasts ``job size / capacity`` days
(job size: the effort after data re-use, see :mod:`demand.priority`). A GPU job
holds its GPUs for its whole duration; together they never exceed the pool. A
stretch assignment's senior reviewer is busy reviewing for
``review_share × job size / reviewer capacity`` days (never longer than the
work) at the end of the work.

The cost of a schedule, in weighted days (the planner minimises it)::

    cost = Σ lateness weight × days late                    (SLA-weighted lateness)
         + Σ UNDELIVERED_DAYS × value, for tickets ending after the horizon
         + BALANCE_PENALTY_DAYS × person-days missing from the quick-win and R&D shares
         + change_cost_days × assignments of the previous plan moved    (see demand.stability)

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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

from demand import priority
from demand.intake import phases_of, take_in
from demand.phases import Phase
from demand.sla import tier_weights
from demand.staffing import Staffing
from demand.tickets import Ticket, as_utc
from zenops.kernel.config import PlanningPolicy, Resources, TeamMember
from zenops.kernel.errors import PlanningError

TICKS_PER_DAY = 4
TICK = timedelta(days=1) / TICKS_PER_DAY
COST_PER_DAY = 10 * TICKS_PER_DAY
UNDELIVERED_DAYS = 5.0
BALANCE_PENALTY_DAYS = 10.0
CLASSES = ("quick_win", "rnd")


@dataclass(frozen=True)
class Option:
    """One way to staff a job: ``person`` works ``duration`` ticks (with a reviewer if ``stretch``).

    A lead time has one option with no ``person``: it lasts ``duration`` ticks and
    occupies no one.
    """

    person: int | None
    duration: int
    stretch: bool = False


@dataclass(frozen=True)
class Review:
    """A senior who may review a stretch assignment, and for how many ticks."""

    person: int
    duration: int


@dataclass(frozen=True)
class Job:
    """One phase of a plannable ticket (the whole ticket when it has no phases), in ticks.

    ``after``: jobs that must end before this one starts (the phase before it; for a
    ticket's first phase, the last phases of the tickets it waits for). Only a ticket's
    ``final`` job carries its lateness and delivery costs (``late_coef``, ``miss_coef``)
    and its portfolio ``classes``; ``due`` is the ticket's due tick on the final job and,
    on the others, the latest end that still lets the ticket meet it. ``work``: the
    ticket's job size over all its phases; ``earliest_end``: no schedule ends the job
    sooner (its chain of phases done back to back, each by the fastest person).
    """

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
    phase: Phase | None = None
    step: int = 0
    final: bool = True
    work: float = 0.0
    earliest_end: int = 0

    @property
    def is_wait(self) -> bool:
        """True for a lead time: it occupies no one."""
        return self.options[0].person is None

    @property
    def label(self) -> str:
        """``#12`` for a ticket without phases, ``#12 build`` for one of its phases."""
        name = f" {self.phase.name}" if self.phase is not None and self.ticket.phases else ""
        return f"#{self.ticket.id}{name}"


@dataclass(frozen=True)
class Problem:
    """Everything the schedulers need; built by :func:`build_problem`.

    ``chains``: by ticket id, its jobs in phase order.
    """

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
    chains: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    anchors: Mapping[int, Any] = field(default_factory=dict)  # demand.stability.Anchor by job
    change_coef: int = 0

    def at(self, tick: int) -> datetime:
        """The time of a tick."""
        return self.now + tick * TICK

    def ready(self, option: Option) -> int:
        """The earliest tick an option may start: its person's availability."""
        return 0 if option.person is None else self.available[option.person]

    @property
    def finals(self) -> tuple[Job, ...]:
        """Each ticket's final job, by ticket id."""
        return tuple(j for j in self.jobs if j.final)

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
    moved: int = 0

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
    """Turn tickets, team and policy into jobs, or into the reasons they cannot be planned.

    ``tickets`` may include closed ones: a ticket waiting for a done ticket may start.
    """
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
    intake = take_in(tickets, team, resources, crisis)
    jobs: list[Job] = []
    chains: dict[int, tuple[int, ...]] = {}
    breakdowns: dict[int, priority.ScoreBreakdown] = {}
    for ident in _in_dependency_order(intake.gates):  # a ticket's jobs after those it waits for
        ticket, who = intake.staffed[ident]
        breakdowns[ident] = priority.score(ticket, now, policy, done)
        after = tuple(chains[d][-1] for d in intake.gates[ident])
        made = _ticket_jobs(len(jobs), ticket, who, breakdowns[ident], team, policy, weights, after, now)
        chains[ident] = tuple(j.index for j in made)
        jobs += made
    jobs = _with_earliest_ends(jobs, available)
    horizon = policy.horizon_days * TICKS_PER_DAY
    window = min(policy.balance_window_days, policy.horizon_days) * TICKS_PER_DAY
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
        unplannable=tuple(intake.unplannable),
        pushed_back=tuple(intake.pushed_back),
        breakdowns=breakdowns,
        chains=chains,
    )


def _in_dependency_order(gates: Mapping[int, list[int]]) -> list[int]:
    """Ticket ids with every ticket after those it waits for (ties by id; the gates form no cycle)."""
    order: list[int] = []
    placed: set[int] = set()
    pending = sorted(gates)
    while pending:
        ready = [i for i in pending if all(d in placed for d in gates[i])]
        if not ready:  # pragma: no cover - intake leaves cycles out
            raise PlanningError(f"tickets wait for each other: {', '.join(f'#{i}' for i in pending)}")
        order += ready
        placed.update(ready)
        pending = [i for i in pending if i not in placed]
    return order


def _ticket_jobs(
    first: int,
    ticket: Ticket,
    who: tuple[Staffing, ...],
    breakdown: priority.ScoreBreakdown,
    team: Sequence[TeamMember],
    policy: PlanningPolicy,
    weights: Mapping[str, float],
    after: tuple[int, ...],
    now: datetime,
) -> list[Job]:
    """A ticket's jobs, one per phase, each after the one before it."""
    value = ticket.value * priority.sponsor_weight(ticket, policy)
    weight = (weights.get(ticket.sla, 1.0) if ticket.sla else 1.0) * value
    total = breakdown.size.value
    scale = total / ticket.effort if ticket.effort else 1.0  # the re-use discount, spread over phases
    phases = phases_of(ticket)
    classes = set()
    if total <= policy.quick_win_days:
        classes.add("quick_win")
    if ticket.kind == "tooling_rnd":
        classes.add("rnd")
    jobs = []
    gated = False  # the gates hold the first phase of work: a first lead time runs from the creation
    for step, (phase, staffed) in enumerate(zip(phases, who, strict=True)):
        final = step == len(phases) - 1
        previous = (first + step - 1,) if step else ()
        if phase is not None and phase.is_wait:
            options, reviews, size = (Option(None, _wait_ticks(ticket, phase, step, now)),), (), 0.0
            waits_for = previous if step else ()
        else:
            size = (phase.effort if phase is not None else ticket.effort) * scale
            options, reviews = _options(size, staffed, team, policy)
            waits_for = previous if gated else (*previous, *after)
            gated = True
        jobs.append(
            Job(
                index=first + step,
                ticket=ticket,
                score=breakdown.total,
                value=value,
                weight=weight,
                due=to_tick(ticket.due, now, up=False),
                gpus=phase.gpus if phase is not None else ticket.gpus,
                size=size,
                effort_ticks=max(1, round(total * TICKS_PER_DAY)) if final else 0,
                options=options,
                reviews=reviews,
                after=waits_for,
                classes=frozenset(classes) if final else frozenset(),
                late_coef=max(1, round(weight * COST_PER_DAY / TICKS_PER_DAY)) if final else 0,
                miss_coef=round(UNDELIVERED_DAYS * value * COST_PER_DAY) if final else 0,
                note=staffed.note,
                phase=phase,
                step=step,
                final=final,
                work=total,
            )
        )
    return jobs


def _wait_ticks(ticket: Ticket, phase: Phase, step: int, now: datetime) -> int:
    """A lead time's ticks: from the ticket's creation if it is the first phase, else in full."""
    if step == 0:
        ends = ticket.created + timedelta(days=phase.lead_time)
        return max(0, to_tick(ends, now, up=True))
    return ticks_for(phase.lead_time)


def _options(
    size: float, who: Staffing, team: Sequence[TeamMember], policy: PlanningPolicy
) -> tuple[tuple[Option, ...], tuple[Review, ...]]:
    """Who may do ``size`` person-days of work and how long each takes, and the stretch reviews."""
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
    return tuple(options), reviews


def _with_earliest_ends(jobs: list[Job], available: Sequence[int]) -> list[Job]:
    """Each job's earliest end (its chain back to back) and, before the final, its own due."""
    ends: list[int] = []
    for job in jobs:  # every job comes after the jobs it follows
        start = max([0, *(ends[k] for k in job.after)])
        ends.append(min(max(start, _ready(o, available)) + o.duration for o in job.options))
    out = [replace(job, earliest_end=end) for job, end in zip(jobs, ends, strict=True)]
    for job in reversed(out):  # the latest end that lets the phases after it meet the due
        if job.final:
            continue
        following = out[job.index + 1]
        shortest = min(o.duration for o in following.options)
        out[job.index] = replace(job, due=following.due - shortest)
    return out


def _ready(option: Option, available: Sequence[int]) -> int:
    return 0 if option.person is None else available[option.person]


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
        reachable = sum(j.effort_ticks for j in jobs if name in j.classes and j.earliest_end <= window)
        targets[name] = min(round(shares[name] * capacity), reachable)
    return targets
