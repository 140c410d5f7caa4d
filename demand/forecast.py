"""A schedule read as a forecast: per ticket and per phase, who, when, and why then.

Each plannable ticket becomes an :class:`Assignment`; a ticket with phases carries one
:class:`PhaseSlot` per phase, each with its expected start and end, its own due (the
latest end that still lets the ticket meet its SLA) and why it starts when it does:
its lead time, the phase or ticket before it, its person or the GPU pool being busy.
A *hand-off* is the change of person between two phases of work (a data scientist's
build, an MLOps engineer's deployment): :class:`Handoff` says when the upstream work is
expected to finish, when the next phase can start, and whether the hand-off is at risk
— the upstream phase ends after its own due, or the next one starts more than
``handoff_gap_days`` after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from demand import sla
from demand.problem import TICK, TICKS_PER_DAY, Job, Placement, Problem, Schedule, end_of
from demand.schedules import busy_intervals
from demand.stability import moved
from demand.tickets import Ticket


@dataclass(frozen=True)
class PhaseSlot:
    """One phase of a planned ticket: who (nobody for a lead time), when, its own due, why then."""

    name: str
    kind: str  # "lead_time" or "work"
    assignee: str | None
    start: datetime
    end: datetime
    due: datetime
    reason: str
    reviewer: str | None = None
    review_start: datetime | None = None
    gpus: int = 0

    @property
    def late(self) -> bool:
        """True when the phase ends after its own due: the ticket's SLA is then at risk."""
        return self.end > self.due

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "name": self.name,
            "kind": self.kind,
            "assignee": self.assignee,
            "reviewer": self.reviewer,
            "review_start": self.review_start.isoformat() if self.review_start else None,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "due": self.due.isoformat(),
            "late": self.late,
            "gpus": self.gpus,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Handoff:
    """Work passing from one person to the next: upstream ``ready`` at, downstream ``starts`` at."""

    upstream: str
    downstream: str
    source: str
    target: str
    ready: datetime
    starts: datetime
    at_risk: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "from": self.upstream,
            "to": self.downstream,
            "from_person": self.source,
            "to_person": self.target,
            "ready": self.ready.isoformat(),
            "starts": self.starts.isoformat(),
            "gap_days": round((self.starts - self.ready).total_seconds() / 86400, 2),
            "at_risk": self.at_risk,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Assignment:
    """One ticket in the plan: who, when, and why.

    For a ticket with phases, ``assignee`` is whoever does its last phase of work (who
    delivers it), ``start`` the start of its first phase of work, and ``phases`` and
    ``handoffs`` tell the rest.
    """

    ticket: int
    title: str
    kind: str
    model: str | None
    score: float
    assignee: str
    reviewer: str | None
    start: datetime
    end: datetime
    due: datetime
    sla_at_risk: bool
    reason: str
    gpus: int = 0
    review_start: datetime | None = None
    within_horizon: bool = True
    sponsor: str | None = None
    phases: tuple[PhaseSlot, ...] = ()
    handoffs: tuple[Handoff, ...] = ()
    after: tuple[int, ...] = ()
    explain: str = ""
    moved: bool = False

    @property
    def people(self) -> tuple[str, ...]:
        """Everyone who works on the ticket (reviewers included), in phase order."""
        names = [self.assignee, self.reviewer]
        for slot in self.phases:
            names += [slot.assignee, slot.reviewer]
        return tuple(dict.fromkeys(n for n in names if n))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (``phases`` and ``handoffs`` only for a ticket with phases)."""
        data = {
            "ticket": self.ticket,
            "score": round(self.score, 3),
            "assignee": self.assignee,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "sla_at_risk": self.sla_at_risk,
            "reviewer": self.reviewer,
            "review_start": self.review_start.isoformat() if self.review_start else None,
            "title": self.title,
            "kind": self.kind,
            "model": self.model,
            "sponsor": self.sponsor,
            "due": self.due.isoformat(),
            "gpus": self.gpus,
            "within_horizon": self.within_horizon,
            "after": list(self.after),
            "reason": self.reason,
            "explain": self.explain,
            "moved": self.moved,
        }
        if self.phases:
            data["phases"] = [slot.to_dict() for slot in self.phases]
            data["handoffs"] = [h.to_dict() for h in self.handoffs]
        return data


@dataclass(frozen=True)
class Unplanned:
    """A ticket left out of the plan, and why."""

    ticket: int
    title: str
    kind: str
    reason: str
    sponsor: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"ticket": self.ticket, "title": self.title, "kind": self.kind, "reason": self.reason}


def unplanned(ticket: Ticket, reason: str) -> Unplanned:
    """A ticket left out, for the plan's lists."""
    return Unplanned(ticket.id, ticket.title, ticket.kind, reason, ticket.sponsor)  # type: ignore[arg-type]


