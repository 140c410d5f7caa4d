"""The capacity-aware plan of the team's work: who does which ticket, when, and why.

:func:`plan` takes the open tickets, the team, the GPU pool and the planning
policy and returns a :class:`Plan`:

1. :func:`demand.problem.build_problem` sorts the tickets into plannable jobs and
   those that cannot be planned (with the reason: nobody with the skills, GPUs
   beyond the pool, blocked, waiting for ethics approval) or that crisis mode
   pushes back (crisis mode plans ``refresh``, ``rebuild`` and ``data_quality``
   only, and drops the quick-win and R&D shares).
2. :func:`demand.greedy.best_greedy` builds a valid schedule in milliseconds.
3. :func:`demand.cpsat.solve` improves it with CP-SAT within ``time_limit_s``;
   if CP-SAT finds nothing, the greedy schedule is the plan.
4. Each job is then moved as early as its staffing allows (kept only if it costs
   no more), and the plan is checked against every rule before it is returned.

Rules and the objective are documented in :mod:`demand.problem` (time, capacity,
GPUs, cost), :mod:`demand.staffing` (skills, roles, experience, stretch reviews)
and :mod:`demand.priority` (the score shown with each assignment).

Ethics: a ticket that needs ethics approval and does not have it is planned to
start only after an open ``ethics_review`` ticket naming it as its ``subject``
ends; without such a review it is not planned ("waiting for ethics approval").
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

__all__ = ["Assignment", "Objective", "Plan", "Unplanned", "plan"]

from demand.bounds import fluid_bound
from demand.cpsat import SolverResult, optimise
from demand.forecast import Assignment, Unplanned, assignments, unplanned
from demand.greedy import best_greedy, compact
from demand.lagrange import WALL_CAP_FACTOR, lagrangian_bound, rounds_for
from demand.problem import COST_PER_DAY, Figures, Problem, Schedule, build_problem, end_of
from demand.schedules import evaluate, violations
from demand.stability import Planned, anchors
from demand.tickets import Ticket
from zenops.kernel.config import PlanningPolicy, Resources, TeamMember
from zenops.kernel.errors import PlanningError


@dataclass(frozen=True)
class Objective:
    """How good the plan is, and how it was found.

    ``lateness``: Σ lateness weight × days late (tier weight × value × sponsor weight);
    ``value_delivered``: Σ value × sponsor weight of tickets ending within the horizon;
    ``cost``: the optimised objective in weighted days (see :mod:`demand.problem`);
    ``bound``: a proven lower bound on the cost: CP-SAT's, or the fluid relaxation's
    (:mod:`demand.bounds`) when that is higher, as ``bound_source`` says;
    ``gap``: (cost − bound) / cost; ``anchored``: jobs the previous plan placed,
    ``moved``: how many of them this plan moves (see :mod:`demand.stability`).
    """

    lateness: float = 0.0
    late_tickets: int = 0
    value_delivered: float = 0.0
    value_total: float = 0.0
    cost: float = 0.0
    bound: float | None = None
    bound_source: str = ""
    gap: float | None = None
    solver: str = "none"
    status: str = "EMPTY"
    warm_start: str = ""
    warm_start_cost: float | None = None
    shortfall: Mapping[str, float] = field(default_factory=dict)
    planner_seconds: float = 0.0
    solver_seconds: float = 0.0
    bound_seconds: float = 0.0
    deterministic_time: float = 0.0
    neighbourhoods: int = 0
    improvements: int = 0
    horizon_end: datetime | None = None
    anchored: int = 0
    moved: int = 0

    def to_dict(self, timings: bool = True) -> dict[str, Any]:
        """JSON-ready fields; without ``timings`` only what is the same on every run."""
        data = {
            "sla_weighted_lateness": round(self.lateness, 3),
            "late_tickets": self.late_tickets,
            "value_delivered": round(self.value_delivered, 3),
            "value_total": round(self.value_total, 3),
            "cost": round(self.cost, 3),
            "bound": None if self.bound is None else round(self.bound, 3),
            "bound_source": self.bound_source,
            "gap": None if self.gap is None else round(self.gap, 4),
            "solver": self.solver,
            "status": self.status,
            "warm_start": self.warm_start,
            "warm_start_cost": None if self.warm_start_cost is None else round(self.warm_start_cost, 3),
            "shortfall_days": {k: round(v, 3) for k, v in self.shortfall.items()},
            "planner_seconds": round(self.planner_seconds, 3),
            "solver_seconds": round(self.solver_seconds, 3),
            "deterministic_time": round(self.deterministic_time, 3),
            "neighbourhoods": self.neighbourhoods,
            "improvements": self.improvements,
            "horizon_end": self.horizon_end.isoformat() if self.horizon_end else None,
            "bound_seconds": round(self.bound_seconds, 3),
            "anchored": self.anchored,
            "moved": self.moved,
        }
        if not timings:
            for key in ("planner_seconds", "solver_seconds", "bound_seconds"):
                del data[key]
        return data


@dataclass(frozen=True)
class Plan:
    """The plan: assignments by start time, what was left out, and its figures."""

    now: datetime
    crisis: bool
    assignments: tuple[Assignment, ...]
    unplannable: tuple[Unplanned, ...]
    pushed_back: tuple[Unplanned, ...]
    objective: Objective

    @property
    def at_risk(self) -> tuple[Assignment, ...]:
        """Assignments that end after their ticket is due."""
        return tuple(a for a in self.assignments if a.sla_at_risk)

    def planned(self) -> list[Planned]:
        """Each ticket's assignments (per phase where it has phases), for the next plan to keep."""
        out = []
        for a in self.assignments:
            if not a.phases:
                out.append(Planned(a.ticket, None, a.assignee, a.start, a.reviewer))
            out += [
                Planned(a.ticket, slot.name, slot.assignee, slot.start, slot.reviewer) for slot in a.phases
            ]
        return out

    def for_person(self, name: str) -> tuple[Assignment, ...]:
        """The assignments one person works on (a phase or a review of them included), by start."""
        return tuple(a for a in self.assignments if name in a.people)

    def to_dict(self, timings: bool = True) -> dict[str, Any]:
        """JSON-ready plan; ``plan`` is the ordered list of assignments.

        Without ``timings`` the document leaves out the seconds spent, so the same
        inputs give the same document on every run.
        """
        return {
            "now": self.now.isoformat(),
            "crisis": self.crisis,
            "plan": [a.to_dict() for a in self.assignments],
            "unplannable": [u.to_dict() for u in self.unplannable],
            "pushed_back": [u.to_dict() for u in self.pushed_back],
            "objective": self.objective.to_dict(timings=timings),
        }


