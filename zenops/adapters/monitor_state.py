"""Durable monitoring state per model: watermarks, the drift streak, files read and labels.

Kept in the workspace database beside the tickets (same URL, own tables). The
watermark names the last production batch whose verdict and records are stored;
it is advanced only after them, in one transaction with the label files read at
that batch and the labels that matched or wait, so a crash re-does a batch (and
re-reads its label files) instead of skipping it.

- ``monitor_state``: one row per model (watermark, streak, last verdict).
- ``monitor_files``: every label file read (or refused) and every file of the
  batches or labels folder that monitoring cannot read, with the file's md5: each is
  handled once, and a label file whose bytes change is read again.
- ``label_rows``: one row per labelled id: its target, the file it came from, when
  it arrived, and the batch it matched (``waiting`` until one does, ``expired`` once
  it waited longer than the model's ``labels.wait``).
- ``scored_ids``: one row per scored id: the batch (file stem) that scored it last,
  stored with that batch's watermark, so that labels are joined by looking up their
  own ids, not by reading every scored batch kept.

The schema is brought up to date when the store is opened: ``create_all`` makes the
missing tables (with their indexes) and leaves the others as they are, a column added
to a table that existed before it (``monitor_state.last_report``) is added then, and an
index added to a table that existed before it is made then (``CREATE INDEX IF NOT EXISTS``,
so two processes opening one database at once both succeed). A database made before
``scored_ids`` gets it on first use, and monitoring fills it once from the scored rows
kept on disk (:mod:`zenops.services.monitor.files`); ``ix_label_rows_status`` finds
the waiting labels without reading every label row of the model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    exists,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.schema import CreateIndex

from drift.labels import EXPIRED, MATCHED, WAITING, LabelRow
from zenops.adapters.leases import LeaseStore
from zenops.adapters.sql import make_engine, mask_url
from zenops.kernel.errors import StoreError
from zenops.ports import Changes, FileRecord, ModelState, ScoredBatch

__all__ = [
    "EXPIRED",
    "MATCHED",
    "WAITING",
    "LabelRow",
    "MonitorStateStore",
]

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
    Column("last_report", DateTime(timezone=True)),
)

files_table = Table(
    "monitor_files",
    metadata,
    Column("model", String(64), nullable=False),
    Column("folder", String(16), nullable=False),
    Column("name", String(300), nullable=False),
    Column("digest", String(64)),
    Column("status", String(16), nullable=False),
    Column("rows", Integer),
    Column("note", Text),
    Column("seen", DateTime(timezone=True)),
    PrimaryKeyConstraint("model", "folder", "name"),
)

label_table = Table(
    "label_rows",
    metadata,
    Column("model", String(64), nullable=False),
    Column("row_id", String(200), nullable=False),
    Column("target", Text, nullable=False),
    Column("source", String(300), nullable=False),
    Column("arrived", DateTime(timezone=True), nullable=False),
    Column("batch", String(300)),
    Column("status", String(16), nullable=False),
    PrimaryKeyConstraint("model", "row_id"),
    Index("ix_label_rows_status", "model", "status"),
)

scored_table = Table(
    "scored_ids",
    metadata,
    Column("model", String(64), nullable=False),
    Column("row_id", String(200), nullable=False),
    Column("batch", String(300), nullable=False),
    PrimaryKeyConstraint("model", "row_id"),
    Index("ix_scored_ids_batch", "model", "batch"),
)

_CHUNK = 500


class MonitorStateStore:
    """Reads and advances per-model monitoring state in a SQL database."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        """``engine``: the workspace database's shared engine; a new one for ``url`` when None."""
        self.url = url
        try:
            self.engine = engine if engine is not None else make_engine(url)
            metadata.create_all(self.engine)
            _add_columns(self.engine)
            _add_indexes(self.engine)
        except SQLAlchemyError as error:
            raise StoreError(f"monitor state {self._where()}: {str(error).splitlines()[0]}") from None

    def leases(self) -> LeaseStore:
        """The workspace leases, in the same database."""
        return LeaseStore(self.engine, self._where())

    def _where(self) -> str:
        return mask_url(self.url)

    def get(self, model: str) -> ModelState:
        try:
            with self.engine.connect().execution_options(zenops_write=False) as connection:
                row = connection.execute(select(state_table).where(state_table.c.model == model)).first()
        except SQLAlchemyError as error:
            raise StoreError(f"monitor state {self._where()}: {str(error).splitlines()[0]}") from None
        if row is None:
            return ModelState(model)
        return _state(row)

    def files(self, model: str) -> dict[tuple[str, str], FileRecord]:
        """Every file handled for ``model``, by (folder, name)."""
        query = select(files_table).where(files_table.c.model == model)
        rows = self._read(lambda c: c.execute(query).all())
        return {
            (r.folder, r.name): FileRecord(r.folder, r.name, r.digest, r.status, r.rows, r.note) for r in rows
        }

    def labels(
        self, model: str, *, ids: Sequence[str] | None = None, status: str | None = None
    ) -> list[LabelRow]:
        """Stored label rows of ``model``: those of ``ids`` (all when None), of one ``status``."""
        base = select(label_table).where(label_table.c.model == model)
        if status is not None:
            base = base.where(label_table.c.status == status)
        if ids is None:
            queries = [base]
        else:
            unique = sorted(set(ids))
            queries = [
                base.where(label_table.c.row_id.in_(unique[i : i + _CHUNK]))
                for i in range(0, len(unique), _CHUNK)
            ]

        def run(connection):
            return [row for query in queries for row in connection.execute(query).all()]

        return [
            LabelRow(r.row_id, r.target, r.source, _aware(r.arrived), r.batch, r.status)
            for r in self._read(run)
        ]

    def scored(self, model: str, ids: Sequence[str]) -> dict[str, str]:
        """Each of ``ids`` that a stored batch scored → the batch (file stem) that scored it last."""
        unique = sorted(set(ids))
        if not unique:
            return {}
        base = select(scored_table.c.row_id, scored_table.c.batch).where(scored_table.c.model == model)
        queries = [
            base.where(scored_table.c.row_id.in_(unique[i : i + _CHUNK]))
            for i in range(0, len(unique), _CHUNK)
        ]

        def run(connection):
            return {row.row_id: row.batch for query in queries for row in connection.execute(query)}

        return self._read(run)

    def has_scored(self, model: str) -> bool:
        """Whether the ids of any scored batch of ``model`` are stored."""
        query = select(exists().where(scored_table.c.model == model))
        return bool(self._read(lambda c: c.execute(query).scalar()))

    def _read(self, work):
        try:
            with self.engine.connect().execution_options(zenops_write=False) as connection:
                return work(connection)
        except SQLAlchemyError as error:
            raise StoreError(f"monitor state {self._where()}: {str(error).splitlines()[0]}") from None

    def advance(self, state: ModelState, changes: Changes | None = None) -> None:
        """Store ``state`` as the model's new watermark with ``changes``, in one transaction."""
        values = {
            "last_batch": state.last_batch,
            "last_labels": state.last_labels,
            "drift_streak": state.drift_streak,
            "last_verdict": state.last_verdict,
            "last_report": state.last_report,
            "updated": datetime.now(UTC),
        }
        try:
            with self.engine.begin() as connection:
                done = connection.execute(
                    state_table.update().where(state_table.c.model == state.model).values(**values)
                )
                if done.rowcount == 0:
                    connection.execute(state_table.insert().values(model=state.model, **values))
                if changes is not None:
                    _store_files(connection, state.model, changes.files)
                    _store_labels(connection, state.model, changes.labels)
                    _store_scored(connection, state.model, changes.scored)
        except SQLAlchemyError as error:
            raise StoreError(f"monitor state {self._where()}: {str(error).splitlines()[0]}") from None

    def all(self) -> list[ModelState]:
        """Where monitoring of every model stands, by model name."""
        query = select(state_table).order_by(state_table.c.model)
        rows = self._read(lambda c: c.execute(query).all())
        return [_state(r) for r in rows]