def assignments(problem: Problem, schedule: Schedule, gap_days: float) -> list[Assignment]:
    """Every planned ticket, by start, with its phases, hand-offs and reasons."""
    busy = busy_intervals(problem, schedule)
    changed = frozenset(moved(problem, schedule)) if problem.anchors else frozenset()
    out = [
        _assignment(problem, schedule, [problem.jobs[i] for i in chain], busy, gap_days, changed)
        for chain in problem.chains.values()
    ]
    out.sort(key=lambda a: (a.start, a.ticket))
    return out


def _assignment(
    problem: Problem,
    schedule: Schedule,
    chain: list[Job],
    busy: dict[int, list[tuple[int, int, int]]],
    gap_days: float,
    changed: frozenset[int],
) -> Assignment:
    final = chain[-1]
    ticket = final.ticket
    work = [job for job in chain if not job.is_wait]
    slots = tuple(_slot(problem, schedule, job, busy) for job in chain) if ticket.phases else ()
    last = work[-1]
    option = last.options[schedule[last.index].option]
    person = problem.team[option.person]  # type: ignore[index]
    end_tick = end_of(final, schedule[final.index])
    start, end = problem.at(schedule[work[0].index].start), problem.at(end_tick)
    reviewer, review_start = _review(problem, last, schedule[last.index])
    handoffs = _handoffs(problem, schedule, work, slots, gap_days) if slots else ()
    at_risk = end > ticket.due
    reasons = _reasons(problem, schedule, chain, person, reviewer, at_risk, end - ticket.due)
    if any(h.at_risk for h in handoffs):
        reasons.append(
            "; ".join(f"hand-off {h.upstream} → {h.downstream} at risk" for h in handoffs if h.at_risk)
        )
    if end_tick > problem.horizon:
        reasons.append("ends after the planning horizon")
    return Assignment(
        ticket=ticket.id,  # type: ignore[arg-type]
        title=ticket.title,
        kind=ticket.kind,
        model=ticket.model,
        score=final.score,
        assignee=person.name,
        reviewer=reviewer,
        start=start,
        end=end,
        due=ticket.due,
        sla_at_risk=at_risk,
        reason="; ".join(reasons),
        gpus=max(job.gpus for job in chain),
        review_start=review_start,
        within_horizon=end_tick <= problem.horizon,
        sponsor=ticket.sponsor,
        phases=slots,
        handoffs=handoffs,
        explain=problem.breakdowns[ticket.id].explain(),  # type: ignore[index]
        moved=any(job.index in changed for job in chain),
        after=tuple(
            problem.jobs[k].ticket.id for j in chain for k in j.after if problem.jobs[k].ticket is not ticket
        ),  # type: ignore[misc]
    )


def _phase_person(problem: Problem, schedule: Schedule, job: Job) -> str:
    option = job.options[schedule[job.index].option]
    if option.person is None:
        return f"{job.phase.name} a lead time"  # type: ignore[union-attr]
    who = problem.team[option.person]
    return f"{job.phase.name} by {who.name} ({who.level} {who.role.replace('_', ' ')})"  # type: ignore[union-attr]


def _review(problem: Problem, job: Job, placement: Placement) -> tuple[str | None, datetime | None]:
    if placement.review is None:
        return None, None
    review = job.reviews[placement.review]
    return problem.team[review.person].name, problem.at(end_of(job, placement) - review.duration)


def _reasons(
    problem: Problem,
    schedule: Schedule,
    chain: list[Job],
    person: Any,
    reviewer: str | None,
    at_risk: bool,
    late_by: Any,
) -> list[str]:
    final = chain[-1]
    ticket = final.ticket
    breakdown = problem.breakdowns[ticket.id]  # type: ignore[index]
    clock = sla.describe(ticket.due, problem.now)
    skills = f" with {', '.join(ticket.skills)}" if ticket.skills and not ticket.phases else ""
    reasons = [f"score {final.score:.2f} (value {breakdown.business.value:g}, {clock})"]
    if ticket.phases:
        reasons.append(", ".join(_phase_person(problem, schedule, job) for job in chain))
    else:
        reasons.append(f"{person.name}: {person.level} {person.role.replace('_', ' ')}{skills}")
    if reviewer:
        reasons.append(f"stretch assignment reviewed by {reviewer}")
    notes = dict.fromkeys(job.note for job in chain if job.note)
    reasons += list(notes)
    first_work = next(job for job in chain if not job.is_wait)
    for before in first_work.after:
        other = problem.jobs[before]
        if other.ticket is not ticket:
            what = "ethics review" if other.ticket.kind == "ethics_review" else "ticket"
            reasons.append(f"starts after {what} #{other.ticket.id}")
    gpus = max(job.gpus for job in chain)
    if gpus:
        reasons.append(f"holds {gpus} GPU{'s' if gpus > 1 else ''}")
    if at_risk:
        reasons.append(f"SLA at risk: ends {late_by.total_seconds() / 86400:.2f}d after due")
        cause = next((j for j in chain[:-1] if end_of(j, schedule[j.index]) > j.due), None)
        if cause is not None and cause.phase is not None:
            reasons.append(f"phase {cause.phase.name} already ends after its own due")
    return reasons


