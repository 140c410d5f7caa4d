"""Demand tickets and their status machine, as plain data and pure functions.

A ticket is one piece of work the team may do: a model ``refresh`` or
``rebuild``, a ``data_quality`` incident, a ``new_project``, ``tooling_rnd``, an
``ethics_review``, the ``approval`` of a promotion that waits for a person, or a
``stale_monitoring`` incident (a model no completed monitoring cycle has watched
lately). Its fields carry what the priority score and the planner need (value,
sponsor, effort, complexity/risk, skills, GPUs, data assets, ethics gate) and what a
reader needs (title, evidence, notes, outcome).

Status machine (:data:`MOVES`)::

    open ──► scheduled ──► in_progress ──► done
    open, scheduled, in_progress ──► blocked ──► open, scheduled, in_progress
    open, scheduled, in_progress, blocked ──► cancelled

``open`` may also go straight to ``in_progress`` (work started unplanned),
``scheduled`` back to ``open`` (unplanned again) and ``in_progress`` back to
``scheduled`` (work paused). ``done`` and ``cancelled`` are terminal. A move the
machine does not allow raises :class:`TransitionError`.

One incident opens one ticket: a ticket carries an *idempotency key*
(:func:`incident_key`); while a ticket with that key is not terminal, a repeated
report adds evidence to it instead of opening another one (the repositories
enforce it, the database with a partial unique index).

Every change is a pure function ``(ticket, ...) -> (new ticket, TicketEvent)``
(:mod:`demand.ticket_changes`): the repositories persist both, nothing here sends or
stores anything.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from demand.fields import names, non_negative, positive, whole_in
from demand.phases import NO_TEMPLATE, Phase, check_phases, from_template, phase_from
from demand.sla import due_at
from zenops.kernel.config import (
    DEFAULT_SLA_TIERS,
    TICKET_KINDS,
    ModelSpec,
    PhaseTemplate,
    SlaTier,
    TeamMember,
)
from zenops.kernel.errors import NotFoundError, UsageError

STATUSES = ("open", "scheduled", "in_progress", "blocked", "done", "cancelled")
TERMINAL = frozenset({"done", "cancelled"})
ACTIVE = tuple(s for s in STATUSES if s not in TERMINAL)
OPERATIONAL_KINDS = ("refresh", "rebuild", "data_quality", "approval", "stale_monitoring")

MOVES: Mapping[str, frozenset[str]] = {
    "open": frozenset({"scheduled", "in_progress", "blocked", "cancelled"}),
    "scheduled": frozenset({"open", "in_progress", "blocked", "cancelled"}),
    "in_progress": frozenset({"scheduled", "blocked", "done", "cancelled"}),
    "blocked": frozenset({"open", "scheduled", "in_progress", "cancelled"}),
    "done": frozenset(),
    "cancelled": frozenset(),
}

#: Effort in person-days when a draft gives none (a monitor-opened ticket, say).
DEFAULT_EFFORT = {
    "refresh": 1.0,
    "rebuild": 10.0,
    "data_quality": 2.0,
    "new_project": 30.0,
    "tooling_rnd": 10.0,
    "ethics_review": 3.0,
    "approval": 0.5,
    "stale_monitoring": 0.5,
}
#: Complexity/risk (1–5) when a draft gives none.
DEFAULT_RISK = {
    "refresh": 2,
    "rebuild": 4,
    "data_quality": 2,
    "new_project": 3,
    "tooling_rnd": 2,
    "ethics_review": 2,
    "approval": 1,
    "stale_monitoring": 2,
}
DEFAULT_VALUE = 5


@dataclass(frozen=True)
class Ticket:
    """One piece of demand. ``id`` is ``None`` until a repository stores it.

    - ``due``: aware UTC time after which the SLA is breached.
    - ``sla``: the SLA tier the due time came from (``None`` for an explicit due date).
    - ``value``: business value, 1–10; ``sponsor``: who asks (weights come from the policy).
    - ``effort``: person-days (> 0); ``risk``: complexity/risk of the work, 1–5.
    - ``skills``: skills the assignee must have; ``gpus``: GPUs held while the work runs.
    - ``data_assets`` / ``produces``: data assets the work uses / creates.
    - ``ethics_required`` / ``ethics_approved``: the ethics gate; work starts only once approved.
    - ``subject``: for an ``ethics_review``, the id of the ticket it reviews.
    - ``savings``: for ``tooling_rnd``, person-days of future work the tooling saves.
    - ``idempotency_key``: one open ticket per key (see :func:`incident_key`).
    - ``evidence``: what was observed, oldest first; reports only ever append.
    - ``status_note``: the note given with the last status move (why it is blocked, say).
    - ``phases``: ordered steps of work or lead times (:mod:`demand.phases`); with phases,
      ``effort`` is their sum, ``skills`` their union and ``gpus`` the most any one holds.
    - ``after``: ids of tickets that must end before this one starts.
    """

    kind: str
    title: str
    due: datetime
    created: datetime
    updated: datetime
    id: int | None = None
    status: str = "open"
    model: str | None = None
    sla: str | None = None
    value: int = DEFAULT_VALUE
    sponsor: str | None = None
    effort: float = 1.0
    risk: int = 2
    skills: tuple[str, ...] = ()
    gpus: int = 0
    data_assets: tuple[str, ...] = ()
    produces: tuple[str, ...] = ()
    ethics_required: bool = False
    ethics_approved: bool = False
    approved_by: str | None = None
    approved_at: datetime | None = None
    subject: int | None = None
    savings: float = 0.0
    idempotency_key: str | None = None
    evidence: tuple[dict[str, Any], ...] = ()
    notes: str = ""
    status_note: str | None = None
    outcome: str | None = None
    phases: tuple[Phase, ...] = ()
    after: tuple[int, ...] = ()

    @property
    def is_open(self) -> bool:
        """True while the ticket is not done or cancelled."""
        return self.status not in TERMINAL

    @property
    def awaits_approval(self) -> bool:
        """True if the ethics gate is closed: work on it may not start yet."""
        return self.ethics_required and not self.ethics_approved

    @property
    def label(self) -> str:
        """``#12`` once stored, ``new ticket`` before."""
        return f"#{self.id}" if self.id is not None else "new ticket"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (times as ISO 8601 UTC)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif name == "phases":
                value = [phase.to_dict() for phase in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        return out


@dataclass(frozen=True)
class TicketDraft:
    """What a reporter knows when asking for work; :func:`new_ticket` validates it.

    Give either a ``model`` (its SLA tier, value and sponsor are the defaults), an
    ``sla`` tier, or an explicit ``due`` time. ``incident`` (with model and kind)
    makes the idempotency key unless ``idempotency_key`` is given. ``evidence`` is
    the first piece of evidence. Unset ``effort``/``risk`` take the kind's default.

    ``phases`` are the ticket's phases (mappings or :class:`~demand.phases.Phase`);
    ``phases_from`` names a ``planning.phases`` template (default: the one named after
    the kind, if any; ``"none"``: no phases), and then ``phases`` only change the fields
    of the template's phases they name. ``after``: ids of tickets to wait for.
    """

    kind: str
    title: str = ""
    model: str | None = None
    sla: str | None = None
    due: datetime | date | None = None
    value: int | None = None
    sponsor: str | None = None
    effort: float | None = None
    risk: int | None = None
    skills: Iterable[str] = ()
    gpus: int = 0
    data_assets: Iterable[str] = ()
    produces: Iterable[str] = ()
    ethics_required: bool = False
    subject: int | None = None
    savings: float = 0.0
    incident: str | None = None
    idempotency_key: str | None = None
    evidence: Mapping[str, Any] | None = None
    notes: str = ""
    phases: Sequence[Mapping[str, Any] | Phase] = ()
    phases_from: str | None = None
    after: Iterable[int] = ()


@dataclass(frozen=True)
class TicketEvent:
    """Something that happened to a ticket: the history a repository records.

    ``action`` is one of ``opened``, ``evidence``, ``moved``, ``approved``, ``closed``.
    """

    at: datetime
    action: str
    ticket: int | None = None
    actor: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "ticket": self.ticket,
            "at": self.at.isoformat(),
            "action": self.action,
            "actor": self.actor,
            "detail": dict(self.detail),
        }


