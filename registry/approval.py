"""Promotions that wait for a person: the version tags that say which one waits, and the rules.

A model whose spec says ``promotion: {approval: required}`` does not promote a
challenger or candidate that passes the gate: the version takes the ``challenger``
alias and these version tags, and an ``approval`` ticket opens. One version waits per
model; a newer one that passes the gate takes its place (the older one is
``superseded``). ``zenops approve`` promotes the waiting version, ``zenops reject``
turns it down; either refers to the version by number, and a number that is not the
one waiting is refused.

- ``zenops.approval.state``: ``waiting``, ``approved``, ``rejected`` or ``superseded``;
- ``zenops.approval.ticket``: the approval ticket;
- ``zenops.approval.champion``: the champion the gate compared it with (an approval
  after the champion changed is refused: the comparison no longer holds);
- ``zenops.approval.source``: ``refresh`` or ``candidate``;
- ``zenops.approval.origin``: the tickets the work answered (a refresh ticket, or the
  rebuild tickets a candidate answers), comma-separated.

Pure: rules over tags; the registry port reads and writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from zenops.kernel.errors import UsageError

__all__ = ["Waiting", "check_waiting", "waiting_version"]

STATE = "zenops.approval.state"
TICKET = "zenops.approval.ticket"
CHAMPION = "zenops.approval.champion"
SOURCE = "zenops.approval.source"
ORIGIN = "zenops.approval.origin"
WAITING, APPROVED, REJECTED, SUPERSEDED = "waiting", "approved", "rejected", "superseded"


@dataclass(frozen=True)
class Waiting:
    """The version of a model that waits for approval, and what its tags say."""

    model: str
    version: str
    ticket: int | None
    champion: str | None
    source: str
    origin: tuple[int, ...] = ()

    @classmethod
    def from_tags(cls, model: str, version: str, tags: Mapping[str, str]) -> Waiting:
        origin = tuple(int(t) for t in (tags.get(ORIGIN) or "").split(",") if t.strip().isdigit())
        return cls(
            model=model,
            version=version,
            ticket=_int(tags.get(TICKET)),
            champion=tags.get(CHAMPION) or None,
            source=tags.get(SOURCE, ""),
            origin=origin,
        )

    def tags(self) -> dict[str, str]:
        return {
            STATE: WAITING,
            TICKET: "" if self.ticket is None else str(self.ticket),
            CHAMPION: self.champion or "",
            SOURCE: self.source,
            ORIGIN: ",".join(str(t) for t in self.origin),
        }


def waiting_version(model: str, versions: Mapping[str, Mapping[str, str]]) -> Waiting | None:
    """The version of ``model`` whose approval state is ``waiting`` (the newest, should there be two)."""
    found = [v for v, tags in versions.items() if tags.get(STATE) == WAITING]
    if not found:
        return None
    newest = max(found, key=lambda v: int(v) if v.isdigit() else 0)
    return Waiting.from_tags(model, newest, versions[newest])


def check_waiting(
    model: str,
    version: str,
    waiting: Waiting | None,
    versions: Mapping[str, Mapping[str, str]],
    champion: str | None,
    *,
    same_champion: bool = True,
) -> Waiting:
    """The waiting version, when ``version`` is it and (``same_champion``) the champion is still
    the one it was compared with.

    Anything else is a UsageError in one line: no version waits, another one does (with
    what became of ``version``), or the champion changed since the comparison.
    """
    if waiting is None or waiting.version != str(version):
        state = (versions.get(str(version)) or {}).get(STATE)
        was = f" (it was {state})" if state and state != WAITING else ""
        now = (
            f"version {waiting.version} is (approval ticket #{waiting.ticket})"
            if waiting is not None
            else "no version of it is waiting"
        )
        raise UsageError(f"model '{model}' version {version} is not waiting for approval{was}: {now}")
    if same_champion and waiting.champion and champion != waiting.champion:
        raise UsageError(
            f"model '{model}' version {version}: the champion is version {champion}, not version "
            f"{waiting.champion} it was compared with; evaluate it again (zenops candidate {model} "
            f"--version {version})"
        )
    return waiting


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None
