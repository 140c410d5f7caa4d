"""The workspace database's engine: one per URL and workspace, shared by every store in it.

The tickets (:mod:`demand.adapters.sql`), the monitoring state and the leases
(:mod:`zenops.adapters.monitor_state`, :mod:`zenops.adapters.leases`) keep their tables
in one database. :class:`zenops.workspace.Workspace` builds its engine once, with the
settings below, and gives it to each store.

SQLite: a busy timeout instead of "database is locked", write-ahead logging so that
readers do not wait for a writer, foreign keys on, and transactions begun by SQLAlchemy
(``BEGIN IMMEDIATE`` for a writer, so read-then-write never deadlocks; a connection with
the execution option ``zenops_write=False`` begins ``DEFERRED``). An in-memory database
is one connection shared by threads, guarded by :func:`memory_lock`. PostgreSQL: a
pooled engine that checks a connection before use.
"""

from __future__ import annotations

import re
import threading
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from zenops.kernel.errors import StoreError

SQLITE_BUSY_TIMEOUT_S = 30.0

#: The lock of each in-memory engine, dropped with the engine.
_MEMORY_LOCKS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def memory_lock(engine: Engine) -> threading.RLock | None:
    """The lock that serialises an in-memory SQLite engine's one connection; None otherwise."""
    return _MEMORY_LOCKS.get(engine)


def make_engine(url: str) -> Engine:
    """A new engine for ``url`` with the settings above (the folder of a SQLite file is made)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    database = parsed.database or ""
    memory = database in ("", ":memory:") or parsed.query.get("mode") == "memory"
    if memory:
        engine = create_engine(
            parsed,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
        )
        _MEMORY_LOCKS[engine] = threading.RLock()
    else:
        if not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy, not the sqlite3 module, begins transactions (see _begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        if not memory:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # A writer takes the write lock up front, so read-then-write never deadlocks.
        mode = "IMMEDIATE" if conn.get_execution_options().get("zenops_write", True) else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def open_engine(url: str) -> Engine:
    """:func:`make_engine`, with a bad URL or a missing driver as one :class:`StoreError` line."""
    try:
        return make_engine(url)
    except (SQLAlchemyError, OSError) as error:
        cause = getattr(error, "orig", None) or error
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        raise StoreError(f"ticket store {mask_url(url)}: cannot open the store: {reason}") from None