def incident_key(model: str | None, kind: str, incident: str) -> str:
    """The idempotency key of an incident: one open ticket per model, kind and incident.

    ``incident_key("loan-default", "refresh", "drift")`` is ``loan-default/refresh/drift``;
    a ticket without a model uses ``*`` in its place.
    """
    check_kind(kind)
    name = " ".join(str(incident).split()).lower()
    if not name:
        raise UsageError("incident: give a non-empty incident name")
    return f"{(model or '*').strip().lower()}/{kind}/{name}"


HANDBACK_INCIDENT = "refresh-handback"
"""The incident of the rebuild ticket a refresh's hand-back opens (one open per model)."""


def handback_key(model: str) -> str:
    """The idempotency key of ``model``'s hand-back rebuild ticket."""
    return incident_key(model, "rebuild", HANDBACK_INCIDENT)


def check_kind(kind: str) -> str:
    """``kind`` if it is a known ticket kind, else a :class:`UsageError`."""
    if kind not in TICKET_KINDS:
        raise UsageError(f"kind: unknown ticket kind '{kind}' (kinds: {', '.join(TICKET_KINDS)})")
    return kind


def check_status(status: str) -> str:
    """``status`` if it is a known status, else a :class:`UsageError`."""
    if status not in STATUSES:
        raise UsageError(f"status: unknown status '{status}' (statuses: {', '.join(STATUSES)})")
    return status


