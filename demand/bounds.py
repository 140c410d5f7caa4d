"""A lower bound on the cost of any plan, from a relaxation that is cheap to solve.

CP-SAT's own bound on large plans is little more than each ticket's lateness
if it were the only ticket. This module adds a *fluid* bound:

- Split the jobs into groups and give each group the people who may do any of
  its jobs, pooled into one machine working at their summed capacity (people
  available from the start, no GPUs, reviews or ethics order: each relaxation
  only lowers the cost).
- On one machine, Smith's rule (highest lateness weight per unit of work first)
  minimises the weighted sum of completion times, even when work may be split.
  For a set ``K`` of a group's jobs, lateness ``≥ Σ_K weight × (completion − due)``,
  so ``Smith(K) − Σ_K weight × due`` bounds their lateness; the other jobs of the
  group keep their one-ticket bound. ``K`` runs over the group's jobs by due date.
- Groups: all jobs together, by the roles that may do them, and by the exact set
  of people who may do them; the bound is the largest of these sums. Undelivered
  value and portfolio shortfall enter only where no plan can avoid them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

from demand.problem import TICKS_PER_DAY, Job, Problem

THRESHOLDS = 60


def lone_bound(problem: Problem, job: Job) -> int:
    """The cost a job has even when its ticket is the only one: its phases done as early as can be."""
    earliest = job.earliest_end
    return job.late_coef * max(0, earliest - job.due) + (job.miss_coef if earliest > problem.horizon else 0)


def _group_bound(problem: Problem, jobs: Sequence[Job]) -> float:
    people = {o.person for j in jobs for o in j.options}
    speed = sum(problem.team[p].capacity for p in people)
    lone = [lone_bound(problem, j) for j in jobs]
    best = float(sum(lone))
    order = sorted(range(len(jobs)), key=lambda i: (jobs[i].due, i))
    suffix = [0.0] * (len(order) + 1)
    for k in range(len(order) - 1, -1, -1):
        suffix[k] = suffix[k + 1] + lone[order[k]]
    step = max(1, len(order) // THRESHOLDS)
    for k in [*range(step, len(order), step), len(order)]:
        chosen = [jobs[i] for i in order[:k]]
        chosen.sort(key=lambda j: -j.late_coef / (j.size * TICKS_PER_DAY))
        clock = total = 0.0
        for job in chosen:
            clock += job.size * TICKS_PER_DAY / speed
            total += job.late_coef * (clock - job.due)
        best = max(best, total + suffix[k])
    return best


def fluid_bound(problem: Problem) -> int:
    """A lower bound on :func:`demand.problem.evaluate`'s cost for every valid schedule.

    Only each ticket's final job carries a cost; a final phase that is a lead time
    keeps its one-ticket bound.
    """
    finals = [j for j in problem.finals if not j.is_wait]
    lone = sum(lone_bound(problem, j) for j in problem.finals if j.is_wait)
    if not finals:
        return lone
    keys: list[Callable[[Job], Hashable]] = [
        lambda j: 0,
        lambda j: frozenset(problem.team[o.person].role for o in j.options),  # type: ignore[index]
        lambda j: frozenset(o.person for o in j.options),
    ]
    best = 0.0
    for key in keys:
        groups: dict[Hashable, list[Job]] = {}
        for job in finals:
            groups.setdefault(key(job), []).append(job)
        best = max(best, sum(_group_bound(problem, group) for group in groups.values()))
    return int(best) + lone
