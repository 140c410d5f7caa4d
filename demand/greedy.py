"""A fast list scheduler: the optimiser's warm start, its fallback, and the baselines.

:func:`list_schedule` takes the jobs in a given order and gives each, in turn, the
staffing option (person, and senior reviewer for a stretch) that finishes it
earliest, at the earliest time that person (and reviewer) is free — gaps left
earlier are filled — and the GPU pool has room, never before its ethics review
ends. A job whose review is not placed yet waits for it.

Orders (:data:`ORDERS`): ``score`` (the priority score, highest first), ``edd``
(earliest due date), ``fifo`` (oldest ticket first), ``wsjf`` (plain WSJF: value /
effort), ``slack`` (least slack: due minus shortest duration) and ``wspt``
(lateness weight / job size: the order that minimises weighted lateness when
most work is late).
:func:`best_greedy` runs them all and keeps the cheapest schedule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from demand.problem import Figures, Job, Placement, Problem, Schedule, end_of
from demand.schedules import Busy, GpuProfile, evaluate

OrderKey = Callable[[Job], tuple[float, ...]]

ORDERS: dict[str, OrderKey] = {
    "score": lambda j: (-j.score, j.due, j.ticket.id),
    "edd": lambda j: (j.due, -j.score, j.ticket.id),
    "fifo": lambda j: (j.ticket.created.timestamp(), j.ticket.id),
    "wsjf": lambda j: (-j.ticket.value / j.ticket.effort, j.due, j.ticket.id),
    "slack": lambda j: (j.due - j.earliest_end, -j.score, j.ticket.id),
    "wspt": lambda j: (-j.weight / max(j.work, 1e-9), j.due, j.ticket.id),
}


def ordered(problem: Problem, name: str) -> list[int]:
    """Job indexes in the order called ``name`` (see :data:`ORDERS`).

    The orders rank tickets (by their final jobs); each ticket's phases follow in order.
    """
    ranked = sorted(problem.finals, key=ORDERS[name])
    return [index for job in ranked for index in problem.chains[job.ticket.id]]  # type: ignore[index]


class _State:
    """Who is busy when, and GPU use, while a schedule is being built."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.busy = [Busy() for _ in problem.team]
        self.gpus = GpuProfile(problem.gpus)
        self.schedule: Schedule = {}

    def ready(self, job: Job) -> int:
        """The earliest tick the job's ethics reviews allow."""
        ends = [end_of(self.problem.jobs[k], self.schedule[k]) for k in job.after]
        return max(ends, default=0)

    def earliest(self, job: Job, option: int, review: int | None, not_before: int) -> int:
        """The earliest start of ``job`` with this staffing, at or after ``not_before``."""
        chosen = job.options[option]
        duration = chosen.duration
        start = max(not_before, self.problem.ready(chosen))
        if chosen.person is None:  # a lead time: it waits for nobody
            return start
        person = self.busy[chosen.person]
        reviewer = None
        length = 0
        if review is not None:
            r = job.reviews[review]
            reviewer, length = self.busy[r.person], r.duration
            start = max(start, self.problem.available[r.person] + length - duration)
        while True:
            clash = person.conflict(start, start + duration)
            if clash is not None:
                start = clash
                continue
            if reviewer is not None:
                clash = reviewer.conflict(start + duration - length, start + duration)
                if clash is not None:
                    start = clash - duration + length
                    continue
            clash = self.gpus.conflict(start, start + duration, job.gpus)
            if clash is not None:
                start = clash
                continue
            return start

    def place(self, job: Job, placement: Placement) -> None:
        """Commit a placement."""
        option = job.options[placement.option]
        end = placement.start + option.duration
        if option.person is not None:
            self.busy[option.person].add(placement.start, end)
        if placement.review is not None:
            review = job.reviews[placement.review]
            self.busy[review.person].add(end - review.duration, end)
        self.gpus.add(placement.start, end, job.gpus)
        self.schedule[job.index] = placement

    def best(
        self, job: Job, only: int | None = None, not_before: int = 0, reviewed_by: int | None = None
    ) -> Placement:
        """The staffing that ends the job earliest (ties: no stretch, then team order).

        ``only``: that staffing option; ``not_before``: a start no earlier than that;
        ``reviewed_by``: that review, for a stretch option.
        """
        not_before = max(not_before, self.ready(job))
        best: tuple[tuple[int, int, int, int], Placement] | None = None
        for i, option in enumerate(job.options):
            if only is not None and i != only:
                continue
            reviews: Sequence[int | None] = range(len(job.reviews)) if option.stretch else (None,)
            if option.stretch and reviewed_by is not None:
                reviews = (reviewed_by,)
            for review in reviews:
                start = self.earliest(job, i, review, not_before)
                rank = (
                    start + option.duration,
                    int(option.stretch),
                    -1 if option.person is None else option.person,
                    -1 if review is None else review,
                )
                if best is None or rank < best[0]:
                    best = (rank, Placement(i, start, review))
        assert best is not None, "a job always has an option"
        return best[1]


def list_schedule(problem: Problem, order: Sequence[int], anchored: bool = False) -> Schedule:
    """Schedule the jobs one by one in ``order``, each at its earliest finish.

    ``anchored``: the jobs the previous plan placed go first, by their previous start,
    each with its previous person (and reviewer) from its previous start on (see
    :mod:`demand.stability`); then the others in ``order``. The previous plan was
    valid, so its jobs mostly land where they were: a job allowed to start earlier would
    take the time of others and push them, and their reviews, out of place.
    """
    state = _State(problem)
    waiting: dict[int, list[int]] = {}
    anchors = problem.anchors if anchored else {}

    def run(index: int) -> None:
        job = problem.jobs[index]
        pending = [k for k in job.after if k not in state.schedule]
        if pending:
            waiting.setdefault(pending[0], []).append(index)
            return
        anchor = anchors.get(index)
        if anchor is None:
            state.place(job, state.best(job))
        else:
            not_before = anchor.start
            state.place(job, state.best(job, anchor.option, not_before, anchor.review))
        for follower in waiting.pop(index, []):
            run(follower)

    first = sorted(anchors, key=lambda i: (anchors[i].start, i))
    for index in [*first, *(i for i in order if i not in anchors)]:
        if index not in state.schedule and not any(index in w for w in waiting.values()):
            run(index)
    return state.schedule


def compact(problem: Problem, schedule: Schedule) -> Schedule:
    """The same staffing, each job moved as early as it can go, in order of start."""
    state = _State(problem)
    for index in sorted(schedule, key=lambda i: (schedule[i].start, i)):
        job = problem.jobs[index]
        placement = schedule[index]
        start = state.earliest(job, placement.option, placement.review, state.ready(job))
        state.place(job, Placement(placement.option, start, placement.review))
    return state.schedule


def best_greedy(problem: Problem, names: Sequence[str] = tuple(ORDERS)) -> tuple[str, Schedule, Figures]:
    """The cheapest of the list schedules in the orders ``names`` (and, with anchors, the
    previous plan repaired, in the first of them)."""
    best: tuple[str, Schedule, Figures] | None = None
    tries = [(name, False) for name in names]
    if problem.anchors:
        tries.append((names[0], True))
    for name, anchored in tries:
        schedule = list_schedule(problem, ordered(problem, name), anchored)
        figures = evaluate(problem, schedule)
        if best is None or figures.cost < best[2].cost:
            best = ("previous plan" if anchored else name, schedule, figures)
    assert best is not None
    return best
