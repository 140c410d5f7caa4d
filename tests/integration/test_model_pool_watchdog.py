"""The process runner's workers end when the flow's process is killed, however busy they are.

A flow process killed outright (``SIGKILL``: a cancelled flow run, the out-of-memory
killer) cannot shut its pool down, and its workers wait on a queue whose pipe they hold
both ends of. Each worker watches the flow's process and ends within about a second of
it. Here a real process starts a real pool (the forkserver with the monitoring modules
preloaded, two workers: one idle, one in a call that would last ten minutes), writes the
processes' ids to a file and waits; the test kills it and waits, at most
``WITHIN_SECONDS``, for every one of them to be gone.

The child writes to files, never to pipes of this process: orphaned workers would
inherit the pipes, and a read waiting for their end would never return.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Bounded waits: for the child to start its pool (the forkserver imports the monitoring
#: libraries on a shared, busy machine), and for the orphaned processes to end.
STARTED_SECONDS = 180
WITHIN_SECONDS = 20

FLOW_PROCESS = """
import json, os, sys, time
from concurrent.futures import wait
from multiprocessing import forkserver

from flows.model_pool import _ready, model_pool

pool = model_pool(2)
pool.warm()
seen = set()
deadline = time.monotonic() + 150
while len(seen) < 2 and time.monotonic() < deadline:  # both workers started: their watch runs
    futures = [pool.executor.submit(_ready) for _ in range(4)]
    wait(futures)
    seen |= {future.result() for future in futures}
busy = pool.executor.submit(time.sleep, 600)  # a worker in a call that would outlast the test
time.sleep(0.5)
workers = sorted(pool.executor._processes)
server = forkserver._forkserver._forkserver_pid
with open(sys.argv[1] + ".part", "w") as out:
    json.dump({"workers": workers, "answered": sorted(seen), "server": server, "busy": busy.running()}, out)
os.replace(sys.argv[1] + ".part", sys.argv[1])
time.sleep(600)
"""


def ended(pid: int) -> bool:
    """Gone, or a zombie nobody reaped yet (it has ended: only its exit status is left)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return fields[0] in ("Z", "X")


def ours(pid: int) -> bool:
    """Still a process of the pool (forked from the forkserver), not a reused id."""
    try:
        return b"forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def started(child: subprocess.Popen, ids: Path, log: Path) -> dict:
    """The processes the child's pool started, once it wrote them (bounded)."""
    deadline = time.monotonic() + STARTED_SECONDS
    while not ids.exists():
        if child.poll() is not None:
            pytest.fail(
                f"the flow process ended ({child.returncode}) before its pool started: {log.read_text()}"
            )
        if time.monotonic() > deadline:
            pytest.fail(f"the flow process started no pool in {STARTED_SECONDS} s: {log.read_text()}")
        time.sleep(0.2)
    return json.loads(ids.read_text())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_workers_end_within_seconds_of_the_flow_process_being_killed(tmp_path: Path) -> None:
    ids, log = tmp_path / "pids.json", tmp_path / "flow-process.log"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    pids: list[int] = []
    with log.open("wb") as output:
        child = subprocess.Popen(
            [sys.executable, "-c", FLOW_PROCESS, str(ids)],
            cwd=ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        pool = started(child, ids, log)
        pids = [*pool["workers"], pool["server"]]
        assert len(pool["workers"]) == 2 and sorted(pool["answered"]) == pool["workers"], pool
        assert pool["busy"], "one worker is in a call when the flow's process is killed"
        assert not [pid for pid in pids if ended(pid)], f"all alive before the kill: {pool}"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        deadline = time.monotonic() + WITHIN_SECONDS
        while [pid for pid in pids if not ended(pid)] and time.monotonic() < deadline:
            time.sleep(0.2)
        survivors = [pid for pid in pids if not ended(pid)]
        named = {pid: ("forkserver" if pid == pool["server"] else "worker") for pid in survivors}
        assert not survivors, f"alive {WITHIN_SECONDS} s after the flow process was killed: {named}"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        for pid in pids:
            if not ended(pid) and ours(pid):
                os.kill(pid, signal.SIGKILL)
