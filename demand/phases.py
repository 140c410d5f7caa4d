"""A ticket's phases: ordered steps of work, or waits for someone outside the team.

A phase is either

- **work**: ``effort`` person-days (> 0) by one person of the team, with its own
  ``role`` (``data_scientist`` or ``mlops_engineer``; unset: the roles the ticket's
  kind allows), ``skills``, least ``level`` (``junior``, ``mid``, ``senior``; unset:
  the ticket's experience rule) and ``gpus`` held while it runs; or
- a **lead time**: ``lead_time`` days of waiting that occupy no one — data, tools or
  infrastructure being provisioned by another team. A lead time that is a ticket's
  first phase was requested when the ticket was opened, so it runs from the ticket's
  creation; a later one runs from the end of the phase before it.

Phases run in order: each starts after the one before it ends. A project's phases
usually come from a template in ``zenops.yaml`` (``planning.phases``, see
:func:`from_template`); :func:`parse_spec` reads the command line's
``--phase 'build effort=12 role=data_scientist skills=tabular'``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from demand.fields import names, non_negative, positive, whole_in
from zenops.kernel.config import PhaseTemplate, parse_duration
from zenops.kernel.errors import UsageError

ROLES = ("data_scientist", "mlops_engineer")
LEVELS = ("junior", "mid", "senior")
MAX_PHASES = 12
NO_TEMPLATE = "none"
_KEYS = ("effort", "lead_time", "role", "skills", "level", "gpus")


@dataclass(frozen=True)
class Phase:
    """One step of a ticket: work (``effort`` > 0) or a lead time (``lead_time`` days > 0)."""

    name: str
    effort: float = 0.0
    lead_time: float = 0.0
    role: str | None = None
    skills: tuple[str, ...] = ()
    level: str | None = None
    gpus: int = 0

    @property
    def is_wait(self) -> bool:
        """True for a lead time: a wait that occupies no one."""
        return self.lead_time > 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "name": self.name,
            "effort": self.effort,
            "lead_time": self.lead_time,
            "role": self.role,
            "skills": list(self.skills),
            "level": self.level,
            "gpus": self.gpus,
        }


def phase_from(data: Mapping[str, Any] | Phase, where: str) -> Phase:
    """A validated phase from a mapping; ``where`` (``phases[1]``) prefixes every error."""
    if isinstance(data, Phase):
        data = data.to_dict()
    if not isinstance(data, Mapping):
        raise UsageError(f"{where}: expected a mapping of phase fields, not {type(data).__name__}")
    unknown = sorted(set(data) - {"name", *_KEYS})
    if unknown:
        raise UsageError(f"{where}.{unknown[0]}: unknown phase field (fields: name, {', '.join(_KEYS)})")
    name = names(data.get("name") or "", f"{where}.name")
    if len(name) != 1:
        raise UsageError(f"{where}.name: give the phase one name")
    lead = data.get("lead_time") or 0.0
    if isinstance(lead, str):
        try:
            lead = parse_duration(lead).total_seconds() / 86400
        except ValueError as error:
            raise UsageError(f"{where}.lead_time: {error}") from None
    lead = non_negative(lead, f"{where}.lead_time")
    if lead > 0:
        return _wait(name[0], lead, data, where)
    role, level = data.get("role"), data.get("level")
    if role is not None and role not in ROLES:
        raise UsageError(f"{where}.role: unknown role '{role}' (roles: {', '.join(ROLES)})")
    if level is not None and level not in LEVELS:
        raise UsageError(f"{where}.level: unknown level '{level}' (levels: {', '.join(LEVELS)})")
    return Phase(
        name=name[0],
        effort=positive(data.get("effort", 0.0), f"{where}.effort"),
        role=role,
        skills=names(data.get("skills") or (), f"{where}.skills"),
        level=level,
        gpus=whole_in(data.get("gpus") or 0, f"{where}.gpus", 0, 1024),
    )


def _wait(name: str, lead: float, data: Mapping[str, Any], where: str) -> Phase:
    taken = [key for key in ("effort", "role", "skills", "level", "gpus") if data.get(key)]
    if taken:
        raise UsageError(f"{where}.{taken[0]}: a lead time occupies no one; give it no {taken[0]}")
    return Phase(name=name, lead_time=lead)


def check_phases(phases: Sequence[Phase]) -> tuple[Phase, ...]:
    """The phases, if together they make sense: unique names, some work, not too many."""
    if len(phases) > MAX_PHASES:
        raise UsageError(f"phases: at most {MAX_PHASES} phases, got {len(phases)}")
    seen: set[str] = set()
    for i, phase in enumerate(phases):
        if phase.name in seen:
            raise UsageError(f"phases[{i}].name: phase '{phase.name}' is named twice")
        seen.add(phase.name)
    if phases and all(p.is_wait for p in phases):
        raise UsageError("phases: a ticket needs at least one phase of work, not only lead times")
    return tuple(phases)


def parse_spec(text: str) -> dict[str, Any]:
    """``'build effort=12 role=data_scientist skills=tabular,nlp gpus=1'`` as a phase mapping.

    The first word is the phase's name; ``skills`` take a comma-separated list;
    ``lead_time`` a duration (``10d``, ``2w``) or days.
    """
    words = str(text).split()
    if not words or "=" in words[0]:
        raise UsageError(f"--phase: '{text}' does not start with the phase's name")
    data: dict[str, Any] = {"name": words[0]}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep or key not in _KEYS:
            raise UsageError(f"--phase: '{word}' is not KEY=VALUE with a key of {', '.join(_KEYS)}")
        data[key] = _spec_value(key, value, word)
    return data


def _spec_value(key: str, value: str, word: str) -> Any:
    if key == "skills":
        return [s for s in value.split(",") if s]
    if key in ("role", "level", "lead_time"):
        return value
    try:
        return float(value) if key == "effort" else int(value)
    except ValueError:
        raise UsageError(f"--phase: '{word}': {key} must be a number") from None


def from_template(
    template: Sequence[PhaseTemplate], effort: float, changes: Iterable[Mapping[str, Any]], source: str
) -> tuple[Phase, ...]:
    """The phases of a ``planning.phases`` template for a ticket of ``effort`` person-days.

    A template phase with a ``share`` gets that share of ``effort``; ``changes`` (mappings
    with a ``name``) replace fields of the template's phase of that name.
    """
    rows = {t.name: _template_row(t, effort) for t in template}
    for change in changes:
        name = str(change.get("name", "")).strip().lower()
        if name not in rows:
            raise UsageError(
                f"phases: '{name}' is not a phase of {source} (phases: {', '.join(rows) or 'none'})"
            )
        row = rows[name]
        if "effort" in change:
            row.pop("lead_time", None)
        if "lead_time" in change:
            row.pop("effort", None)
        row.update({k: v for k, v in change.items() if k != "name"})
    return check_phases([phase_from(row, f"{source}.{name}") for name, row in rows.items()])


def _template_row(template: PhaseTemplate, effort: float) -> dict[str, Any]:
    row: dict[str, Any] = {"name": template.name, "skills": list(template.skills), "gpus": template.gpus}
    if template.role is not None:
        row["role"] = template.role
    if template.level is not None:
        row["level"] = template.level
    if template.lead_time is not None:
        row["lead_time"] = template.lead_time.total_seconds() / 86400
    elif template.share is not None:
        row["effort"] = round(template.share * effort, 3)
    else:
        row["effort"] = template.effort
    return row
