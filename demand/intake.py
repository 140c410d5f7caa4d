"""Which open tickets the plan can take, who may do each phase, and why the others are left out.

A ticket is left out of the plan, with the reason, when it is blocked, a phase of it
needs more GPUs than the pool has, nobody on the team may do a phase of it (see
:mod:`demand.staffing`), it waits for a ticket that does not exist or was cancelled,
its waits form a cycle (see :mod:`demand.dependencies`), it awaits an ethics approval
with no ethics review of it that can be planned, or it waits for a ticket that is left
out itself. Crisis mode pushes back every kind but ``refresh``, ``rebuild`` and
``data_quality`` (and whatever waits for a ticket pushed back).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from demand.dependencies import blocked_waits
from demand.phases import Phase
from demand.staffing import Staffing, staffing
from demand.tickets import OPERATIONAL_KINDS, Ticket
from zenops.kernel.config import Resources, TeamMember
from zenops.kernel.errors import UsageError


@dataclass
class Intake:
    """The tickets the plan takes, with who may do each phase, and those it leaves out.

    ``staffed``: by id, the ticket and one :class:`Staffing` per phase (one for a
    ticket without phases); ``gates``: by id, the plannable tickets it starts after.
    """

    staffed: dict[int, tuple[Ticket, tuple[Staffing, ...]]] = field(default_factory=dict)
    gates: dict[int, list[int]] = field(default_factory=dict)
    unplannable: list[tuple[Ticket, str]] = field(default_factory=list)
    pushed_back: list[tuple[Ticket, str]] = field(default_factory=list)


def phases_of(ticket: Ticket) -> tuple[Phase | None, ...]:
    """The ticket's phases, or ``(None,)``: a ticket without phases is one piece of work."""
    return ticket.phases or (None,)


def take_in(
    tickets: Iterable[Ticket], team: Sequence[TeamMember], resources: Resources, crisis: bool
) -> Intake:
    """Sort every ticket into the plan's or out of it (see the module docstring)."""
    everything = list(tickets)
    for ticket in everything:
        _ident(ticket)
    closed = {t.id: t.status for t in everything if not t.is_open}
    waits = blocked_waits(everything)
    intake = Intake()
    for ticket in sorted((t for t in everything if t.is_open), key=lambda t: t.id or 0):
        reason = _left_out(ticket, team, resources, waits)
        if crisis and ticket.kind not in OPERATIONAL_KINDS:
            intake.pushed_back.append((ticket, f"crisis mode: operational work only, {ticket.kind} waits"))
        elif isinstance(reason, str):
            intake.unplannable.append((ticket, reason))
        else:
            intake.staffed[ticket.id] = (ticket, reason)  # type: ignore[index]
    _gate(intake, closed)
    return intake


def _left_out(
    ticket: Ticket, team: Sequence[TeamMember], resources: Resources, waits: dict[int, str]
) -> str | tuple[Staffing, ...]:
    """Why the ticket cannot be planned, or who may do each of its phases."""
    if ticket.status == "blocked":
        return f"blocked: {ticket.status_note}" if ticket.status_note else "blocked"
    for phase in phases_of(ticket):
        gpus = phase.gpus if phase is not None else ticket.gpus
        if gpus > resources.gpus:
            where = f" in phase {phase.name}" if phase is not None and ticket.phases else ""
            return f"needs {gpus} GPUs{where}, the pool has {resources.gpus}"
    if ticket.id in waits:
        return waits[ticket.id]  # type: ignore[index]
    found = []
    for phase in phases_of(ticket):
        if phase is not None and phase.is_wait:
            found.append(Staffing())
            continue
        who = staffing(ticket, team, phase)
        if not who.possible:
            reason = who.reason or "no one may do it"
            return f"phase {phase.name}: {reason}" if phase is not None else reason
        found.append(who)
    return tuple(found)


def plannable(ticket: Ticket, team: Sequence[TeamMember], resources: Resources) -> str | None:
    """Why no plan could take a new ticket as it is (a phase no one may do, GPUs beyond the
    pool), as one line naming the field; None when a plan could."""
    why = _left_out(ticket, team, resources, {})
    if not isinstance(why, str):
        return None
    if "GPUs" in why:
        return f"gpus: {why}"
    return f"phases: {why}" if ticket.phases else f"skills: {why}" if ticket.skills else f"kind: {why}"


def _gate(intake: Intake, closed: dict[int | None, str]) -> None:
    """What each ticket starts after; a ticket that waits for one left out is left out too."""
    changed = True
    while changed:
        changed = False
        reviews: dict[int, list[int]] = {}
        for ident, (ticket, _) in intake.staffed.items():
            if ticket.kind == "ethics_review" and ticket.subject is not None and not ticket.awaits_approval:
                reviews.setdefault(ticket.subject, []).append(ident)
        for ident, (ticket, _) in list(intake.staffed.items()):
            why = _cannot_start(ticket, intake, reviews, closed)
            if why is None:
                continue
            del intake.staffed[ident]
            pushed = any(t.id in ticket.after for t, _ in intake.pushed_back)
            (intake.pushed_back if pushed else intake.unplannable).append((ticket, why))
            changed = True
        intake.gates = {
            ident: [*(d for d in ticket.after if d in intake.staffed), *reviews.get(ident, ())]
            if ticket.awaits_approval
            else [d for d in ticket.after if d in intake.staffed]
            for ident, (ticket, _) in intake.staffed.items()
        }


def _cannot_start(
    ticket: Ticket, intake: Intake, reviews: dict[int, list[int]], closed: dict[int | None, str]
) -> str | None:
    for ident in ticket.after:
        if ident in intake.staffed or closed.get(ident) == "done":
            continue
        left = [why for t, why in intake.unplannable + intake.pushed_back if t.id == ident]
        because = f" ({left[0]})" if left else ""
        return f"waits for ticket #{ident}, which cannot be planned{because}"
    if ticket.awaits_approval and not reviews.get(ticket.id):  # type: ignore[arg-type]
        return "waiting for ethics approval (no ethics review of it can be planned)"
    return None


def _ident(ticket: Ticket) -> int:
    if ticket.id is None:
        raise UsageError(f"ticket '{ticket.title}': only stored tickets (with an id) can be planned")
    return ticket.id
