"""Faults as an operator meets them: `zenops monitor` killed with SIGKILL, two cycles at once.

Real processes throughout: the `zenops` command, the temporary Prefect server it
starts (no ``PREFECT_API_URL``, as a cron job runs it), MLflow on SQLite and the
workspace database. After each fault the next cycle must recover on its own: no
lost batch, no batch processed twice, no duplicated ticket or evidence, no lease
left taken, no temporary server left running.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests.reliability import Table
from tests.workspaces import SavedWorkspace
from zenops.adapters.monitor_state import MonitorStateStore
from zenops.app.demo.datagen import (
    DriftSchedule,
    production_stream,
    write_frame,
    write_malformed,
)
from zenops.workspace import Workspace

ZENOPS = str(Path(sys.executable).with_name("zenops"))
MODEL = "loan-default"
TABLE = Table("faults", "Faults: a monitor killed with SIGKILL, two cycles at once")


@dataclass
class Seen:
    """A command's outcome as the table shows it: holders and times vary, so they are named."""

    code: int
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        lines = [re.sub(r"of [^ ]+:\d+:[0-9a-f]+ ", "of HOST:PID:TOKEN ", line) for line in lines]
        return [re.sub(r"since [0-9T:+-]+", "since TIME", line) for line in lines]


STORES = (
    "ZENOPS_WORKSPACE",
    "ZENOPS_TRACKING_URI",
    "ZENOPS_TICKETS_URL",
    "ZENOPS_DVC_REMOTE",
    "PREFECT_API_URL",
)


def environment(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in STORES}
    return {**env, "PREFECT_HOME": str(home), "PREFECT_LOGGING_LEVEL": "WARNING", **extra}


@pytest.fixture(scope="module")
def ws(saved_cli_trained: SavedWorkspace) -> Workspace:
    """A workspace ``zenops train`` trained (loan-default, its champion), put back for this module."""
    return Workspace(saved_cli_trained.restore_root())


class Days:
    """Fresh production days for each test, so every test has batches of its own."""

    stream = production_stream(MODEL, days=30, rows_per_day=300, seed=4, schedule=DriftSchedule.stable())
    used = 0

    @classmethod
    def take(cls, count: int):
        taken = cls.stream[cls.used : cls.used + count]
        cls.used += count
        return taken


def drop(ws: Workspace, count: int, malformed_at: int | None = None) -> list[str]:
    spec = ws.config.model(MODEL)
    names = []
    for index, batch in enumerate(Days.take(count)):
        path = ws.path(spec.batches) / f"{batch.day.isoformat()}.csv"
        if index == malformed_at:
            write_malformed(path, MODEL, "wrong_type", seed=1, day=batch.day, column="income")
        else:
            write_frame(batch.features, path)
        names.append(path.name)
    return names


def monitor(ws: Workspace, home: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [ZENOPS, "-w", str(ws.root), "monitor", MODEL, "--json"],
        env=environment(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def wait_for(condition: Callable[[], bool], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("the moment to kill at never came")


def servers_of(pid: int) -> list[psutil.Process]:
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [c for c in children if "uvicorn" in " ".join(c.cmdline())]


def monitoring_runs(ws: Workspace, batch: str) -> int:
    registry = ws.registry()
    return len(registry.runs_tagged(MODEL, {"zenops.run": "monitoring", "zenops.batch": batch}))


def lease_held(ws: Workspace) -> bool:
    return MonitorStateStore(ws.stores.tickets_url).leases().current(f"monitor:{MODEL}") is not None


def watermark(ws: Workspace) -> str | None:
    return MonitorStateStore(ws.stores.tickets_url).get(MODEL).last_batch


MOMENTS = {
    "server starting": lambda ws, proc, names: bool(servers_of(proc.pid)),
    "lease held": lambda ws, proc, names: lease_held(ws),
    # Past a batch and before the last (the cycle after the first batch can take under a second).
    "mid-cycle": lambda ws, proc, names: watermark(ws) in names[:-1],
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_a_cycle_killed_at_any_moment_is_recovered_by_the_next(
    ws: Workspace, tmp_path: Path, moment: str
) -> None:
    names = drop(ws, 3, malformed_at=1)
    home = tmp_path / "prefect"
    victim = monitor(ws, home)
    try:
        wait_for(lambda: MOMENTS[moment](ws, victim, names) or victim.poll() is not None)
        assert victim.poll() is None, f"the cycle ended before the moment: {victim.communicate()}"
        servers = servers_of(victim.pid)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
    finally:
        if victim.poll() is None:
            victim.kill()
    # no temporary server outlives the killed command
    gone, alive = psutil.wait_procs(servers, timeout=20)
    assert not alive, [p.cmdline() for p in alive]
    # the next cycle recovers on its own, within seconds of starting, and says what it cleared
    started = time.monotonic()
    done = subprocess.run(
        [ZENOPS, "-w", str(ws.root), "monitor", MODEL, "--json"],
        env=environment(home),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    TABLE.record(f"killed ({moment}); the next cycle", "zenops monitor loan-default", Seen(0, done.stderr))
    assert time.monotonic() - started < 300
    processed = [b["batch"] for b in json.loads(done.stdout)["models"][0]["batches"]]
    assert watermark(ws) == names[-1]
    assert set(processed) <= set(names) and names[-1] in processed
    assert not lease_held(ws)
    if moment != "server starting":
        assert "cleared the stale lease monitor:loan-default" in done.stderr, done.stderr
    for name in names:
        assert monitoring_runs(ws, name) == 1, name
    (ticket,) = [t for t in ws.ticket_store().list(model=MODEL) if t.status == "open"]
    assert ticket.kind == "data_quality"
    assert [e["batch"] for e in ticket.evidence].count(names[1]) == 1


@pytest.mark.parametrize("homes", ["two Prefect homes", "one fresh Prefect home"])
def test_two_cycles_at_once_never_process_a_batch_twice(ws: Workspace, tmp_path: Path, homes: str) -> None:
    names = drop(ws, 3, malformed_at=2)
    other = tmp_path / ("home-b" if homes == "two Prefect homes" else "home-a")
    first, second = monitor(ws, tmp_path / "home-a"), monitor(ws, other)
    results = [proc.communicate(timeout=900) for proc in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], results
    for name, (_, stderr) in zip(("first", "second"), results, strict=True):
        TABLE.record(
            f"two cycles at once, {homes}: the {name}", "zenops monitor loan-default", Seen(0, stderr)
        )
    processed = [b["batch"] for out, _ in results for b in json.loads(out)["models"][0]["batches"]]
    assert sorted(processed) == sorted(names), processed  # each batch once, by one of the two
    assert watermark(ws) == names[-1]
    for name in names:
        assert monitoring_runs(ws, name) == 1
    tickets = [t for t in ws.ticket_store().list(model=MODEL) if t.status == "open"]
    assert [e["batch"] for t in tickets for e in t.evidence].count(names[2]) == 1


def test_the_fault_table_is_the_one_in_the_docs(request) -> None:
    TABLE.check(request)