def plan(
    tickets: Iterable[Ticket],
    team: Sequence[TeamMember],
    resources: Resources,
    policy: PlanningPolicy,
    now: datetime,
    crisis: bool = False,
    sla_weights: Mapping[str, float] | None = None,
    done_assets: Iterable[str] = (),
    previous: Iterable[Planned] = (),
) -> Plan:
    """Plan the open tickets on the team's capacity and the GPU pool.

    ``sla_weights`` maps SLA tier to lateness weight (default:
    :func:`demand.sla.tier_weights` of the default tiers; pass
    ``tier_weights(config.sla_tiers)``). ``done_assets`` are data assets that done
    tickets produced (they shorten tickets that re-use them). ``previous``: the last
    plan's assignments, kept unless moving them pays (:mod:`demand.stability`).
    ``tickets`` may hold closed tickets too: a ticket waiting for a done one may start.
    """
    began = time.perf_counter()
    problem = build_problem(
        tickets, team, resources, policy, now, crisis=crisis, sla_weights=sla_weights, done_assets=done_assets
    )
    previous = list(previous)
    if previous:
        problem = replace(
            problem,
            anchors=anchors(problem.jobs, problem.team, previous, problem.now),
            change_coef=round(policy.change_cost_days * COST_PER_DAY),
        )
    if not problem.jobs:
        objective = Objective(
            planner_seconds=time.perf_counter() - began, horizon_end=problem.at(problem.horizon)
        )
        return _plan(problem, {}, objective, crisis, policy.handoff_gap_days)
    found = _search(problem, policy)
    bound, source, bound_seconds = _bound(problem, policy, found)
    figures = found.figures
    objective = Objective(
        lateness=figures.lateness,
        late_tickets=figures.late_tickets,
        value_delivered=figures.value_delivered,
        value_total=figures.value_total,
        cost=figures.cost_days,
        bound=bound / COST_PER_DAY,
        bound_source=source,
        gap=0.0 if figures.cost == 0 else (figures.cost - bound) / figures.cost,
        solver=found.solver,
        status="OPTIMAL" if figures.cost <= bound else found.status,  # the bound proves no plan is cheaper
        warm_start=found.warm_name,
        warm_start_cost=found.warm_cost / COST_PER_DAY,
        shortfall=figures.shortfall,
        planner_seconds=time.perf_counter() - began,
        solver_seconds=found.result.seconds,
        bound_seconds=bound_seconds,
        deterministic_time=found.result.deterministic_time,
        neighbourhoods=found.result.neighbourhoods,
        improvements=found.result.improvements,
        horizon_end=problem.at(problem.horizon),
        anchored=len(problem.anchors),
        moved=figures.moved,
    )
    return _plan(problem, found.schedule, objective, crisis, policy.handoff_gap_days)


