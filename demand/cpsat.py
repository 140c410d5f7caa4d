"""The planning problem as a CP-SAT model: a full solve for the bound, then neighbourhood search.

Model (all times in ticks, see :mod:`demand.problem`), for the jobs being optimised:

- per job: ``start``, ``end``; one Boolean per staffing option, exactly one true;
  per option an *optional interval* on that person (fixed size: the person's
  duration), ``end = start + duration`` when chosen, never before the person is
  available;
- a stretch option needs exactly one reviewer Boolean; the review is an optional
  interval on the reviewer that ends with the job;
- ``NoOverlap`` per person over their work and review intervals (one thing at a time);
- ``Cumulative`` over the jobs' intervals with their GPU counts, capacity the pool;
- an ethics-gated job starts after its review job ends;
- the objective is the integer cost of :func:`demand.problem.evaluate`.

Jobs not being optimised keep their place and enter the model as fixed intervals.

Search (:func:`optimise`):

1. The full model, every variable hinted with the greedy schedule, so the first
   solution is at least as good as it. Small plans (up to :data:`SMALL_PLAN_JOBS`
   jobs) get the whole time limit and are often proved optimal; plans up to
   :data:`FULL_MODEL_MAX_JOBS` jobs get :data:`FULL_SHARE` of it, for CP-SAT's
   lower bound on the cost; larger ones skip this step (loading the model alone
   takes seconds).
2. Large neighbourhood search: repeatedly free a window of jobs (consecutive by
   start, or those a random part of the team may do), keep the rest fixed, and let
   CP-SAT re-staff and re-order the window from the current plan; keep the result
   when the whole plan costs less. Windows grow when solved to optimality and
   shrink when not.

Determinism: every solve runs one search worker (or, for the full model, several
interleaved in a fixed order, ``interleave_search``), with a fixed
``random_seed``, and stops on deterministic time, never wall time; windows are
drawn from a seeded generator; the search stops when the deterministic time
spent reaches the budget. The budget is ``time_limit_s`` converted at
:data:`DETERMINISTIC_PER_SECOND` (CP-SAT's deterministic time runs about twenty
times slower than the wall clock on these models, measured on two cores). The
same inputs thus give the same plan on the same machine and build. A wall-clock
cap (:data:`WALL_CAP_FACTOR` × ``time_limit_s``) only guards against a machine
far slower than expected; when it cuts the search short the plan is still valid
but may differ between runs. With ``policy.deterministic`` false the search
stops on wall time instead, its workers running freely.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass

from ortools.sat.python import cp_model

from demand.problem import CLASSES, Placement, Problem, Schedule, end_of, evaluate
from zenops.kernel.config import PlanningPolicy

DETERMINISTIC_PER_SECOND = 0.05
WALL_CAP_FACTOR = 3.0
SMALL_PLAN_JOBS = 40
FULL_MODEL_MAX_JOBS = 150
FULL_SHARE = 0.1
WINDOW_START, WINDOW_MIN, WINDOW_MAX = 40, 12, 150
NEIGHBOURHOOD_LIMIT = 0.005
SPAN_SLACK_TICKS = 8


@dataclass(frozen=True)
class SolverResult:
    """What the search found: the best schedule, its status, CP-SAT's bound on the cost (or None)."""

    schedule: Schedule
    status: str
    bound: int | None
    seconds: float
    deterministic_time: float
    neighbourhoods: int = 0
    improvements: int = 0


@dataclass
class _Vars:
    model: cp_model.CpModel
    free: list[int]
    starts: dict[int, cp_model.IntVar]
    options: dict[int, list[cp_model.IntVar]]
    reviews: dict[int, list[cp_model.IntVar]]


