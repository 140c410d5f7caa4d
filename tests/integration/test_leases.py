"""Workspace leases on a real database: one holder at a time, a dead holder cleared at once."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from zenops.adapters.leases import LeaseTaken, lease_table, leased
from zenops.adapters.monitor_state import MonitorStateStore


@pytest.fixture
def store(tmp_path: Path):
    return MonitorStateStore(f"sqlite:///{tmp_path / 'zenops.db'}").leases()


def test_one_holder_at_a_time_and_free_again_after(store) -> None:
    taken = pytest.raises(LeaseTaken, match="monitor:m is held by here:1:a since")
    with leased(store, "monitor:m", holder="here:1:a"), taken:
        store.acquire("monitor:m", "elsewhere:2:b", ttl=30)
    assert store.current("monitor:m") is None
    with leased(store, "monitor:m", holder="elsewhere:2:b"):
        assert store.current("monitor:m").holder == "elsewhere:2:b"


def test_an_expired_lease_of_another_host_is_cleared_with_a_warning(store, caplog) -> None:
    past = datetime.now(UTC) - timedelta(minutes=5)
    with store.engine.begin() as connection:
        connection.execute(
            lease_table.insert().values(name="monitor:m", holder="gone-host:7:x", acquired=past, expires=past)
        )
    with caplog.at_level(logging.WARNING, logger="zenops.leases"), leased(store, "monitor:m"):
        pass
    (line,) = [r.getMessage() for r in caplog.records]
    assert "cleared the stale lease monitor:m of gone-host:7:x" in line


def test_a_live_lease_of_another_host_is_respected(store) -> None:
    now = datetime.now(UTC)
    with store.engine.begin() as connection:
        connection.execute(
            lease_table.insert().values(
                name="monitor:m", holder="busy-host:7:x", acquired=now, expires=now + timedelta(minutes=1)
            )
        )
    with pytest.raises(LeaseTaken, match="busy-host:7:x"):
        store.acquire("monitor:m", "here:1:a", ttl=30)


def test_a_holder_killed_with_sigkill_frees_its_lease_at_once(store, tmp_path: Path, caplog) -> None:
    url = f"sqlite:///{tmp_path / 'zenops.db'}"
    script = textwrap.dedent(
        f"""
        import time
        from zenops.adapters.leases import leased
        from zenops.adapters.monitor_state import MonitorStateStore
        with leased(MonitorStateStore({url!r}).leases(), "monitor:m", ttl=3600):
            print("held", flush=True)
            time.sleep(600)
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LeaseTaken):
            store.acquire("monitor:m", "here:1:a", ttl=30)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        if holder.poll() is None:
            holder.kill()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="zenops.leases"), leased(store, "monitor:m"):
        took = time.monotonic() - started
    assert any(f":{holder.pid}:" in r.getMessage() and "stale" in r.getMessage() for r in caplog.records)
    assert took < 60  # cleared on sight, not after its hour-long lease


def test_the_lease_is_renewed_while_the_work_runs(store) -> None:
    with leased(store, "monitor:m", ttl=0.6, holder="here:1:a"):
        first = store.current("monitor:m").expires
        time.sleep(0.5)
        assert store.current("monitor:m").expires > first
        with pytest.raises(LeaseTaken):
            store.acquire("monitor:m", "elsewhere:2:b", ttl=30)