def as_utc(value: datetime | date, name: str = "time") -> datetime:
    """An aware UTC datetime; a date means its midnight UTC, a naive time is read as UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC)
    raise UsageError(f"{name}: '{value}' is not a date or time")


def new_ticket(
    draft: TicketDraft,
    *,
    now: datetime,
    sla_tiers: Mapping[str, SlaTier] = DEFAULT_SLA_TIERS,
    models: Iterable[ModelSpec] = (),
    team: Iterable[TeamMember] = (),
    templates: Mapping[str, Sequence[PhaseTemplate]] | None = None,
) -> Ticket:
    """Validate a draft and make the (not yet stored) ticket, its due time set by its SLA.

    ``models``, ``team`` and ``templates`` (``planning.phases``) are what the workspace
    knows: when given, the model must exist (its tier, value and sponsor are the
    defaults), each skill must be one somebody on the team has, and phases come from
    the template the draft names or its kind's. Any invalid field raises a
    :class:`UsageError` whose one line names the field.
    """
    now = as_utc(now, "now")
    kind = check_kind(draft.kind)
    specs = {spec.name: spec for spec in models}
    spec = None
    if draft.model is not None and specs:
        spec = specs.get(draft.model)
        if spec is None:
            raise NotFoundError(f"model: no model named '{draft.model}' (models: {', '.join(specs)})")
    tier_name = draft.sla if draft.sla is not None else (spec.sla if spec else None)
    value = draft.value if draft.value is not None else (spec.value if spec else DEFAULT_VALUE)
    sponsor = draft.sponsor if draft.sponsor is not None else (spec.sponsor if spec else None)
    due = _due(draft, kind, tier_name, sla_tiers, now)
    risk = DEFAULT_RISK[kind] if draft.risk is None else draft.risk
    phases = _phases(draft, kind, templates or {})
    if phases:
        effort = sum(p.effort for p in phases)
        skills = tuple(dict.fromkeys(s for p in phases for s in p.skills))
        gpus = max(p.gpus for p in phases)
    else:
        effort = positive(DEFAULT_EFFORT[kind] if draft.effort is None else draft.effort, "effort")
        skills = names(draft.skills, "skills")
        gpus = whole_in(draft.gpus, "gpus", 0, 1024)
    _known_skills(skills, team)
    if draft.subject is not None and kind != "ethics_review":
        raise UsageError("subject: only an ethics_review ticket names the ticket it reviews")
    key = draft.idempotency_key
    if key is None and draft.incident is not None:
        key = incident_key(draft.model, kind, draft.incident)
    evidence = (evidence_item(draft.evidence),) if draft.evidence else ()
    title = " ".join(draft.title.split()) or f"{kind.replace('_', ' ')} {draft.model or ''}".strip()

    return Ticket(
        kind=kind,
        title=title[:300],
        due=due,
        created=now,
        updated=now,
        model=draft.model,
        sla=tier_name,
        value=whole_in(value, "value", 1, 10),
        sponsor=sponsor,
        effort=effort,
        risk=whole_in(risk, "risk", 1, 5),
        skills=skills,
        gpus=gpus,
        data_assets=names(draft.data_assets, "data_assets"),
        produces=names(draft.produces, "produces"),
        ethics_required=bool(draft.ethics_required),
        subject=draft.subject,
        savings=non_negative(draft.savings, "savings"),
        idempotency_key=key,
        evidence=evidence,
        notes=draft.notes,
        phases=phases,
        after=_after(draft.after),
    )


def _due(
    draft: TicketDraft, kind: str, tier_name: str | None, sla_tiers: Mapping[str, SlaTier], now: datetime
) -> datetime:
    """The due time: the draft's own, else its SLA tier's for its kind."""
    if tier_name is not None and tier_name not in sla_tiers:
        raise UsageError(f"sla: unknown SLA tier '{tier_name}' (tiers: {', '.join(sla_tiers) or 'none'})")
    if draft.due is not None:
        return as_utc(draft.due, "due")
    if tier_name is not None:
        return due_at(kind, now, sla_tiers[tier_name])
    raise UsageError("due: give a model, an SLA tier or a due date")


def _phases(
    draft: TicketDraft, kind: str, templates: Mapping[str, Sequence[PhaseTemplate]]
) -> tuple[Phase, ...]:
    """The draft's phases: its template's (named, or its kind's) with its changes, or its own."""
    name = draft.phases_from
    if name is not None and name != NO_TEMPLATE and name not in templates:
        known = ", ".join(templates) or "none in planning.phases"
        raise UsageError(f"phases_from: no phase template named '{name}' (templates: {known})")
    if name is None and kind in templates:
        name = kind
    given = [phase.to_dict() if isinstance(phase, Phase) else phase for phase in draft.phases]
    if name is None or name == NO_TEMPLATE:
        if not given:
            return ()
        phases = check_phases([phase_from(item, f"phases[{i}]") for i, item in enumerate(given)])
        total = sum(p.effort for p in phases)
        if draft.effort is not None and abs(draft.effort - total) > 1e-6:
            raise UsageError(
                f"effort: the phases' efforts add up to {total:g} person-days, not {draft.effort:g}; "
                "leave the effort out"
            )
    else:
        effort = positive(DEFAULT_EFFORT[kind] if draft.effort is None else draft.effort, "effort")
        phases = from_template(templates[name], effort, given, f"planning.phases.{name}")
    given_on_ticket = [n for n, v in (("skills", names(draft.skills, "skills")), ("gpus", draft.gpus)) if v]
    if phases and given_on_ticket:
        name = given_on_ticket[0]
        raise UsageError(
            f"{name}: this ticket has phases; give each phase its {name} (--phase 'NAME {name}=...')"
        )
    return phases


def _known_skills(skills: tuple[str, ...], team: Iterable[TeamMember]) -> None:
    team = list(team)
    known = {s for person in team for s in person.skills}
    if team and not known >= set(skills):
        unknown = next(s for s in skills if s not in known)
        raise UsageError(
            f"skills: unknown skill '{unknown}' (team skills: {', '.join(sorted(known)) or 'none'})"
        )


def _after(ids: Iterable[int]) -> tuple[int, ...]:
    out: list[int] = []
    for value in ids:
        ident = whole_in(value, "after", 1, 2**31 - 1)
        if ident not in out:
            out.append(ident)
    return tuple(out)


def evidence_item(evidence: Mapping[str, Any]) -> dict[str, Any]:
    """One piece of evidence as stored: a JSON-ready mapping, else a UsageError."""
    if not isinstance(evidence, Mapping):
        raise UsageError(f"evidence: expected a mapping of names to values, not {type(evidence).__name__}")
    item = dict(evidence)
    try:
        json.dumps(item, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise UsageError(f"evidence: not JSON-ready ({error})") from None
    return item
