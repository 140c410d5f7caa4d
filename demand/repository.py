"""The ticket store's interface, and an in-memory implementation for tests and demos.

:class:`TicketRepository` is what the rest of zenops talks to. Two implementations
keep the same promises:

- :class:`InMemoryTicketRepository` (here): a dict behind a lock, for unit tests.
- :class:`demand.adapters.sql.SqlTicketRepository`: SQLite or PostgreSQL through SQLAlchemy.

Promises: one open ticket per idempotency key (a repeated report appends its
evidence to the open ticket); every change goes through the pure functions of
:mod:`demand.tickets`, so an illegal change raises before anything is written and
leaves the stored ticket as it was; every change is recorded as a
:class:`~demand.tickets.TicketEvent` in the ticket's history.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from demand import ticket_changes as changes
from demand import tickets as rules
from demand.dependencies import check_dependencies
from demand.tickets import Ticket, TicketDraft, TicketEvent
from zenops.kernel.config import DEFAULT_SLA_TIERS, ZenopsConfig
from zenops.kernel.errors import NotFoundError, UsageError

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


@runtime_checkable
class TicketRepository(Protocol):
    """Where tickets live. Every method returns the ticket as stored after the change."""

    def open_or_update(self, ticket: Ticket | TicketDraft, actor: str | None = None) -> tuple[Ticket, bool]:
        """Store a new ticket, or, if an open ticket has its idempotency key, add its evidence there.

        Takes a ticket from :func:`demand.tickets.new_ticket`, or a draft, which is
        validated against the repository's configuration at the current time.
        Returns the stored ticket and ``True`` if it was created.
        """
        ...

    def get(self, ticket_id: int) -> Ticket:
        """The ticket with this id; :class:`NotFoundError` if there is none."""
        ...

    def list(
        self,
        status: str | Iterable[str] | None = None,
        kind: str | None = None,
        model: str | None = None,
    ) -> list[Ticket]:
        """Tickets matching every given filter, by id. ``status="active"`` means not terminal."""
        ...

    def transition(
        self, ticket_id: int, new_status: str, note: str | None = None, actor: str | None = None
    ) -> Ticket:
        """Move a ticket through the status machine."""
        ...

    def approve(self, ticket_id: int, by: str) -> Ticket:
        """Grant a ticket's ethics approval."""
        ...

    def close(self, ticket_id: int, outcome: str, status: str = "done", actor: str | None = None) -> Ticket:
        """Finish a ticket as done or cancelled with its outcome."""
        ...

    def add_evidence(self, ticket_id: int, evidence: Mapping[str, Any], actor: str | None = None) -> Ticket:
        """Append evidence to a ticket."""
        ...

    def history(self, ticket_id: int) -> list[TicketEvent]:
        """What happened to a ticket, oldest first."""
        ...


def open_handback(tickets: TicketRepository, model: str) -> Ticket | None:
    """The model's open rebuild ticket a refresh's hand-back opened, if any (one open per model)."""
    key = rules.handback_key(model)
    found = tickets.list(status=rules.ACTIVE, kind="rebuild", model=model)
    return next((ticket for ticket in found if ticket.idempotency_key == key), None)


def status_filter(status: str | Iterable[str] | None) -> frozenset[str] | None:
    """The set of statuses a ``status`` filter asks for (``active``: every open status)."""
    if status is None:
        return None
    names = [status] if isinstance(status, str) else list(status)
    out: set[str] = set()
    for name in names:
        if name == "active":
            out.update(rules.ACTIVE)
        else:
            out.add(rules.check_status(name))
    return frozenset(out)


def as_new_ticket(item: Ticket | TicketDraft, now: datetime, config: ZenopsConfig | None) -> Ticket:
    """The ticket to store: a draft is validated against ``config`` (SLA tiers, models, team)."""
    if isinstance(item, TicketDraft):
        if config is None:
            return rules.new_ticket(item, now=now, sla_tiers=DEFAULT_SLA_TIERS)
        return rules.new_ticket(
            item,
            now=now,
            sla_tiers=config.sla_tiers,
            models=config.models,
            team=config.team,
            templates=config.planning.phases,
        )
    check_new(item)
    return item


