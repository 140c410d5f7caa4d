"""The planning problem as a CP-SAT model: a full solve of small plans, neighbourhood search on larger ones.

Model (all times in ticks, see :mod:`demand.problem`), for the jobs being optimised:

- per job: ``start``, ``end``; one Boolean per staffing option, exactly one true;
  per option an *optional interval* on that person (fixed size: the person's
  duration), ``end = start + duration`` when chosen, never before the person is
  available;
- a stretch option needs exactly one reviewer Boolean; the review is an optional
  interval on the reviewer that ends with the job;
- ``NoOverlap`` per person over their work and review intervals (one thing at a time);
- ``Cumulative`` over the jobs' intervals with their GPU counts, capacity the pool;
- a job starts after the jobs it follows end (the phase before it; the tickets its
  ticket waits for; the ethics review of a gated ticket);
- a job the previous plan placed keeps its person and start or pays the change cost;
- the objective is the integer cost of :func:`demand.problem.evaluate`.

Jobs not being optimised keep their place and enter the model as fixed intervals.

Search (:func:`optimise`):

1. Small plans (up to :data:`SMALL_PLAN_JOBS` jobs): the full model, every variable
   hinted with the warm start (the list scheduler's best plan), so the first solution
   is at least as good as it; they get the whole time limit and are often proved
   optimal. Larger plans skip this step: their lower bound comes from the Lagrangian
   relaxation (:mod:`demand.lagrange`), which proves far more than CP-SAT's.
2. Large neighbourhood search, warm-started from the list scheduler: repeatedly free
   some jobs, keep the rest fixed, and let CP-SAT re-staff and re-order the freed
   jobs from the current plan; keep the result when the whole plan costs less. The
   freed jobs are, in turn, a window of consecutive jobs by start, the jobs a random
   part of the team may do, and (every fourth round) a late ticket drawn by what its
   lateness costs with the work near it on its people. Windows grow when solved to
   optimality and shrink when not.

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

from demand import stability
from demand.problem import CLASSES, Placement, Problem, Schedule, end_of
from demand.schedules import evaluate
from demand.stability import KEPT_WITHIN_TICKS
from zenops.kernel.config import PlanningPolicy

DETERMINISTIC_PER_SECOND = 0.05
WALL_CAP_FACTOR = 3.0
SMALL_PLAN_JOBS = 40
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
    return _Builder(problem, current, free, span).build()


class _Builder:
    """Builds one CP-SAT model, step by step, in a fixed order (the solver's search, and
    so the plan, depends on the order variables and constraints are made in)."""

    def __init__(
        self, problem: Problem, current: Schedule, free: Iterable[int], span: tuple[int, int] | None
    ) -> None:
        self.problem, self.current = problem, current
        self.model = cp_model.CpModel()
        self.jobs = problem.jobs
        self.free_list = sorted(set(free))
        self.free_set = set(self.free_list)
        self.ends_now = {j.index: end_of(j, current[j.index]) for j in self.jobs}
        if span is None:
            self.low = 0
            self.top = max([problem.horizon, problem.latest_useful_end, *self.ends_now.values()])
        else:
            self.low, self.top = span
        self.followers: dict[int, list[int]] = {}
        for job in self.jobs:
            for before in job.after:
                self.followers.setdefault(before, []).append(job.index)
        people_used: set[int] = set()
        self.any_gpu = False
        for index in self.free_list:
            job = self.jobs[index]
            people_used.update(o.person for o in job.options if o.person is not None)
            people_used.update(r.person for r in job.reviews)
            self.any_gpu = self.any_gpu or job.gpus > 0
        self.person_intervals: dict[int, list[cp_model.IntervalVar]] = {p: [] for p in people_used}
        self.gpu_intervals: list[cp_model.IntervalVar] = []
        self.gpu_demands: list[int] = []
        self.starts: dict[int, cp_model.IntVar] = {}
        self.ends: dict[int, cp_model.IntVar] = {}
        self.options: dict[int, list[cp_model.IntVar]] = {}
        self.reviews: dict[int, list[cp_model.IntVar]] = {}
        self.objective: list = []
        self.constant = 0

    def build(self) -> _Vars:
        self.fixed_work()
        for index in self.free_list:
            self.free_job(index)
        self.precedence_and_capacity()
        self.class_targets()
        self.model.minimize(sum(self.objective) + self.constant)
        return _Vars(self.model, self.free_list, self.starts, self.options, self.reviews)

    def fixed_work(self) -> None:
        """The jobs that stay put occupy their people and GPUs where they overlap the span."""
        model, current = self.model, self.current
        for job in self.jobs:
            if job.index in self.free_set:
                continue
            placement = current[job.index]
            option = job.options[placement.option]
            end = self.ends_now[job.index]
            if end <= self.low or placement.start >= self.top:
                continue
            if option.person is not None and option.person in self.person_intervals:
                self.person_intervals[option.person].append(
                    model.new_fixed_size_interval_var(placement.start, option.duration, "")
                )
            if placement.review is not None:
                review = job.reviews[placement.review]
                if review.person in self.person_intervals and review.duration:
                    self.person_intervals[review.person].append(
                        model.new_fixed_size_interval_var(end - review.duration, review.duration, "")
                    )
            if self.any_gpu and job.gpus:
                self.gpu_intervals.append(
                    model.new_fixed_size_interval_var(placement.start, option.duration, "")
                )
                self.gpu_demands.append(job.gpus)

    def free_job(self, index: int) -> None:
        """A free job: its start and end, who does it, its review, GPUs, lateness, delivery."""
        problem, model = self.problem, self.model
        job = self.jobs[index]
        placement = self.current[index]
        earliest = max(self.low, min(problem.ready(o) for o in job.options))
        for before in job.after:
            if before not in self.free_set:
                earliest = max(earliest, self.ends_now[before])
        latest_end = min(
            [
                self.top,
                *(self.current[f].start for f in self.followers.get(index, ()) if f not in self.free_set),
            ]
        )
        shortest = min(o.duration for o in job.options)
        start = model.new_int_var(earliest, latest_end - shortest, f"start{index}")
        end = model.new_int_var(earliest + shortest, latest_end, f"end{index}")
        model.add_hint(start, placement.start)
        model.add_hint(end, self.ends_now[index])
        literals = self._options(job, placement, start, end, earliest)
        review_literals = self._reviews(job, placement, end, literals)
        if job.gpus:
            self._gpus(job, placement, start, end, literals)
        self.starts[index], self.ends[index] = start, end
        self.options[index], self.reviews[index] = literals, review_literals
        self._lateness(job, end, earliest, shortest, latest_end)
        if index in problem.anchors and problem.change_coef:
            self._kept(job, placement, start, literals)

    def _options(self, job, placement, start, end, earliest: int) -> list[cp_model.IntVar]:
        problem, model, index = self.problem, self.model, job.index
        literals = []
        for o, option in enumerate(job.options):
            chosen = model.new_bool_var(f"x{index}_{o}")
            literals.append(chosen)
            model.add_hint(chosen, o == placement.option)
            if option.person is not None:
                work = model.new_optional_fixed_size_interval_var(
                    start, option.duration, chosen, f"w{index}_{o}"
                )
                self.person_intervals[option.person].append(work)
            model.add(end == start + option.duration).only_enforce_if(chosen)
            if problem.ready(option) > earliest:
                model.add(start >= problem.ready(option)).only_enforce_if(chosen)
        model.add_exactly_one(literals)
        return literals

    def _reviews(self, job, placement, end, literals) -> list[cp_model.IntVar]:
        problem, model, index = self.problem, self.model, job.index
        review_literals: list[cp_model.IntVar] = []
        if not job.reviews:
            return review_literals
        for r, review in enumerate(job.reviews):
            chosen = model.new_bool_var(f"y{index}_{r}")
            review_literals.append(chosen)
            model.add_hint(chosen, placement.review == r)
            self.person_intervals[review.person].append(
                model.new_optional_fixed_size_interval_var(end - review.duration, review.duration, chosen, "")
            )
            if problem.available[review.person] > 0:
                ready = end - review.duration >= problem.available[review.person]
                model.add(ready).only_enforce_if(chosen)
        stretch = [lit for lit, option in zip(literals, job.options, strict=True) if option.stretch]
        model.add(sum(review_literals) == sum(stretch))
        return review_literals

    def _gpus(self, job, placement, start, end, literals) -> None:
        model, index = self.model, job.index
        durations = sorted({o.duration for o in job.options})
        size = model.new_int_var(durations[0], durations[-1], f"size{index}")
        model.add(size == sum(o.duration * lit for o, lit in zip(job.options, literals, strict=True)))
        model.add_hint(size, self.ends_now[index] - placement.start)
        self.gpu_intervals.append(model.new_interval_var(start, size, end, f"g{index}"))
        self.gpu_demands.append(job.gpus)

    def _lateness(self, job, end, earliest: int, shortest: int, latest_end: int) -> None:
        problem, model, index = self.problem, self.model, job.index
        if job.late_coef and job.due < latest_end:
            tardy = model.new_int_var(0, latest_end - job.due, f"late{index}")
            model.add(tardy >= end - job.due)
            model.add_hint(tardy, max(0, self.ends_now[index] - job.due))
            self.objective.append(job.late_coef * tardy)
        if job.miss_coef:
            self.constant += job.miss_coef
            if earliest + shortest <= problem.horizon:
                delivered = model.new_bool_var(f"d{index}")
                model.add(end <= problem.horizon).only_enforce_if(delivered)
                model.add_hint(delivered, self.ends_now[index] <= problem.horizon)
                self.objective.append(-job.miss_coef * delivered)

    def _kept(self, job, placement, start, literals) -> None:
        """An anchored job kept in place saves the change cost (see demand.stability)."""
        anchor = self.problem.anchors[job.index]
        model = self.model
        kept = model.new_bool_var(f"k{job.index}")
        if anchor.option is not None:
            person = job.options[anchor.option].person
            same = [lit for lit, o in zip(literals, job.options, strict=True) if o.person == person]
            model.add_bool_or(same).only_enforce_if(kept)
        model.add(start >= anchor.start - KEPT_WITHIN_TICKS).only_enforce_if(kept)
        model.add(start <= anchor.start + KEPT_WITHIN_TICKS).only_enforce_if(kept)
        model.add_hint(kept, stability.kept(anchor, job, placement))
        self.constant += self.problem.change_coef
        self.objective.append(-self.problem.change_coef * kept)

    def precedence_and_capacity(self) -> None:
        """Free jobs follow their predecessors; a person does one thing at a time; GPUs are shared."""
        model = self.model
        for index in self.free_list:
            for before in self.jobs[index].after:
                if before in self.free_set:
                    model.add(self.starts[index] >= self.ends[before])
        for intervals in self.person_intervals.values():
            if len(intervals) > 1:
                model.add_no_overlap(intervals)
        if self.any_gpu and self.gpu_intervals:
            model.add_cumulative(self.gpu_intervals, self.gpu_demands, self.problem.gpus)

    def class_targets(self) -> None:
        """Each class of work short of its target in the window costs its shortfall."""
        problem, model, jobs, ends_now = self.problem, self.model, self.jobs, self.ends_now
        for name in CLASSES:
            target = problem.targets[name]
            if target <= 0:
                continue
            fixed = sum(
                j.effort_ticks
                for j in jobs
                if name in j.classes and j.index not in self.free_set and ends_now[j.index] <= problem.window
            )
            terms, hinted = [], fixed
            for index in self.free_list:
                job = jobs[index]
                if name not in job.classes:
                    continue
                inside = model.new_bool_var(f"{name}{index}")
                model.add(self.ends[index] <= problem.window).only_enforce_if(inside)
                model.add_hint(inside, ends_now[index] <= problem.window)
                hinted += job.effort_ticks if ends_now[index] <= problem.window else 0
                terms.append(job.effort_ticks * inside)
            short = model.new_int_var(0, target, f"short_{name}")
            model.add(short + sum(terms) + fixed >= target)
            model.add_hint(short, max(0, target - hinted))
            self.objective.append(problem.shortfall_coef * short)


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

    if len(problem.jobs) <= SMALL_PLAN_JOBS:
        share = 1.0
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
    """Jobs to free, in turn: around a late ticket, those a part of the team may do, or a
    window of consecutive jobs by start."""
    by_start = sorted(current, key=lambda i: (current[i].start, i))
    kind = round_ % 4
    if kind == 3:
        around = _around_late(problem, current, rng, size, by_start)
        if around:
            return around
    if kind % 2 == 1 and len(problem.team) > 2:
        people = set(rng.sample(range(len(problem.team)), max(2, len(problem.team) // 4)))
        pool = [i for i in by_start if any(o.person in people for o in problem.jobs[i].options)]
        if len(pool) > size:
            first = rng.randrange(len(pool) - size + 1)
            return pool[first : first + size]
        if pool:
            return pool
    first = rng.randrange(max(1, len(by_start) - size + 1))
    return by_start[first : first + size]


def _around_late(
    problem: Problem, current: Schedule, rng: random.Random, size: int, by_start: list[int]
) -> list[int]:
    """A late ticket, drawn by what its lateness costs, with the work near it that shares its people."""
    late = [
        (job.late_coef * (end_of(job, current[job.index]) - job.due), job)
        for job in problem.finals
        if end_of(job, current[job.index]) > job.due
    ]
    if not late:
        return []
    pick = rng.random() * sum(cost for cost, _ in late)
    job = late[-1][1]
    for cost, candidate in late:
        pick -= cost
        if pick <= 0:
            job = candidate
            break
    chain = list(problem.chains[job.ticket.id])  # type: ignore[index]
    people = {o.person for i in chain for o in problem.jobs[i].options if o.person is not None}
    begin = min(current[i].start for i in chain)
    end = end_of(job, current[job.index])
    near = [
        i
        for i in by_start
        if i not in chain
        and current[i].start < end
        and end_of(problem.jobs[i], current[i]) > begin - (end - begin)
        and any(o.person in people for o in problem.jobs[i].options)
    ]
    near.sort(key=lambda i: abs(current[i].start - begin))
    return sorted(chain + near[: max(0, size - len(chain))])
