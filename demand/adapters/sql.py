"""The ticket store on SQLAlchemy: SQLite by default, PostgreSQL by URL.

``open_store("sqlite:///.zenops/zenops.db")`` or
``open_store("postgresql+psycopg://user:password@host/db")`` returns a
:class:`SqlTicketRepository`, which implements
:class:`demand.repository.TicketRepository`.

Tables: ``tickets`` (one row per ticket), ``ticket_evidence`` (append-only, one
row per piece of evidence, so concurrent reports never overwrite each other) and
``ticket_events`` (the history: who did what, when).

One open ticket per incident is enforced by the database: a partial unique index
on ``idempotency_key`` over the non-terminal statuses. Two writers racing to open
the same incident both try to insert; the loser gets an integrity error, reads the
winner's ticket and appends its evidence there.

SQLite runs in WAL mode with a busy timeout, and each writing transaction starts
with ``BEGIN IMMEDIATE`` so that writers in threads or processes queue instead of
failing. On PostgreSQL rows are locked (``SELECT ... FOR UPDATE``) before a change.

Every SQLAlchemy error becomes a :class:`~zenops.kernel.errors.StoreError` naming the
store's URL with its password masked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from demand import ticket_changes as changes
from demand import tickets as rules
from demand.dependencies import check_dependencies
from demand.phases import Phase
from demand.repository import Clock, as_new_ticket, status_filter, utc_now
from demand.tickets import STATUSES, TERMINAL, Ticket, TicketDraft, TicketEvent
from zenops.adapters.sql import make_engine, mask_url, memory_lock
from zenops.kernel.config import ZenopsConfig
from zenops.kernel.errors import NotFoundError, StoreError, UsageError

RACE_RETRIES = 5


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

tickets_table = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("title", String(300), nullable=False),
    Column("status", String(16), nullable=False),
    Column("due", UtcDateTime, nullable=False),
    Column("model", String(64)),
    Column("sla", String(64)),
    Column("value", Integer, nullable=False),
    Column("sponsor", String(128)),
    Column("effort", Float, nullable=False),
    Column("risk", Integer, nullable=False),
    Column("skills", JSON, nullable=False),
    Column("gpus", Integer, nullable=False),
    Column("data_assets", JSON, nullable=False),
    Column("produces", JSON, nullable=False),
    Column("ethics_required", Boolean, nullable=False),
    Column("ethics_approved", Boolean, nullable=False),
    Column("approved_by", String(128)),
    Column("approved_at", UtcDateTime),
    Column("subject", Integer),
    Column("savings", Float, nullable=False),
    Column("idempotency_key", String(300)),
    Column("notes", Text, nullable=False),
    Column("status_note", Text),
    Column("outcome", Text),
    Column("created", UtcDateTime, nullable=False),
    Column("updated", UtcDateTime, nullable=False),
    Column("phases", JSON),  # added later: NULL in rows stored before, read as no phases
    Column("after_tickets", JSON),
    CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})", name="ck_tickets_status"),
)

_NOT_TERMINAL = tickets_table.c.status.not_in(sorted(TERMINAL))
Index(
    "uq_tickets_open_incident",
    tickets_table.c.idempotency_key,
    unique=True,
    sqlite_where=_NOT_TERMINAL,
    postgresql_where=_NOT_TERMINAL,
)
Index("ix_tickets_status", tickets_table.c.status)

evidence_table = Table(
    "ticket_evidence",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("body", JSON, nullable=False),
)

events_table = Table(
    "ticket_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("action", String(32), nullable=False),
    Column("actor", String(128)),
    Column("detail", JSON, nullable=False),
)

_ROW_FIELDS = [c.name for c in tickets_table.columns if c.name not in ("id", "after_tickets")]
_LISTS = ("skills", "data_assets", "produces")
#: Columns added after the first release, with the table they belong to: created when missing.
_ADDED_COLUMNS = ("phases", "after_tickets")


def open_store(
    url: str, clock: Clock = utc_now, config: ZenopsConfig | None = None, engine: Engine | None = None
) -> SqlTicketRepository:
    """The ticket store at ``url``, its tables created if missing; ``config`` validates drafts.

    ``engine``: the workspace database's shared engine (:mod:`zenops.adapters.sql`); a new
    one for ``url`` when None.
    """
    return SqlTicketRepository(url, clock=clock, config=config, engine=engine)


class SqlTicketRepository:
    """A :class:`~demand.repository.TicketRepository` in a SQL database.

    Creating it creates the tables when missing (and the folder of a SQLite
    file); doing so again is harmless. ``config`` validates drafts given to
    :meth:`open_or_update` (SLA tiers, models, team); ``clock`` stamps changes.
    Call :meth:`dispose` (or use it as a context manager) to release its connections.
    """

    def __init__(
        self,
        url: str,
        *,
        clock: Clock = utc_now,
        config: ZenopsConfig | None = None,
        create: bool = True,
        engine: Engine | None = None,
    ) -> None:
        self.url = mask_url(url)
        self._clock = clock
        self._config = config
        with self._errors("cannot open the store"):
            self._engine = engine if engine is not None else make_engine(url)
        self._memory_lock = memory_lock(self._engine)
        if create:
            self.create_schema()

    def __enter__(self) -> SqlTicketRepository:
        return self

    def __exit__(self, *_: object) -> None:
        self.dispose()

    def __repr__(self) -> str:
        return f"SqlTicketRepository({self.url!r})"

    def dispose(self) -> None:
        """Release the store's connections (the store stays usable)."""
        self._engine.dispose()

    def create_schema(self) -> None:
        """Create the tables and indexes that are missing (idempotent)."""
        with self._errors("cannot create the tables"), self._write() as conn:
            if conn.dialect.name == "postgresql":
                # Serialise concurrent first runs: CREATE TABLE is not race-free.
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('zenops.tickets.schema'))"))
            metadata.create_all(conn, checkfirst=True)
            _add_missing_columns(conn)

    # -- the repository -------------------------------------------------------------

    def open_or_update(self, ticket: Ticket | TicketDraft, actor: str | None = None) -> tuple[Ticket, bool]:
        ticket = as_new_ticket(ticket, self._clock(), self._config)
        for attempt in range(RACE_RETRIES):
            try:
                with self._errors("cannot open the ticket", integrity=False), self._write() as conn:
                    existing = self._open_with_key(conn, ticket.idempotency_key)
                    if existing is not None:
                        current = existing
                        for item in ticket.evidence:
                            current = self._apply(
                                conn, changes.add_evidence(current, item, now=self._clock(), actor=actor)
                            )
                        return current, False
                    return self._insert(conn, ticket, actor), True
            except IntegrityError as error:
                # Another writer opened the same incident between our read and our insert.
                if ticket.idempotency_key is None or attempt == RACE_RETRIES - 1:
                    raise self._store_error("cannot open the ticket", error) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, ticket_id: int) -> Ticket:
        with self._errors("cannot read the ticket"), self._read() as conn:
            return self._load(conn, ticket_id)

    def list(
        self,
        status: str | Iterable[str] | None = None,
        kind: str | None = None,
        model: str | None = None,
    ) -> list[Ticket]:
        statuses = status_filter(status)
        query = select(tickets_table).order_by(tickets_table.c.id)
        if statuses is not None:
            query = query.where(tickets_table.c.status.in_(sorted(statuses)))
        if kind is not None:
            query = query.where(tickets_table.c.kind == rules.check_kind(kind))
        if model is not None:
            query = query.where(tickets_table.c.model == model)
        with self._errors("cannot list tickets"), self._read() as conn:
            rows = conn.execute(query).all()
            evidence = self._evidence(conn, [row.id for row in rows])
            return [_ticket(row, evidence.get(row.id, ())) for row in rows]

    def transition(
        self, ticket_id: int, new_status: str, note: str | None = None, actor: str | None = None
    ) -> Ticket:
        with self._errors("cannot move the ticket"), self._write() as conn:
            current = self._load(conn, ticket_id, lock=True)
            return self._apply(
                conn, changes.move(current, new_status, now=self._clock(), note=note, actor=actor)
            )

    def approve(self, ticket_id: int, by: str) -> Ticket:
        with self._errors("cannot approve the ticket"), self._write() as conn:
            current = self._load(conn, ticket_id, lock=True)
            return self._apply(conn, changes.approve(current, by=by, now=self._clock()))

    def close(self, ticket_id: int, outcome: str, status: str = "done", actor: str | None = None) -> Ticket:
        with self._errors("cannot close the ticket"), self._write() as conn:
            current = self._load(conn, ticket_id, lock=True)
            change = changes.close(current, outcome=outcome, status=status, now=self._clock(), actor=actor)
            return self._apply(conn, change)

    def add_evidence(self, ticket_id: int, evidence: Mapping[str, Any], actor: str | None = None) -> Ticket:
        with self._errors("cannot add evidence"), self._write() as conn:
            current = self._load(conn, ticket_id, lock=True)
            return self._apply(conn, changes.add_evidence(current, evidence, now=self._clock(), actor=actor))

    def history(self, ticket_id: int) -> list[TicketEvent]:
        query = select(events_table).where(events_table.c.ticket_id == ticket_id).order_by(events_table.c.id)
        with self._errors("cannot read the history"), self._read() as conn:
            self._load(conn, ticket_id)
            return [
                TicketEvent(at=r.at, action=r.action, ticket=r.ticket_id, actor=r.actor, detail=r.detail)
                for r in conn.execute(query)
            ]

    # -- internals ------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._memory_guard(), self._engine.connect() as conn:
            conn.execution_options(zenops_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._memory_guard(), self._engine.connect() as conn:
            conn.execution_options(zenops_write=False)
            with conn.begin():
                yield conn

    @contextmanager
    def _memory_guard(self) -> Iterator[None]:
        if self._memory_lock is None:
            yield
            return
        with self._memory_lock:
            yield

    @contextmanager
    def _errors(self, doing: str, integrity: bool = True) -> Iterator[None]:
        try:
            yield
        except IntegrityError as error:
            if not integrity:
                raise
            raise self._store_error(doing, error) from None
        except (SQLAlchemyError, OSError) as error:
            raise self._store_error(doing, error) from None

    def _store_error(self, doing: str, error: Exception) -> StoreError:
        cause = getattr(error, "orig", None) or error
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        return StoreError(f"ticket store {self.url}: {doing}: {reason}")

    def _open_with_key(self, conn: Connection, key: str | None) -> Ticket | None:
        if key is None:
            return None
        query = (
            select(tickets_table)
            .where(tickets_table.c.idempotency_key == key, _NOT_TERMINAL)
            .with_for_update()
        )
        row = conn.execute(query).first()
        if row is None:
            return None
        return _ticket(row, self._evidence(conn, [row.id]).get(row.id, ()))

    def _load(self, conn: Connection, ticket_id: int, lock: bool = False) -> Ticket:
        if isinstance(ticket_id, bool) or not isinstance(ticket_id, int):
            raise UsageError(f"ticket: '{ticket_id}' is not a ticket id")
        query = select(tickets_table).where(tickets_table.c.id == ticket_id)
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise NotFoundError(f"ticket {ticket_id}: no such ticket")
        return _ticket(row, self._evidence(conn, [ticket_id]).get(ticket_id, ()))

    def _evidence(self, conn: Connection, ids: list[int]) -> dict[int, tuple[dict[str, Any], ...]]:
        out: dict[int, list[dict[str, Any]]] = {}
        for first in range(0, len(ids), 500):
            query = (
                select(evidence_table.c.ticket_id, evidence_table.c.body)
                .where(evidence_table.c.ticket_id.in_(ids[first : first + 500]))
                .order_by(evidence_table.c.id)
            )
            for ticket_id, body in conn.execute(query):
                out.setdefault(ticket_id, []).append(body)
        return {k: tuple(v) for k, v in out.items()}

    def _insert(self, conn: Connection, ticket: Ticket, actor: str | None) -> Ticket:
        if ticket.after or (ticket.subject is not None and ticket.kind == "ethics_review"):
            named = [*ticket.after, *([ticket.subject] if ticket.subject is not None else [])]
            rows = conn.execute(
                select(tickets_table).where(_NOT_TERMINAL | tickets_table.c.id.in_(named))
            ).all()
            check_dependencies(ticket, {row.id: _ticket(row, ()) for row in rows})
        if ticket.subject is not None:  # an ethics review reviews a ticket that exists
            subject = conn.execute(select(tickets_table.c.id).where(tickets_table.c.id == ticket.subject))
            if subject.first() is None:
                raise NotFoundError(
                    f"subject: ticket {ticket.subject}: no such ticket "
                    "(an ethics review names the ticket it reviews)"
                )
        values = _row(ticket)
        ticket_id = conn.execute(
            insert(tickets_table).values(**values).returning(tickets_table.c.id)
        ).scalar_one()
        stored = replace(ticket, id=ticket_id)
        self._record(conn, changes.opened(stored, actor))
        for item in stored.evidence:
            conn.execute(insert(evidence_table).values(ticket_id=ticket_id, at=stored.created, body=item))
            self._record(
                conn,
                TicketEvent(at=stored.created, action="evidence", ticket=ticket_id, actor=actor, detail=item),
            )
        return stored

    def _apply(self, conn: Connection, change: tuple[Ticket, TicketEvent]) -> Ticket:
        ticket, change_event = change
        values = _row(ticket)
        conn.execute(update(tickets_table).where(tickets_table.c.id == ticket.id).values(**values))
        if change_event.action == "evidence":
            body = dict(change_event.detail)
            self._drop_replaced_evidence(conn, ticket)
            conn.execute(insert(evidence_table).values(ticket_id=ticket.id, at=change_event.at, body=body))
        self._record(conn, change_event)
        return ticket

    def _drop_replaced_evidence(self, conn: Connection, ticket: Ticket) -> None:
        """Delete stored evidence the rules replaced (a batch reported again; see ``add_evidence``)."""
        kept = [dict(item) for item in ticket.evidence]
        rows = conn.execute(
            select(evidence_table.c.id, evidence_table.c.body).where(evidence_table.c.ticket_id == ticket.id)
        ).all()
        gone = [row.id for row in rows if dict(row.body) not in kept]
        if gone:
            conn.execute(evidence_table.delete().where(evidence_table.c.id.in_(gone)))

    def _record(self, conn: Connection, change_event: TicketEvent) -> None:
        conn.execute(
            insert(events_table).values(
                ticket_id=change_event.ticket,
                at=change_event.at,
                action=change_event.action,
                actor=change_event.actor,
                detail=dict(change_event.detail),
            )
        )


def _add_missing_columns(conn: Connection) -> None:
    """Add the columns a table created by an earlier release lacks (nullable, so rows keep)."""
    present = {column["name"] for column in inspect(conn).get_columns("tickets")}
    for name in _ADDED_COLUMNS:
        if name not in present:
            kind = tickets_table.c[name].type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE tickets ADD COLUMN {name} {kind}"))


def _row(ticket: Ticket) -> dict[str, Any]:
    values = {name: getattr(ticket, name) for name in _ROW_FIELDS}
    for name in _LISTS:
        values[name] = list(values[name])
    values["phases"] = [phase.to_dict() for phase in ticket.phases]
    values["after_tickets"] = list(ticket.after)
    return values


def _ticket(row: Row[Any], evidence: Iterable[dict[str, Any]]) -> Ticket:
    data = row._asdict()
    for name in _LISTS:
        data[name] = tuple(data[name] or ())
    data["evidence"] = tuple(evidence)
    data["phases"] = tuple(Phase(**{**p, "skills": tuple(p["skills"])}) for p in data["phases"] or ())
    data["after"] = tuple(data.pop("after_tickets") or ())
    return Ticket(**data)
