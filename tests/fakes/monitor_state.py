"""Monitoring state and leases in memory: the :class:`zenops.ports.MonitorState` port without SQL.

It keeps what the SQL store keeps — per model the watermark, the files handled, the
label rows and the batch that scored each id last — in dicts, and every call to
:meth:`FakeMonitorState.advance` in ``advances``, so a test can tell that the watermark
moved (or did not) past a batch.
``tests/unit/test_port_contracts_monitor.py`` runs the same checks on it and on
:class:`zenops.adapters.monitor_state.MonitorStateStore`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from drift.labels import LabelRow
from zenops.ports import Changes, FileRecord, LeaseTaken, ModelState


@dataclass(frozen=True)
class FakeLease:
    name: str
    holder: str
    acquired: datetime
    expires: datetime


class FakeLeases:
    """Named, expiring leases in a dict; a live holder's lease is refused to anyone else."""

    def __init__(self) -> None:
        self.leases: dict[str, FakeLease] = {}
        self.taken: list[str] = []  # every lease name held, in order
        self._lock = threading.Lock()

    def current(self, name: str) -> FakeLease | None:
        return self.leases.get(name)

    def acquire(self, name: str, holder: str, ttl: float) -> FakeLease | None:
        now = datetime.now(UTC)
        with self._lock:
            before = self.leases.get(name)
            if before is not None and before.holder != holder and before.expires > now:
                raise LeaseTaken(name, before.holder, before.acquired)
            self.leases[name] = FakeLease(name, holder, now, now + timedelta(seconds=ttl))
            self.taken.append(name)
        return before if before is not None and before.holder != holder else None

    def renew(self, name: str, holder: str, ttl: float) -> bool:
        with self._lock:
            lease = self.leases.get(name)
            if lease is None or lease.holder != holder:
                return False
            expires = datetime.now(UTC) + timedelta(seconds=ttl)
            self.leases[name] = FakeLease(name, holder, lease.acquired, expires)
            return True

    def release(self, name: str, holder: str) -> None:
        with self._lock:
            lease = self.leases.get(name)
            if lease is not None and lease.holder == holder:
                del self.leases[name]

    @contextmanager
    def hold(self, name: str, ttl: float = 30.0, holder: str | None = None) -> Iterator[None]:
        holder = holder or "fake-host:1:test"
        self.acquire(name, holder, ttl)
        try:
            yield
        finally:
            self.release(name, holder)


class FakeMonitorState:
    """Per model: the watermark, the files handled and the label rows, in memory."""

    def __init__(self) -> None:
        self.states: dict[str, ModelState] = {}
        self.file_records: dict[str, dict[tuple[str, str], FileRecord]] = {}
        self.label_rows: dict[str, dict[str, LabelRow]] = {}
        self.scored_ids: dict[str, dict[str, str]] = {}
        self.advances: list[tuple[ModelState, Changes | None]] = []
        self.lease_store = FakeLeases()

    def get(self, model: str) -> ModelState:
        return self.states.get(model, ModelState(model))

    def all(self) -> list[ModelState]:
        return [self.states[model] for model in sorted(self.states)]

    def files(self, model: str) -> dict[tuple[str, str], FileRecord]:
        return dict(self.file_records.get(model, {}))

    def labels(
        self, model: str, *, ids: Sequence[str] | None = None, status: str | None = None
    ) -> list[LabelRow]:
        rows = self.label_rows.get(model, {})
        chosen = rows.values() if ids is None else [rows[i] for i in sorted(set(ids)) if i in rows]
        return [row for row in chosen if status is None or row.status == status]

    def scored(self, model: str, ids: Sequence[str]) -> dict[str, str]:
        kept = self.scored_ids.get(model, {})
        return {i: kept[i] for i in set(ids) if i in kept}

    def has_scored(self, model: str) -> bool:
        return bool(self.scored_ids.get(model))

    def advance(self, state: ModelState, changes: Changes | None = None) -> None:
        self.states[state.model] = state
        if changes is not None:
            files = self.file_records.setdefault(state.model, {})
            files.update({(record.folder, record.name): record for record in changes.files})
            rows = self.label_rows.setdefault(state.model, {})
            rows.update({row.row_id: row for row in changes.labels})
            scored = self.scored_ids.setdefault(state.model, {})
            for batch in changes.scored:
                for row_id in [i for i, b in scored.items() if b == batch.batch]:
                    del scored[row_id]
                scored.update(dict.fromkeys(batch.ids, batch.batch))
        self.advances.append((state, changes))

    def leases(self) -> FakeLeases:
        return self.lease_store
