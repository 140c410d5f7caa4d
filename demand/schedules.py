"""A schedule of the planning problem: what it costs, the rules it must keep, and the
bookkeeping (a person's busy intervals, the GPU pool's use) the schedulers search with."""

from __future__ import annotations

from bisect import bisect_left

from demand.problem import CLASSES, TICKS_PER_DAY, Figures, Problem, Schedule, end_of
from demand.stability import moved


def evaluate(problem: Problem, schedule: Schedule) -> Figures:
    """The cost and figures of a complete schedule."""
    cost = 0
    lateness = 0.0
    late = 0
    delivered = 0.0
    makespan = 0
    in_window = dict.fromkeys(CLASSES, 0)
    for job in problem.jobs:
        end = end_of(job, schedule[job.index])
        makespan = max(makespan, end)
        if not job.final:
            continue
        tardy = max(0, end - job.due)
        cost += job.late_coef * tardy
        if tardy:
            late += 1
            lateness += job.weight * tardy / TICKS_PER_DAY
        if end <= problem.horizon:
            delivered += job.value
        else:
            cost += job.miss_coef
        if end <= problem.window:
            for name in job.classes:
                in_window[name] += job.effort_ticks
    shortfall = {name: max(0, problem.targets[name] - in_window[name]) for name in CLASSES}
    cost += problem.shortfall_coef * sum(shortfall.values())
    changed = len(moved(problem, schedule)) if problem.anchors else 0
    cost += problem.change_coef * changed
    return Figures(
        cost=cost,
        lateness=lateness,
        late_tickets=late,
        value_delivered=delivered,
        value_total=sum(j.value for j in problem.jobs if j.final),
        shortfall={k: v / TICKS_PER_DAY for k, v in shortfall.items()},
        makespan=makespan,
        moved=changed,
    )


def busy_intervals(problem: Problem, schedule: Schedule) -> dict[int, list[tuple[int, int, int]]]:
    """Per person, the (start, end, job) intervals they work or review, by start."""
    busy: dict[int, list[tuple[int, int, int]]] = {i: [] for i in range(len(problem.team))}
    for job in problem.jobs:
        placement = schedule[job.index]
        option = job.options[placement.option]
        end = placement.start + option.duration
        if option.person is not None:
            busy[option.person].append((placement.start, end, job.index))
        if placement.review is not None:
            review = job.reviews[placement.review]
            if review.duration:
                busy[review.person].append((end - review.duration, end, job.index))
    for intervals in busy.values():
        intervals.sort()
    return busy


def violations(problem: Problem, schedule: Schedule) -> list[str]:
    """Every rule a schedule breaks (empty when it is valid)."""
    found: list[str] = []
    for job in problem.jobs:
        placement = schedule.get(job.index)
        if placement is None:
            found.append(f"ticket {job.label}: not scheduled")
            continue
        option = job.options[placement.option]
        if placement.start < problem.ready(option):
            found.append(
                f"ticket {job.label}: starts before {problem.team[option.person].name} is available"  # type: ignore[index]
            )
        if option.stretch and placement.review is None:
            found.append(f"ticket {job.label}: stretch assignment without a reviewer")
        if placement.review is not None:
            review = job.reviews[placement.review]
            if end_of(job, placement) - review.duration < problem.available[review.person]:
                found.append(f"ticket {job.label}: reviewed before the reviewer is available")
        for before in job.after:
            if before not in schedule or placement.start < end_of(problem.jobs[before], schedule[before]):
                found.append(f"ticket {job.label}: starts before {problem.jobs[before].label} ends")
    if found:
        return found
    for person, intervals in busy_intervals(problem, schedule).items():
        for (_, end, a), (start, _, b) in zip(intervals, intervals[1:], strict=False):
            if start < end:
                name = problem.team[person].name
                found.append(f"{name}: tickets {problem.jobs[a].label} and {problem.jobs[b].label} overlap")
    points: list[tuple[int, int]] = []
    for job in problem.jobs:
        if job.gpus:
            placement = schedule[job.index]
            points += [(placement.start, job.gpus), (end_of(job, placement), -job.gpus)]
    used = 0
    for tick, delta in sorted(points, key=lambda p: (p[0], p[1])):
        used += delta
        if used > problem.gpus:
            found.append(f"GPU pool of {problem.gpus} exceeded at tick {tick} ({used} in use)")
            break
    return found


class Busy:
    """The intervals one person is busy, disjoint and sorted, with earliest-fit search."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def conflict(self, start: int, end: int) -> int | None:
        """The end of the last busy interval overlapping [start, end), or None if free."""
        if end <= start:
            return None
        i = bisect_left(self.starts, end) - 1
        if i >= 0 and self.ends[i] > start:
            return self.ends[i]
        return None

    def add(self, start: int, end: int) -> None:
        """Mark [start, end) busy (it must be free)."""
        if end <= start:
            return
        i = bisect_left(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)


class GpuProfile:
    """GPU use over time, with the earliest tick from which a request may fit."""

    def __init__(self, pool: int) -> None:
        self.pool = pool
        self.held: list[tuple[int, int, int]] = []

    def conflict(self, start: int, end: int, gpus: int) -> int | None:
        """None if ``gpus`` more fit over [start, end), else the next tick worth trying."""
        if not gpus:
            return None
        overlapping = [(s, e, g) for s, e, g in self.held if s < end and e > start]
        if not overlapping:
            return None
        points = sorted(
            [(max(s, start), g) for s, _, g in overlapping] + [(e, -g) for _, e, g in overlapping]
        )
        used = 0
        for _, delta in points:
            used += delta
            if used + gpus > self.pool:
                return min(e for _, e, _ in overlapping)
        return None

    def add(self, start: int, end: int, gpus: int) -> None:
        """Hold ``gpus`` over [start, end)."""
        if gpus:
            self.held.append((start, end, gpus))
