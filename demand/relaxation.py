"""A lower bound on any plan's cost: the LP relaxation of a time-indexed model.

Time is cut into buckets of equal length from the plan's start, then one last bucket
without end. A job may be split: ``u[j, o, b]`` is the share of job ``j`` done with
staffing option ``o`` in bucket ``b``. What every real schedule satisfies, and so the
LP keeps (each relaxation only lowers the cost):

- every job is done once: ``Σ u[j] = 1``;
- within a bucket, a person works at most the ticks they are available, a job runs at
  most the bucket's length (one person at a time), the GPU pool holds at most its size;
- a job's end ``C[j]`` is at least its mean busy time plus half its duration, and the
  mean busy time of the share done in bucket ``b`` is at least ``b``'s start plus half
  that share's length (``u² ≥`` its tangents: the convex part, linearised);
- a job ends at least its own duration after each job it follows ends, and no earlier
  than its chain of phases allows (:attr:`demand.problem.Job.earliest_end`);
- lateness ``≥ C − due``; a ticket counts as delivered, or as done within the balance
  window, at most by the share of it done by then.

Reviews are left out. The LP is solved with GLOP; its optimum, less a tolerance for
rounding, bounds from below the cost of every valid schedule (:func:`lp_bound`).
The buckets get longer as the backlog grows, so the model stays near
:data:`MAX_VARIABLES` variables.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from ortools.linear_solver.python import model_builder_helper as mbh

from demand.problem import CLASSES, Job, Problem

MAX_VARIABLES = 120_000
BUCKET_TICKS = (1, 2, 4, 8, 16, 32, 64)
TANGENTS = (0.5, 1.0)  # where u² is bounded by its tangents, as a share of the bucket
RELATIVE_TOLERANCE = 1e-6
DETERMINISTIC_PER_SECOND = 1.0
WALL_CAP_FACTOR = 3.0


@dataclass(frozen=True)
class Relaxation:
    """The LP's bound on the cost (``None`` if it was not solved in time), and its size."""

    bound: int | None
    bucket_ticks: int
    variables: int
    constraints: int
    seconds: float
    status: str


@dataclass
class _Rows:
    """The LP in coordinates: variables' bounds and costs, constraints' rows and bounds."""

    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)
    rows: list[np.ndarray] = field(default_factory=list)
    cols: list[np.ndarray] = field(default_factory=list)
    vals: list[np.ndarray] = field(default_factory=list)
    row_lower: list[float] = field(default_factory=list)
    row_upper: list[float] = field(default_factory=list)

    def variables(
        self, count: int, cost: float = 0.0, lower: float = 0.0, upper: float = math.inf
    ) -> np.ndarray:
        first = len(self.lower)
        self.lower += [lower] * count
        self.upper += [upper] * count
        self.cost += [cost] * count
        return np.arange(first, first + count)

    def row(self, cols, vals, lower: float = -math.inf, upper: float = math.inf) -> None:
        index = len(self.row_lower)
        cols = np.asarray(cols, dtype=np.int64)
        self.rows.append(np.full(len(cols), index, dtype=np.int64))
        self.cols.append(cols)
        self.vals.append(np.broadcast_to(np.asarray(vals, dtype=float), cols.shape))
        self.row_lower.append(lower)
        self.row_upper.append(upper)