@dataclass(frozen=True)
class _Found:
    schedule: Schedule
    figures: Figures
    solver: str
    status: str
    warm_name: str
    warm_cost: int
    result: SolverResult


def _search(problem: Problem, policy: PlanningPolicy) -> _Found:
    """The best greedy schedule, improved by CP-SAT, each job then moved as early as it can go."""
    warm_name, warm, warm_figures = best_greedy(problem)
    result = optimise(problem, warm, policy)
    schedule, figures = warm, warm_figures
    solver, status = "greedy", f"cp-sat {result.status}: greedy plan kept"
    if not violations(problem, result.schedule):
        found = evaluate(problem, result.schedule)
        if found.cost < warm_figures.cost or result.status == "OPTIMAL":
            schedule, figures, solver, status = result.schedule, found, "cp-sat", result.status
    tightened = compact(problem, schedule)
    tightened_figures = evaluate(problem, tightened)
    if tightened_figures.cost <= figures.cost:
        schedule, figures = tightened, tightened_figures
    broken = violations(problem, schedule)
    if broken:
        raise PlanningError(f"the plan breaks a rule: {broken[0]}")
    return _Found(schedule, figures, solver, status, warm_name, warm_figures.cost, result)


def _bound(problem: Problem, policy: PlanningPolicy, found: _Found) -> tuple[int, str, float]:
    """The best proven lower bound on the cost: CP-SAT's, the fluid or the Lagrangian relaxation's."""
    began = time.perf_counter()
    candidates = [(fluid_bound(problem), "fluid relaxation")]
    if found.result.bound is not None:
        candidates.append((found.result.bound, "cp-sat"))
    if policy.bound_time_s > 0 and found.figures.cost > max(c for c, _ in candidates):
        end = max(end_of(j, found.schedule[j.index]) for j in problem.jobs)
        rounds = rounds_for(problem, end, policy.bound_time_s)
        wall = policy.bound_time_s * WALL_CAP_FACTOR
        dual = lagrangian_bound(problem, found.figures.cost, end, wall, rounds, found.schedule)
        if dual.bound is not None:
            candidates.append((dual.bound, "lagrangian relaxation"))
    bound, source = max(candidates, key=lambda c: c[0])
    return min(bound, found.figures.cost), source, time.perf_counter() - began


def _plan(problem: Problem, schedule: Schedule, objective: Objective, crisis: bool, gap_days: float) -> Plan:
    return Plan(
        now=problem.now,
        crisis=crisis,
        assignments=tuple(assignments(problem, schedule, gap_days)),
        unplannable=tuple(unplanned(t, why) for t, why in problem.unplannable),
        pushed_back=tuple(unplanned(t, why) for t, why in problem.pushed_back),
        objective=objective,
    )
