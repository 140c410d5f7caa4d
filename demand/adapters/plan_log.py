"""The plan log in the workspace database (SQLite or PostgreSQL, SQLAlchemy 2).

Table ``plans``: one row per published plan — when, its mode, its assignments as JSON.
It shares the ticket store's engine; a database error becomes a
:class:`~zenops.kernel.errors.StoreError` naming the store's URL, password masked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import JSON, Column, Engine, Integer, MetaData, String, Table, delete, insert, select
from sqlalchemy.exc import SQLAlchemyError

from demand.adapters.sql import UtcDateTime
from demand.plan_log import KEPT_PLANS
from demand.stability import Planned
from zenops.adapters.sql import mask_url, memory_lock
from zenops.kernel.errors import StoreError

metadata = MetaData()

plans_table = Table(
    "plans",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("made_at", UtcDateTime, nullable=False),
    Column("mode", String(16), nullable=False, index=True),
    Column("assignments", JSON, nullable=False),
)


class SqlPlanLog:
    """A :class:`~demand.plan_log.PlanLog` in a SQL database; its table is created when missing."""

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = mask_url(url)
        self._engine = engine
        self._memory_lock = memory_lock(engine)
        with self._errors("cannot create the plans table"), self._connection() as conn:
            metadata.create_all(conn, checkfirst=True)

    def record(self, made_at: datetime, mode: str, planned: Iterable[Planned]) -> None:
        rows = [p.to_dict() for p in planned]
        with self._errors("cannot record the plan"), self._connection() as conn:
            conn.execute(insert(plans_table).values(made_at=made_at, mode=mode, assignments=rows))
            kept = (
                select(plans_table.c.id)
                .where(plans_table.c.mode == mode)
                .order_by(plans_table.c.id.desc())
                .limit(KEPT_PLANS)
            )
            ids = [row.id for row in conn.execute(kept)]
            conn.execute(delete(plans_table).where(plans_table.c.mode == mode, plans_table.c.id.not_in(ids)))

    def last(self, mode: str) -> list[Planned]:
        query = select(plans_table.c.assignments).where(plans_table.c.mode == mode)
        with self._errors("cannot read the last plan"), self._connection() as conn:
            row = conn.execute(query.order_by(plans_table.c.id.desc()).limit(1)).first()
        return [Planned.from_dict(item) for item in row.assignments] if row else []

    @contextmanager
    def _connection(self) -> Iterator:
        if self._memory_lock is not None:
            with self._memory_lock, self._engine.begin() as conn:
                yield conn
            return
        with self._engine.begin() as conn:
            yield conn

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except (SQLAlchemyError, OSError) as error:
            cause = getattr(error, "orig", None) or error
            reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
            raise StoreError(f"ticket store {self.url}: {doing}: {reason}") from None