def build_model(
    problem: Problem, current: Schedule, free: Iterable[int], span: tuple[int, int] | None = None
) -> _Vars:
    """The CP-SAT model of the jobs in ``free``, hinted with ``current``; the others stay put.

    With ``span`` the free jobs stay within those ticks, and only fixed work
    overlapping them enters the model.
    """
    model = cp_model.CpModel()
    jobs = problem.jobs
    free_list = sorted(set(free))
    free_set = set(free_list)
    ends_now = {j.index: end_of(j, current[j.index]) for j in jobs}
    low = 0
    if span is None:
        top = max([problem.horizon, problem.latest_useful_end, *ends_now.values()])
    else:
        low, top = span
    followers: dict[int, list[int]] = {}
    for job in jobs:
        for before in job.after:
            followers.setdefault(before, []).append(job.index)

    people_used: set[int] = set()
    any_gpu = False
    for index in free_list:
        job = jobs[index]
        people_used.update(o.person for o in job.options)
        people_used.update(r.person for r in job.reviews)
        any_gpu = any_gpu or job.gpus > 0

    person_intervals: dict[int, list[cp_model.IntervalVar]] = {p: [] for p in people_used}
    gpu_intervals: list[cp_model.IntervalVar] = []
    gpu_demands: list[int] = []
    for job in jobs:
        if job.index in free_set:
            continue
        placement = current[job.index]
        option = job.options[placement.option]
        end = ends_now[job.index]
        if end <= low or placement.start >= top:
            continue
        if option.person in person_intervals:
            person_intervals[option.person].append(
                model.new_fixed_size_interval_var(placement.start, option.duration, "")
            )
        if placement.review is not None:
            review = job.reviews[placement.review]
            if review.person in person_intervals and review.duration:
                person_intervals[review.person].append(
                    model.new_fixed_size_interval_var(end - review.duration, review.duration, "")
                )
        if any_gpu and job.gpus:
            gpu_intervals.append(model.new_fixed_size_interval_var(placement.start, option.duration, ""))
            gpu_demands.append(job.gpus)

    starts: dict[int, cp_model.IntVar] = {}
    ends: dict[int, cp_model.IntVar] = {}
    options: dict[int, list[cp_model.IntVar]] = {}
    reviews: dict[int, list[cp_model.IntVar]] = {}
    objective = []
    constant = 0
    for index in free_list:
        job = jobs[index]
        placement = current[index]
        earliest = max(low, min(problem.available[o.person] for o in job.options))
        for before in job.after:
            if before not in free_set:
                earliest = max(earliest, ends_now[before])
        latest_end = min([top, *(current[f].start for f in followers.get(index, ()) if f not in free_set)])
        shortest = min(o.duration for o in job.options)
        start = model.new_int_var(earliest, latest_end - shortest, f"start{index}")
        end = model.new_int_var(earliest + shortest, latest_end, f"end{index}")
        model.add_hint(start, placement.start)
        model.add_hint(end, ends_now[index])
        literals = []
        for o, option in enumerate(job.options):
            chosen = model.new_bool_var(f"x{index}_{o}")
            literals.append(chosen)
            model.add_hint(chosen, o == placement.option)
            person_intervals[option.person].append(
                model.new_optional_fixed_size_interval_var(start, option.duration, chosen, f"w{index}_{o}")
            )
            model.add(end == start + option.duration).only_enforce_if(chosen)
            if problem.available[option.person] > earliest:
                model.add(start >= problem.available[option.person]).only_enforce_if(chosen)
        model.add_exactly_one(literals)
        review_literals = []
        if job.reviews:
            for r, review in enumerate(job.reviews):
                chosen = model.new_bool_var(f"y{index}_{r}")
                review_literals.append(chosen)
                model.add_hint(chosen, placement.review == r)
                person_intervals[review.person].append(
                    model.new_optional_fixed_size_interval_var(
                        end - review.duration, review.duration, chosen, ""
                    )
                )
                if problem.available[review.person] > 0:
                    ready = end - review.duration >= problem.available[review.person]
                    model.add(ready).only_enforce_if(chosen)
            stretch = [lit for lit, option in zip(literals, job.options, strict=True) if option.stretch]
            model.add(sum(review_literals) == sum(stretch))
        if job.gpus:
            durations = sorted({o.duration for o in job.options})
            size = model.new_int_var(durations[0], durations[-1], f"size{index}")
            model.add(size == sum(o.duration * lit for o, lit in zip(job.options, literals, strict=True)))
            model.add_hint(size, ends_now[index] - placement.start)
            gpu_intervals.append(model.new_interval_var(start, size, end, f"g{index}"))
            gpu_demands.append(job.gpus)
        starts[index], ends[index] = start, end
        options[index], reviews[index] = literals, review_literals

        if job.due < latest_end:
            tardy = model.new_int_var(0, latest_end - job.due, f"late{index}")
            model.add(tardy >= end - job.due)
            model.add_hint(tardy, max(0, ends_now[index] - job.due))
            objective.append(job.late_coef * tardy)
        if job.miss_coef:
            constant += job.miss_coef
            if earliest + shortest <= problem.horizon:
                delivered = model.new_bool_var(f"d{index}")
                model.add(end <= problem.horizon).only_enforce_if(delivered)
                model.add_hint(delivered, ends_now[index] <= problem.horizon)
                objective.append(-job.miss_coef * delivered)

    for index in free_list:
        for before in jobs[index].after:
            if before in free_set:
                model.add(starts[index] >= ends[before])
    for intervals in person_intervals.values():
        if len(intervals) > 1:
            model.add_no_overlap(intervals)
    if any_gpu and gpu_intervals:
        model.add_cumulative(gpu_intervals, gpu_demands, problem.gpus)

    for name in CLASSES:
        target = problem.targets[name]
        if target <= 0:
            continue
        fixed = sum(
            j.effort_ticks
            for j in jobs
            if name in j.classes and j.index not in free_set and ends_now[j.index] <= problem.window
        )
        terms, hinted = [], fixed
        for index in free_list:
            job = jobs[index]
            if name not in job.classes:
                continue
            inside = model.new_bool_var(f"{name}{index}")
            model.add(ends[index] <= problem.window).only_enforce_if(inside)
            model.add_hint(inside, ends_now[index] <= problem.window)
            hinted += job.effort_ticks if ends_now[index] <= problem.window else 0
            terms.append(job.effort_ticks * inside)
        short = model.new_int_var(0, target, f"short_{name}")
        model.add(short + sum(terms) + fixed >= target)
        model.add_hint(short, max(0, target - hinted))
        objective.append(problem.shortfall_coef * short)

    model.minimize(sum(objective) + constant)
    return _Vars(model, free_list, starts, options, reviews)


