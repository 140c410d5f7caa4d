"""A re-plan that keeps the previous plan's assignments unless moving them pays.

The previous plan's assignments (:class:`Planned`: ticket, phase, person, start) become
*anchors* on the jobs they still match. A job is *kept* when it stays with the same
person (a lead time: any) and starts within :data:`KEPT_WITHIN_TICKS` of its previous
start (a start already past counts from now); every anchored job that is not kept
costs ``planning.change_cost_days`` weighted days, so the optimiser moves one only
when that saves more lateness, undelivered value or shortfall than it costs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from demand.problem import TICKS_PER_DAY, Job, Placement, Problem, Schedule, to_tick
from zenops.kernel.config import TeamMember

KEPT_WITHIN_TICKS = TICKS_PER_DAY


@dataclass(frozen=True)
class Planned:
    """One assignment of a previous plan: a ticket's phase (``None``: the whole ticket)."""

    ticket: int
    phase: str | None
    assignee: str | None
    start: datetime
    reviewer: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "ticket": self.ticket,
            "phase": self.phase,
            "assignee": self.assignee,
            "start": self.start.isoformat(),
            "reviewer": self.reviewer,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Planned:
        """The assignment :meth:`to_dict` wrote."""
        return cls(
            int(data["ticket"]),
            data.get("phase"),
            data.get("assignee"),
            datetime.fromisoformat(data["start"]),
            data.get("reviewer"),
        )


@dataclass(frozen=True)
class Anchor:
    """Where a job sat in the previous plan: its staffing option (None: nobody's), its start tick,
    its review (the ``Job.reviews`` entry of its reviewer, if it had one still on the team)."""

    option: int | None
    start: int
    review: int | None = None


def anchors(
    jobs: Iterable[Job], team: Sequence[TeamMember], previous: Iterable[Planned], now: datetime
) -> dict[int, Anchor]:
    """The anchors of the jobs the previous plan placed (a person who left: no anchor)."""
    where = {(p.ticket, p.phase): p for p in previous}
    names = [person.name for person in team]
    out: dict[int, Anchor] = {}
    for job in jobs:
        phase = job.phase.name if job.phase is not None and job.ticket.phases else None
        before = where.get((job.ticket.id, phase))  # type: ignore[arg-type]
        if before is None:
            continue
        start = max(0, to_tick(before.start, now, up=False))
        if job.is_wait:
            out[job.index] = Anchor(None, start)
            continue
        options = [
            i
            for i, o in enumerate(job.options)
            if o.person is not None and names[o.person] == before.assignee
        ]
        if options:
            reviews = [i for i, r in enumerate(job.reviews) if names[r.person] == before.reviewer]
            out[job.index] = Anchor(options[0], start, reviews[0] if reviews else None)
    return out


def kept(anchor: Anchor, job: Job, placement: Placement) -> bool:
    """True when a job keeps its previous person and, within a day, its previous start."""
    same = anchor.option is None or job.options[placement.option].person == job.options[anchor.option].person
    return same and abs(placement.start - anchor.start) <= KEPT_WITHIN_TICKS


def moved(problem: Problem, schedule: Schedule) -> list[int]:
    """The anchored jobs a schedule moves."""
    return [
        index
        for index, anchor in problem.anchors.items()
        if not kept(anchor, problem.jobs[index], schedule[index])
    ]