def check_new(ticket: Ticket) -> None:
    """Refuse to store a ticket that is already stored or not open."""
    if not isinstance(ticket, Ticket):
        raise UsageError(f"ticket: expected a Ticket or TicketDraft, not {type(ticket).__name__}")
    if ticket.id is not None:
        raise UsageError(f"ticket {ticket.id}: already stored; change it through the repository")
    if ticket.status != "open":
        raise UsageError(f"status: a new ticket is open, not {ticket.status}")


class InMemoryTicketRepository:
    """A :class:`TicketRepository` in a dict, safe across threads; for tests and demos.

    ``config`` validates drafts (SLA tiers, models, team); ``clock`` stamps changes.
    """

    def __init__(self, clock: Clock = utc_now, config: ZenopsConfig | None = None) -> None:
        self._clock = clock
        self._config = config
        self._lock = threading.Lock()
        self._tickets: dict[int, Ticket] = {}
        self._events: list[TicketEvent] = []
        self._next_id = 1

    def open_or_update(self, ticket: Ticket | TicketDraft, actor: str | None = None) -> tuple[Ticket, bool]:
        ticket = as_new_ticket(ticket, self._clock(), self._config)
        with self._lock:
            existing = self._open_with_key(ticket.idempotency_key)
            if existing is not None:
                current = existing
                for item in ticket.evidence:
                    current = self._apply(changes.add_evidence(current, item, now=self._clock(), actor=actor))
                return current, False
            check_dependencies(ticket, self._tickets)
            stored = replace(ticket, id=self._next_id)
            self._next_id += 1
            self._tickets[stored.id] = stored  # type: ignore[index]
            self._events.append(changes.opened(stored, actor))
            for item in stored.evidence:
                self._events.append(
                    TicketEvent(at=stored.created, action="evidence", ticket=stored.id, detail=item)
                )
            return stored, True

    def get(self, ticket_id: int) -> Ticket:
        with self._lock:
            return self._get(ticket_id)

    def list(
        self,
        status: str | Iterable[str] | None = None,
        kind: str | None = None,
        model: str | None = None,
    ) -> list[Ticket]:
        statuses = status_filter(status)
        with self._lock:
            return [
                t
                for _, t in sorted(self._tickets.items())
                if (statuses is None or t.status in statuses)
                and (kind is None or t.kind == kind)
                and (model is None or t.model == model)
            ]

    def transition(
        self, ticket_id: int, new_status: str, note: str | None = None, actor: str | None = None
    ) -> Ticket:
        with self._lock:
            return self._apply(
                changes.move(self._get(ticket_id), new_status, now=self._clock(), note=note, actor=actor)
            )

    def approve(self, ticket_id: int, by: str) -> Ticket:
        with self._lock:
            return self._apply(changes.approve(self._get(ticket_id), by=by, now=self._clock()))

    def close(self, ticket_id: int, outcome: str, status: str = "done", actor: str | None = None) -> Ticket:
        with self._lock:
            change = changes.close(
                self._get(ticket_id), outcome=outcome, status=status, now=self._clock(), actor=actor
            )
            return self._apply(change)

    def add_evidence(self, ticket_id: int, evidence: Mapping[str, Any], actor: str | None = None) -> Ticket:
        with self._lock:
            return self._apply(
                changes.add_evidence(self._get(ticket_id), evidence, now=self._clock(), actor=actor)
            )

    def history(self, ticket_id: int) -> list[TicketEvent]:
        with self._lock:
            self._get(ticket_id)
            return [e for e in self._events if e.ticket == ticket_id]

    def _get(self, ticket_id: int) -> Ticket:
        try:
            return self._tickets[ticket_id]
        except KeyError:
            raise NotFoundError(f"ticket {ticket_id}: no such ticket") from None

    def _open_with_key(self, key: str | None) -> Ticket | None:
        if key is None:
            return None
        for ticket in self._tickets.values():
            if ticket.idempotency_key == key and ticket.is_open:
                return ticket
        return None

    def _apply(self, change: tuple[Ticket, TicketEvent]) -> Ticket:
        ticket, event = change
        self._tickets[ticket.id] = ticket  # type: ignore[index]
        self._events.append(event)
        return ticket
