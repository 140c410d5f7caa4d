"""Workspace leases: exclusion kept in the workspace database, released when the holder dies.

Two monitoring cycles over one workspace must never process one batch twice,
whichever Prefect server (or none) each runs under, and a process killed while it
holds the right to work must not stop the next one for good. So the exclusion
lives in the workspace database, beside the watermark it protects:

- a lease row per name (``monitor:MODEL``) names its holder (``host:pid:token``)
  and expires ``ttl`` seconds after it was last renewed; a thread renews it while
  the work runs, and the holder deletes it when done;
- taking a lease is one atomic statement (an insert, or an update of a row whose
  lease has expired), so two processes never both hold it;
- a holder that died is detected at once when it ran on this host (its process is
  gone) and otherwise once its lease expires; it is cleared with one warning line.

Times are the machine's clock (UTC), never ``ZENOPS_NOW``, which replays the past.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, DateTime, MetaData, String, Table, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from zenops.kernel.errors import StoreError
from zenops.ports import LeaseTaken

__all__ = ["Lease", "LeaseStore", "LeaseTaken", "leased", "this_holder"]

log = logging.getLogger("zenops.leases")

metadata = MetaData()

lease_table = Table(
    "leases",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("acquired", DateTime(timezone=True), nullable=False),
    Column("expires", DateTime(timezone=True), nullable=False),
)

DEFAULT_TTL = 30.0
_TOKEN = uuid.uuid4().hex[:8]


def _new_token() -> None:
    """A forked process (a warm monitoring worker) is a new holder, not its parent's twin."""
    global _TOKEN
    _TOKEN = uuid.uuid4().hex[:8]


os.register_at_fork(after_in_child=_new_token)


@dataclass(frozen=True)
class Lease:
    name: str
    holder: str
    acquired: datetime
    expires: datetime


def this_holder() -> str:
    """``host:pid:token`` of this process (the token tells a reused pid apart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_TOKEN}"


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _dead(holder: str) -> bool:
    """Whether ``holder`` ran on this host and its process is gone."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    if int(pid_text) == os.getpid():
        return not holder.endswith(_TOKEN)
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class LeaseStore:
    """Leases in the workspace database (the engine of the monitoring state).

    The :class:`~zenops.ports.Leases` port: :meth:`hold` is what a service uses;
    :meth:`acquire`, :meth:`renew` and :meth:`release` are its parts.
    """

    def __init__(self, engine: Engine, where: str) -> None:
        self.engine, self.where = engine, where
        try:
            metadata.create_all(engine)
        except SQLAlchemyError as error:
            raise self._failed(error) from None

    def _failed(self, error: SQLAlchemyError) -> StoreError:
        return StoreError(f"leases {self.where}: {str(error).splitlines()[0]}")

    def hold(
        self, name: str, ttl: float = DEFAULT_TTL, holder: str | None = None
    ) -> AbstractContextManager[None]:
        """Hold the lease ``name`` while the block runs (:func:`leased`)."""
        return leased(self, name, ttl, holder)

    def current(self, name: str) -> Lease | None:
        try:
            with self.engine.connect().execution_options(zenops_write=False) as connection:
                row = connection.execute(select(lease_table).where(lease_table.c.name == name)).first()
        except SQLAlchemyError as error:
            raise self._failed(error) from None
        if row is None:
            return None
        return Lease(row.name, row.holder, _aware(row.acquired), _aware(row.expires))

    def acquire(self, name: str, holder: str, ttl: float) -> Lease | None:
        """Take the lease; returns the stale lease it replaced (None if it was free).

        Raises :class:`LeaseTaken` when a live holder has it.
        """
        now = _now()
        expires = now + timedelta(seconds=ttl)
        before = self.current(name)
        try:
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        lease_table.insert().values(name=name, holder=holder, acquired=now, expires=expires)
                    )
                return None
            except IntegrityError:
                pass
            stale = before is not None and (before.expires <= now or _dead(before.holder))
            condition = (lease_table.c.expires <= now) | (lease_table.c.holder == holder)
            if stale and before is not None:
                condition = condition | (lease_table.c.holder == before.holder)
            with self.engine.begin() as connection:
                done = connection.execute(
                    lease_table.update()
                    .where((lease_table.c.name == name) & condition)
                    .values(holder=holder, acquired=now, expires=expires)
                )
        except SQLAlchemyError as error:
            raise self._failed(error) from None
        if done.rowcount == 1:
            return before if before is not None and before.holder != holder else None
        taken = self.current(name) or before
        if taken is None:  # released between the two statements: try once more
            return self.acquire(name, holder, ttl)
        raise LeaseTaken(name, taken.holder, taken.acquired)

    def renew(self, name: str, holder: str, ttl: float) -> bool:
        try:
            with self.engine.begin() as connection:
                done = connection.execute(
                    lease_table.update()
                    .where((lease_table.c.name == name) & (lease_table.c.holder == holder))
                    .values(expires=_now() + timedelta(seconds=ttl))
                )
        except SQLAlchemyError as error:
            log.warning("could not renew the lease %s: %s", name, str(error).splitlines()[0])
            return True  # the store may be back before the lease expires
        return done.rowcount == 1

    def release(self, name: str, holder: str) -> None:
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    lease_table.delete().where(
                        (lease_table.c.name == name) & (lease_table.c.holder == holder)
                    )
                )
        except SQLAlchemyError as error:  # it expires on its own
            log.warning("could not release the lease %s: %s", name, str(error).splitlines()[0])


@contextmanager
def leased(
    store: LeaseStore, name: str, ttl: float = DEFAULT_TTL, holder: str | None = None
) -> Iterator[None]:
    """Hold the lease ``name`` while the block runs, renewing it every ``ttl / 3`` seconds.

    Raises :class:`LeaseTaken` at once when a live holder has it; clears a dead
    holder's lease with one warning line.
    """
    holder = holder or this_holder()
    stale = store.acquire(name, holder, ttl)
    if stale is not None:
        log.warning(
            "cleared the stale lease %s of %s (held since %s; its process is gone or its lease expired)",
            name,
            stale.holder,
            stale.acquired.isoformat(timespec="seconds"),
        )
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(ttl / 3):
            if not store.renew(name, holder, ttl):
                log.warning("lost the lease %s: another holder took it after it expired", name)
                return

    keeper = threading.Thread(target=renew, name=f"lease {name}", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        stop.set()
        keeper.join(timeout=5)
        store.release(name, holder)
