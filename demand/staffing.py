"""Who may do which ticket: skills, role fit and experience.

Rules, applied in this order (the first one nobody passes is the reason a
ticket cannot be planned):

1. **Skills**: the assignee has every skill the ticket requires.
2. **Role fit** (:data:`ROLE_FIT`): ``rebuild`` and ``new_project`` go to data
   scientists; ``refresh``, ``data_quality``, ``ethics_review`` and ``approval`` to
   either role; ``stale_monitoring`` to MLOps engineers;
   ``tooling_rnd`` to MLOps engineers, and to data scientists only when no MLOps
   engineer has the skills.
3. **Experience**: a ``rebuild``, or any ticket of complexity/risk
   :data:`COMPLEX_RISK` or more, goes to a mid or senior person. A junior may take
   it as a *stretch assignment* only with a senior reviewer who passes rules 1–2;
   the reviewer spends ``PlanningPolicy.review_share`` of the work's effort
   reviewing, at the end of the work.

A phase of a ticket (:mod:`demand.phases`) is staffed by the same rules with its own
skills, and its own ``role`` and least ``level`` where it gives them: a phase's
``level`` replaces the experience rule (no stretch: the level is what it asks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from demand.phases import Phase
from demand.tickets import Ticket
from zenops.kernel.config import LEVELS, TeamMember

ROLE_FIT: dict[str, tuple[str, ...]] = {
    "rebuild": ("data_scientist",),
    "new_project": ("data_scientist",),
    "refresh": ("mlops_engineer", "data_scientist"),
    "data_quality": ("mlops_engineer", "data_scientist"),
    "ethics_review": ("mlops_engineer", "data_scientist"),
    "tooling_rnd": ("mlops_engineer",),
    "approval": ("mlops_engineer", "data_scientist"),
    "stale_monitoring": ("mlops_engineer",),
}
COMPLEX_RISK = 4
EXPERIENCED = ("mid", "senior")


@dataclass(frozen=True)
class Staffing:
    """Who may do a ticket (indexes into the team) or, if nobody, why not.

    ``assignees`` may do it alone; ``stretch`` are juniors who may do it with one of
    ``reviewers``; ``note`` says when a role rule was relaxed.
    """

    assignees: tuple[int, ...] = ()
    stretch: tuple[int, ...] = ()
    reviewers: tuple[int, ...] = ()
    reason: str | None = None
    note: str = ""

    @property
    def possible(self) -> bool:
        """True if somebody may do the ticket."""
        return bool(self.assignees or self.stretch)


def needs_experience(ticket: Ticket) -> bool:
    """True if the ticket needs a mid or senior assignee (or a junior with a senior reviewer)."""
    return ticket.kind == "rebuild" or ticket.risk >= COMPLEX_RISK


def staffing(ticket: Ticket, team: Sequence[TeamMember], phase: Phase | None = None) -> Staffing:
    """Who on ``team`` may do ``ticket`` (or one ``phase`` of it), by the rules of this module."""
    if not team:
        return Staffing(reason="no one is on the team")
    skills = phase.skills if phase is not None else ticket.skills
    need = set(skills)
    missing = [s for s in skills if not any(s in person.skills for person in team)]
    if missing:
        return Staffing(reason=f"no one has {_skills(missing)}")
    skilled = [i for i, person in enumerate(team) if need <= set(person.skills)]
    if not skilled:
        return Staffing(reason=f"no one has all of the {_skills(skills)}")
    roles = (phase.role,) if phase is not None and phase.role else ROLE_FIT[ticket.kind]
    fit = [i for i in skilled if team[i].role in roles]
    note = ""
    if not fit and ticket.kind == "tooling_rnd" and (phase is None or not phase.role):
        fit, note = skilled, "no MLOps engineer has the skills"
    with_skills = f" with {_skills(skills)}" if skills else ""
    if not fit:
        return Staffing(reason=f"needs a {' or '.join(roles)}{with_skills}; none is on the team")
    if phase is not None and phase.level:
        least = LEVELS.index(phase.level)
        able = tuple(i for i in fit if LEVELS.index(team[i].level) >= least)
        if not able:
            who = " or ".join(roles)
            level = {"mid": "mid or senior", "senior": "senior"}[phase.level]
            return Staffing(reason=f"needs a {level} {who}{with_skills}; none is on the team")
        return Staffing(assignees=able, note=note)
    if not needs_experience(ticket):
        return Staffing(assignees=tuple(fit), note=note)
    assignees = tuple(i for i in fit if team[i].level in EXPERIENCED)
    reviewers = tuple(i for i in fit if team[i].level == "senior")
    stretch = tuple(i for i in fit if team[i].level == "junior") if reviewers else ()
    if not assignees and not stretch:
        why = "a rebuild" if ticket.kind == "rebuild" else f"complexity {ticket.risk}"
        who = " or ".join(roles)
        return Staffing(
            reason=f"{why} needs a mid or senior {who} (or a junior with a senior reviewer); none fits"
        )
    return Staffing(assignees=assignees, stretch=stretch, reviewers=reviewers, note=note)


def _skills(names: Sequence[str]) -> str:
    """``skill 'nlp'`` or ``skills 'nlp', 'vision'``."""
    quoted = ", ".join(f"'{name}'" for name in names)
    return f"skill {quoted}" if len(names) == 1 else f"skills {quoted}"