def _state(row) -> ModelState:
    last_report = _aware(row.last_report) if row.last_report is not None else None
    return ModelState(
        row.model, row.last_batch, row.last_labels, row.drift_streak or 0, row.last_verdict, last_report
    )


def _add_columns(engine: Engine) -> None:
    """Add the columns of tables that existed before the columns were added (all nullable)."""
    for table in metadata.sorted_tables:
        with engine.connect().execution_options(zenops_write=False) as connection:
            have = {c["name"] for c in inspect(connection).get_columns(table.name)}
        for column in (c for c in table.columns if c.name not in have):
            kind = column.type.compile(dialect=engine.dialect)
            try:
                with engine.begin() as connection:
                    connection.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))
            except SQLAlchemyError:
                # Another process opening the same database added it first.
                with engine.connect().execution_options(zenops_write=False) as connection:
                    if column.name not in {c["name"] for c in inspect(connection).get_columns(table.name)}:
                        raise


def _add_indexes(engine: Engine) -> None:
    """Make the indexes of tables that existed before their indexes were added."""
    with engine.connect().execution_options(zenops_write=False) as connection:
        found = inspect(connection)
        missing = [
            index
            for table in metadata.sorted_tables
            for index in table.indexes
            if index.name not in {i["name"] for i in found.get_indexes(table.name)}
        ]
    if missing:
        with engine.begin() as connection:
            for index in missing:
                connection.execute(CreateIndex(index, if_not_exists=True))


def _store_files(connection, model: str, records: Iterable[FileRecord]) -> None:
    now = datetime.now(UTC)
    for record in records:
        connection.execute(
            files_table.delete().where(
                (files_table.c.model == model)
                & (files_table.c.folder == record.folder)
                & (files_table.c.name == record.name)
            )
        )
        connection.execute(
            files_table.insert().values(
                model=model,
                folder=record.folder,
                name=record.name,
                digest=record.digest,
                status=record.status,
                rows=record.rows,
                note=record.note,
                seen=now,
            )
        )


def _store_labels(connection, model: str, rows: Sequence[LabelRow]) -> None:
    ids = [row.row_id for row in rows]
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        connection.execute(
            label_table.delete().where((label_table.c.model == model) & label_table.c.row_id.in_(chunk))
        )
    if rows:
        connection.execute(
            label_table.insert(),
            [
                {
                    "model": model,
                    "row_id": row.row_id,
                    "target": row.target,
                    "source": row.source,
                    "arrived": row.arrived,
                    "batch": row.batch,
                    "status": row.status,
                }
                for row in rows
            ],
        )


def _store_scored(connection, model: str, batches: Sequence[ScoredBatch]) -> None:
    """Each batch's ids, in order: a batch stored again loses its old ids, a later batch wins an id."""
    for scored in batches:
        connection.execute(
            scored_table.delete().where(
                (scored_table.c.model == model) & (scored_table.c.batch == scored.batch)
            )
        )
        ids = list(dict.fromkeys(scored.ids))
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            connection.execute(
                scored_table.delete().where(
                    (scored_table.c.model == model) & scored_table.c.row_id.in_(chunk)
                )
            )
        if ids:
            connection.execute(
                scored_table.insert(), [{"model": model, "row_id": i, "batch": scored.batch} for i in ids]
            )


def _aware(moment: datetime) -> datetime:
    """SQLite hands times back without their zone; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
