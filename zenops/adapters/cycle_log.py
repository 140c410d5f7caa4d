"""When each model's monitoring last completed: the watch on the watcher reads it.

One row per model in the workspace database (table ``monitor_cycles``): the time (the
zenops clock, so a replay stamps its replayed day) of the last monitoring cycle that
finished the model's task, and how many such cycles there were. The monitor flow
writes it when a model's task completes, whatever the batches; the SLA watch reads it
to find models no completed cycle watched within ``monitoring.stale_after``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from zenops.adapters.sql import make_engine, mask_url
from zenops.kernel.errors import StoreError

__all__ = ["CycleLogStore"]

metadata = MetaData()

cycles_table = Table(
    "monitor_cycles",
    metadata,
    Column("model", String(200), primary_key=True),
    Column("completed_at", DateTime(timezone=True), nullable=False),
    Column("cycles", Integer, nullable=False, default=0),
)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class CycleLogStore:
    """The :class:`~zenops.ports.CycleLog` port on the workspace database."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = url
        try:
            self.engine = engine if engine is not None else make_engine(url)
            metadata.create_all(self.engine)
        except SQLAlchemyError as error:
            raise StoreError(f"monitor cycle log {mask_url(url)}: {str(error).splitlines()[0]}") from None

    def completed(self, models: Iterable[str], at: datetime) -> None:
        """Record that a cycle completed ``models`` at ``at``."""
        moment = _aware(at)
        try:
            with self.engine.begin() as conn:
                for model in models:
                    changed = conn.execute(
                        update(cycles_table)
                        .where(cycles_table.c.model == model)
                        .values(completed_at=moment, cycles=cycles_table.c.cycles + 1)
                    ).rowcount
                    if not changed:
                        try:
                            with conn.begin_nested():
                                conn.execute(
                                    cycles_table.insert().values(model=model, completed_at=moment, cycles=1)
                                )
                        except IntegrityError:  # another cycle inserted it meanwhile
                            conn.execute(
                                update(cycles_table)
                                .where(cycles_table.c.model == model)
                                .values(completed_at=moment, cycles=cycles_table.c.cycles + 1)
                            )
        except SQLAlchemyError as error:
            raise StoreError(
                f"monitor cycle log {mask_url(self.url)}: {str(error).splitlines()[0]}"
            ) from None

    def last_completed(self) -> dict[str, datetime]:
        """Each model's last completed cycle."""
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(select(cycles_table.c.model, cycles_table.c.completed_at)).all()
        except SQLAlchemyError as error:
            raise StoreError(
                f"monitor cycle log {mask_url(self.url)}: {str(error).splitlines()[0]}"
            ) from None
        return {model: _aware(at) for model, at in rows}