def bucket_ticks(problem: Problem, end: int) -> int:
    """The shortest bucket length that keeps the model near :data:`MAX_VARIABLES` variables."""
    options = sum(len(job.options) for job in problem.jobs)
    for ticks in BUCKET_TICKS:
        if options * (end // ticks + 2) * (1 + len(TANGENTS) / 4) <= MAX_VARIABLES:
            return ticks
    return BUCKET_TICKS[-1]


def lp_bound(
    problem: Problem, end: int, time_limit_s: float, ticks: int | None = None, tails: dict | None = None
) -> Relaxation:
    """The LP relaxation's bound on the cost of every valid schedule of ``problem``.

    ``end``: where the buckets stop (a valid schedule's end is a good choice; any
    value gives a valid bound, a nearer one a weaker). ``ticks``: the bucket length
    (default: :func:`bucket_ticks`). Without an optimal LP within ``time_limit_s`` the
    bound is ``None``.
    """
    began = time.perf_counter()
    ticks = ticks or bucket_ticks(problem, end)
    count = max(1, math.ceil(end / ticks))
    lp, constant = _model(problem, ticks, count, tails or {})
    from scipy.sparse import csr_matrix

    matrix = csr_matrix(
        (np.concatenate(lp.vals), (np.concatenate(lp.rows), np.concatenate(lp.cols))),
        shape=(len(lp.row_lower), len(lp.lower)),
    )
    model = mbh.ModelBuilderHelper()
    model.fill_model_from_sparse_data(
        np.array(lp.lower), np.array(lp.upper), np.array(lp.cost),
        np.array(lp.row_lower), np.array(lp.row_upper), matrix,
    )  # fmt: skip
    solver = mbh.ModelSolverHelper("glop")
    # Reproducible: the LP stops on GLOP's deterministic time; the wall clock only caps it.
    deterministic = max(0.01, time_limit_s * DETERMINISTIC_PER_SECOND)
    solver.set_solver_specific_parameters(f"max_deterministic_time: {deterministic}")
    solver.set_time_limit_in_seconds(max(0.05, WALL_CAP_FACTOR * time_limit_s))
    solver.solve(model)
    status = solver.status().name
    bound = None
    if solver.status() == mbh.SolveStatus.OPTIMAL:
        value = solver.objective_value() + constant
        bound = max(0, math.floor(value - RELATIVE_TOLERANCE * abs(value) - 1))
    return Relaxation(bound, ticks, len(lp.lower), len(lp.row_lower), time.perf_counter() - began, status)


def _model(problem: Problem, ticks: int, count: int, tails: dict) -> tuple[_Rows, float]:
    """The LP's rows: buckets ``0..count-1`` of ``ticks`` each, then one without end."""
    lp = _Rows()
    starts = np.arange(count + 1) * ticks  # the last is the open bucket's start
    people: dict[tuple[int, int], list[tuple[np.ndarray, np.ndarray]]] = {}
    gpus: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    shares: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # job: u, their buckets, durations
    ends: dict[int, int] = {}
    for job in problem.jobs:
        tail = min(count, max(1, math.ceil(tails.get(job.index, count * ticks) / ticks)))
        shares[job.index], ends[job.index] = _job(lp, problem, job, starts, ticks, people, gpus, tail)
    for (person, bucket), terms in people.items():
        available = ticks - max(0, min(ticks, problem.available[person] - bucket * ticks))
        lp.row(np.concatenate([c for c, _ in terms]), np.concatenate([d for _, d in terms]), upper=available)
    for terms in gpus.values():
        lp.row(
            np.concatenate([c for c, _ in terms]),
            np.concatenate([d for _, d in terms]),
            upper=problem.gpus * ticks,
        )
    for job in problem.jobs:
        u, _, durations = shares[job.index]
        for before in job.after:  # C[j] − C[k] − Σ u[j]·d ≥ 0
            lp.row([ends[job.index], ends[before], *u], [1.0, -1.0, *(-durations)], lower=0.0)
    return lp, _costs(lp, problem, shares, ends, starts)


def _job(
    lp: _Rows,
    problem: Problem,
    job: Job,
    starts: np.ndarray,
    ticks: int,
    people: dict,
    gpus: dict,
    count: int,
):
    """One job's shares, its end, and its rows (done once, one person at a time, its end)."""
    blocks = []
    for option in job.options:
        first = min(count, problem.ready(option) // ticks)
        buckets = np.arange(first, count + 1)
        u = lp.variables(len(buckets))
        blocks.append((option, u, buckets))
        work = buckets < count
        if option.person is not None:
            for bucket, var in zip(buckets[work], u[work], strict=True):
                people.setdefault((option.person, int(bucket)), []).append(
                    (np.array([var]), np.array([float(option.duration)]))
                )
        if job.gpus:
            for bucket, var in zip(buckets[work], u[work], strict=True):
                gpus.setdefault(int(bucket), []).append(
                    (np.array([var]), np.array([float(option.duration * job.gpus)]))
                )
    u = np.concatenate([b[1] for b in blocks])
    buckets = np.concatenate([b[2] for b in blocks])
    durations = np.concatenate([np.full(len(b[1]), float(b[0].duration)) for b in blocks])
    lp.row(u, 1.0, lower=1.0, upper=1.0)
    for bucket in range(count):
        here = buckets == bucket
        if here.any():
            lp.row(u[here], durations[here], upper=ticks)
    end = int(lp.variables(1, lower=float(job.earliest_end))[0])
    convex = _convex(lp, job, u, buckets, durations, ticks, count)
    # C ≥ Σ u·(start + d/2) + Σ q / (2·longest):  Σ u·(start + d/2) + Σ q/(2 longest) − C ≤ 0
    longest = max(o.duration for o in job.options) or 1
    lp.row(
        [*u, *convex, end],
        [*(starts[buckets] + durations / 2), *([1.0 / (2 * longest)] * len(convex)), -1.0],
        upper=0.0,
    )
    return (u, buckets, durations), end


def _convex(lp: _Rows, job: Job, u, buckets, durations, ticks: int, count: int) -> np.ndarray:
    """Per bucket, ``q ≥ x²`` by tangents, ``x`` the ticks of the job in it (``Σ u·d``)."""
    if not TANGENTS or max(durations) == 0:
        return np.array([], dtype=np.int64)
    q = lp.variables(count)
    for bucket in range(count):
        here = buckets == bucket
        if not here.any():
            continue
        for share in TANGENTS:  # q ≥ 2a·x − a²:  2a·Σ u·d − q ≤ a²
            a = share * ticks
            lp.row([*u[here], q[bucket]], [*(2 * a * durations[here]), -1.0], upper=a * a)
    return q


def _costs(lp: _Rows, problem: Problem, shares: dict, ends: dict, starts: np.ndarray) -> float:
    """Lateness, undelivered value and the portfolio shortfall as the LP's objective."""
    count = len(starts) - 1
    horizon = next((b for b in range(count) if starts[b + 1] >= problem.horizon), count)
    window = next((b for b in range(count) if starts[b + 1] >= problem.window), count)
    constant = 0.0
    inside: dict[int, int] = {}
    for job in problem.finals:
        u, buckets, _ = shares[job.index]
        late = int(lp.variables(1, cost=float(job.late_coef))[0])
        lp.row([ends[job.index], late], [1.0, -1.0], upper=float(job.due))
        if job.miss_coef:
            constant += job.miss_coef
            delivered = int(lp.variables(1, cost=-float(job.miss_coef), upper=1.0)[0])
            done = u[buckets <= horizon]
            lp.row([delivered, *done], [1.0, *([-1.0] * len(done))], upper=0.0)
        if job.classes:
            inside[job.index] = int(lp.variables(1, upper=1.0)[0])
            done = u[buckets <= window]
            lp.row([inside[job.index], *done], [1.0, *([-1.0] * len(done))], upper=0.0)
    for name in CLASSES:
        target = problem.targets[name]
        if target <= 0:
            continue
        short = int(lp.variables(1, cost=float(problem.shortfall_coef))[0])
        members = [j for j in problem.finals if name in j.classes]
        lp.row(
            [short, *(inside[j.index] for j in members)],
            [1.0, *(float(j.effort_ticks) for j in members)],
            lower=float(target),
        )
    return constant
