"""Durable monitoring state per model: watermarks and the drift streak.

Kept in the workspace database beside the tickets (same URL, own table). The
watermark names the last production batch (and label file) whose verdict and
records are stored; it is advanced only after them, in one transaction, so a
crash re-does a batch instead of skipping it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from zenops.errors import StoreError

metadata = MetaData()

state_table = Table(
    "monitor_state",
    metadata,
    Column("model", String(64), primary_key=True),
    Column("last_batch", String(300)),
    Column("last_labels", String(300)),
    Column("drift_streak", Integer, nullable=False, default=0),
    Column("last_verdict", String(32)),
    Column("updated", DateTime(timezone=True)),
)


@dataclass(frozen=True)
class ModelState:
    """Where monitoring of one model stands."""

    model: str
    last_batch: str | None = None
    last_labels: str | None = None
    drift_streak: int = 0
    last_verdict: str | None = None


def _engine(url: str) -> Engine:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return create_engine(url, connect_args={"timeout": 30})
    return create_engine(url, pool_pre_ping=True)


class MonitorStateStore:
    """Reads and advances per-model monitoring state in a SQL database."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = _engine(url)
            metadata.create_all(self.engine)
        except SQLAlchemyError as error:
            raise StoreError(f"monitor state {self._where()}: {str(error).splitlines()[0]}") from None

    def _where(self) -> str:
        from demand.store import mask_url

        return mask_url(self.url)

    def get(self, model: str) -> ModelState:
        try:
            with self.engine.connect() as connection:
                row = connection.execute(select(state_table).where(state_table.c.model == model)).first()
        except SQLAlchemyError as error:
            raise StoreError(f"monitor state {self._where()}: {str(error).splitlines()[0]}") from None
        if row is None:
            return ModelState(model)
        return ModelState(model, row.last_batch, row.last_labels, row.drift_streak or 0, row.last_verdict)

    def advance(self, state: ModelState) -> None:
        """Store ``state`` as the model's new watermark (insert or update, one transaction)."""
        values = {
            "last_batch": state.last_batch,
            "last_labels": state.last_labels,
            "drift_streak": state.drift_streak,
            "last_verdict": state.last_verdict,
            "updated": datetime.now(UTC),
        }
        try:
            with self.engine.begin() as connection:
                done = connection.execute(
                    state_table.update().where(state_table.c.model == state.model).values(**values)
                )
                if done.rowcount == 0:
                    connection.execute(state_table.insert().values(model=state.model, **values))
        except SQLAlchemyError as error:
            raise StoreError(f"monitor state {self._where()}: {str(error).splitlines()[0]}") from None

    def all(self) -> list[ModelState]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(state_table).order_by(state_table.c.model)).all()
        return [
            ModelState(r.model, r.last_batch, r.last_labels, r.drift_streak or 0, r.last_verdict)
            for r in rows
        ]