def _read(solver: cp_model.CpSolver, built: _Vars, current: Schedule) -> Schedule:
    schedule = dict(current)
    for index in built.free:
        option = next(o for o, lit in enumerate(built.options[index]) if solver.boolean_value(lit))
        review = next((r for r, lit in enumerate(built.reviews[index]) if solver.boolean_value(lit)), None)
        schedule[index] = Placement(option, solver.value(built.starts[index]), review)
    return schedule


def _solver(
    policy: PlanningPolicy, deterministic_limit: float, wall_limit: float, seed: int, workers: int
) -> cp_model.CpSolver:
    """A solver with the given limits; several workers interleave when the plan must be reproducible."""
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.random_seed = seed
    params.num_workers = workers
    params.max_deterministic_time = max(deterministic_limit, 1e-3)
    params.max_time_in_seconds = max(wall_limit, 0.05)
    if policy.deterministic and workers > 1:
        params.interleave_search = True
    return solver


def _light(solver: cp_model.CpSolver) -> None:
    """Settings for many small solves: cheap presolve and propagation, no LP."""
    params = solver.parameters
    params.linearization_level = 0
    params.cp_model_probing_level = 0
    params.max_size_to_create_precedence_literals_in_disjunctive = 0


def optimise(problem: Problem, start: Schedule, policy: PlanningPolicy) -> SolverResult:
    """Improve a complete valid schedule within the policy's time limit (see the module docstring)."""
    began = time.perf_counter()
    if policy.deterministic:
        budget = policy.time_limit_s * DETERMINISTIC_PER_SECOND
        wall_budget = policy.time_limit_s * WALL_CAP_FACTOR
    else:
        budget, wall_budget = math.inf, policy.time_limit_s
    current = start
    current_cost = evaluate(problem, current).cost
    spent = 0.0
    status, bound = "NOT_RUN", None

    if len(problem.jobs) <= FULL_MODEL_MAX_JOBS:
        share = 1.0 if len(problem.jobs) <= SMALL_PLAN_JOBS else FULL_SHARE
        built = build_model(problem, current, range(len(problem.jobs)))
        # Reproducible runs stop on deterministic time; the wall clock is only the overall cap.
        wall = wall_budget if policy.deterministic else wall_budget * share
        solver = _solver(policy, budget * share, wall, policy.seed, policy.workers)
        code = solver.solve(built.model)
        spent += solver.deterministic_time
        status = solver.status_name(code)
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            bound = round(solver.best_objective_bound)
            found = _read(solver, built, current)
            found_cost = evaluate(problem, found).cost
            if found_cost <= current_cost:
                current, current_cost = found, found_cost
        if code == cp_model.OPTIMAL:
            return SolverResult(current, status, bound, time.perf_counter() - began, spent)

    rng = random.Random(policy.seed)
    window = WINDOW_START
    rounds = improvements = 0
    while spent < budget and time.perf_counter() - began < wall_budget and len(problem.jobs) > 1:
        free = _neighbourhood(problem, current, rng, min(window, len(problem.jobs)), rounds)
        whole = len(free) >= len(problem.jobs)
        built = build_model(problem, current, free, None if whole else _span(problem, current, free))
        limit = min(NEIGHBOURHOOD_LIMIT, budget - spent)
        left = wall_budget - (time.perf_counter() - began)
        solver = _solver(policy, limit, left, policy.seed + rounds, 1)
        _light(solver)
        code = solver.solve(built.model)
        spent += solver.deterministic_time
        rounds += 1
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            found = _read(solver, built, current)
            found_cost = evaluate(problem, found).cost
            if found_cost < current_cost:
                current, current_cost = found, found_cost
                improvements += 1
        if code == cp_model.OPTIMAL:
            if whole:
                status = "OPTIMAL"
                break
            window = min(WINDOW_MAX, int(window * 1.25) + 1)
        else:
            window = max(WINDOW_MIN, int(window * 0.8))
    if status == "NOT_RUN" and rounds:
        status = "FEASIBLE"
    return SolverResult(current, status, bound, time.perf_counter() - began, spent, rounds, improvements)


def _span(problem: Problem, current: Schedule, free: list[int]) -> tuple[int, int]:
    """The ticks a neighbourhood may use: where its jobs are now, and a fifth more at the end."""
    low = min(current[i].start for i in free)
    high = max(end_of(problem.jobs[i], current[i]) for i in free)
    return low, high + max(SPAN_SLACK_TICKS, (high - low) // 5)


def _neighbourhood(
    problem: Problem, current: Schedule, rng: random.Random, size: int, round_: int
) -> list[int]:
    """Jobs to free: a window of consecutive jobs by start, or of the jobs a part of the team may do."""
    by_start = sorted(current, key=lambda i: (current[i].start, i))
    if round_ % 2 == 1 and len(problem.team) > 2:
        people = set(rng.sample(range(len(problem.team)), max(2, len(problem.team) // 4)))
        pool = [i for i in by_start if any(o.person in people for o in problem.jobs[i].options)]
        if len(pool) > size:
            first = rng.randrange(len(pool) - size + 1)
            return pool[first : first + size]
        if pool:
            return pool
    first = rng.randrange(max(1, len(by_start) - size + 1))
    return by_start[first : first + size]