def _slot(
    problem: Problem, schedule: Schedule, job: Job, busy: dict[int, list[tuple[int, int, int]]]
) -> PhaseSlot:
    placement = schedule[job.index]
    option = job.options[placement.option]
    reviewer, review_start = _review(problem, job, placement)
    return PhaseSlot(
        name=job.phase.name,  # type: ignore[union-attr]
        kind="lead_time" if job.is_wait else "work",
        assignee=None if option.person is None else problem.team[option.person].name,
        start=problem.at(placement.start),
        end=problem.at(end_of(job, placement)),
        due=problem.at(job.due) if not job.final else job.ticket.due,
        reason=why_then(problem, schedule, job, busy),
        reviewer=reviewer,
        review_start=review_start,
        gpus=job.gpus,
    )


def why_then(
    problem: Problem, schedule: Schedule, job: Job, busy: dict[int, list[tuple[int, int, int]]]
) -> str:
    """Why a job starts when it does: its lead time, what it follows, or who is busy."""
    placement = schedule[job.index]
    start = placement.start
    if job.is_wait:
        days = job.phase.lead_time if job.phase is not None else 0  # type: ignore[union-attr]
        since = (
            "requested when the ticket was opened"
            if not job.after
            else "requested when the phase before ends"
        )
        return f"lead time of {days:g}d, {since}; ready {_day(problem.at(end_of(job, placement)))}"
    ends = {k: end_of(problem.jobs[k], schedule[k]) for k in job.after}
    follows = [k for k, end in ends.items() if end == start]
    if follows:
        return "; ".join(_follows(problem, schedule, job, problem.jobs[k]) for k in follows)
    if start == 0:
        return "starts at once"
    option = job.options[placement.option]
    if option.person is not None and start == problem.available[option.person]:
        return f"{problem.team[option.person].name} is available from then"
    blocker = _busy_until(problem, busy, option.person, start, job.index)
    if blocker is not None:
        return blocker
    return "the GPU pool is in use until then" if job.gpus else "starts when its staffing allows"


def _follows(problem: Problem, schedule: Schedule, job: Job, before: Job) -> str:
    if before.ticket is not job.ticket:
        what = "ethics review" if before.ticket.kind == "ethics_review" else "ticket"
        return f"after {what} #{before.ticket.id} ends"
    name = before.phase.name if before.phase is not None else "the phase before"
    placement = schedule[before.index]
    if before.is_wait:
        text = f"when {name} is ready"
    else:
        who = problem.team[before.options[placement.option].person].name  # type: ignore[index]
        text = f"after {name} ({who}) ends"
    late = end_of(before, placement) - before.due
    if late > 0:
        text += f"; {name} ends {late / TICKS_PER_DAY:.2f}d after its own due, so this phase moves"
    return text


def _busy_until(
    problem: Problem, busy: dict[int, list[tuple[int, int, int]]], person: int | None, start: int, own: int
) -> str | None:
    if person is None:
        return None
    for _, end, other in busy[person]:
        if end == start and other != own:
            return f"{problem.team[person].name} is busy with {problem.jobs[other].label} until then"
    return None


def _handoffs(
    problem: Problem, schedule: Schedule, work: Sequence[Job], slots: Sequence[PhaseSlot], gap_days: float
) -> tuple[Handoff, ...]:
    by_name = {slot.name: slot for slot in slots}
    out = []
    for upstream, downstream in zip(work, work[1:], strict=False):
        up, down = by_name[upstream.phase.name], by_name[downstream.phase.name]  # type: ignore[union-attr]
        if up.assignee == down.assignee:
            continue
        gap = (down.start - up.end) / (TICK * TICKS_PER_DAY)
        why = []
        if up.late:
            why.append(f"{up.name} ends {(up.end - up.due).total_seconds() / 86400:.2f}d after its own due")
        if gap > gap_days:
            why.append(f"{down.name} starts {gap:.1f}d after {up.name} ends")
        reason = "; ".join(why) or f"{down.assignee} starts {gap:.1f}d after {up.name} ends"
        out.append(
            Handoff(
                up.name,
                down.name,
                up.assignee or "",
                down.assignee or "",
                up.end,
                down.start,
                bool(why),
                reason,
            )
        )
    return tuple(out)


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")
