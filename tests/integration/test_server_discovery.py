"""Commands find the workspace's ``zenops server``; without one, two at once share one Prefect home.

Real processes throughout: ``zenops server --no-mlflow`` (a real Prefect server on
loopback) over a workspace made by ``zenops init``, and ``zenops sla-watch`` (the
cheapest command that runs a Prefect flow) or ``zenops monitor`` as a user runs them,
without ``PREFECT_API_URL`` unless a test sets it. A temporary server keeps its
database and log in the command's Prefect home: a command given an empty home that
leaves it empty started none, and a flow run in a home's database ran on one.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.loopback import closed_port
from tests.workspaces import SavedWorkspace
from zenops.app.init import init_workspace
from zenops.kernel.server_record import ServerRecord, read_record, record_path, write_record
from zenops.workspace import Workspace

ZENOPS = str(Path(sys.executable).with_name("zenops"))
UNSET = (
    "PREFECT_API_URL",
    "ZENOPS_WORKSPACE",
    "ZENOPS_TRACKING_URI",
    "ZENOPS_TICKETS_URL",
    "ZENOPS_DVC_REMOTE",
)
TEMPORARY_SERVER_LOG = "zenops-temporary-server.log"


def environment(home: Path, **extra: str) -> dict[str, str]:
    """A user's environment: no Prefect API, the workspace's own stores, Prefect home ``home``."""
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    return {**env, "PREFECT_HOME": str(home), "PREFECT_LOGGING_LEVEL": "WARNING", **extra}


def zenops(root: Path, *args: str, home: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ZENOPS, "-w", str(root), *args],
        env=environment(home, **extra),
        capture_output=True,
        text=True,
        timeout=600,
    )


def started_temporary_server(home: Path) -> bool:
    return (home / TEMPORARY_SERVER_LOG).exists() or (home / "prefect.db").exists()


def flow_runs(api: str, name: str) -> list[dict]:
    import httpx

    body = {"flow_runs": {"name": {"any_": [name]}}}
    return httpx.post(f"{api}/flow_runs/filter", json=body, timeout=30).json()


def names_of_flow_runs(home: Path) -> list[str]:
    """The names of the completed flow runs in the database of the Prefect home ``home``."""
    with contextlib.closing(sqlite3.connect(home / "prefect.db")) as db:
        found = db.execute("SELECT name FROM flow_run WHERE state_type = 'COMPLETED'").fetchall()
    return sorted(name for (name,) in found)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("zenops:")]


@dataclass
class Running:
    """A ``zenops server`` over ``root``: its process and the Prefect API it serves."""

    root: Path
    process: subprocess.Popen
    api: str


def initialised(root: Path) -> Path:
    """A workspace made by ``zenops init`` at ``root``, on its own stores."""
    with pytest.MonkeyPatch.context() as patch:
        for variable in UNSET:
            patch.delenv(variable, raising=False)
        init_workspace(Workspace(root))
    return root


@pytest.fixture(scope="module")
def saved_init(tmp_path_factory: pytest.TempPathFactory) -> SavedWorkspace:
    """A workspace made by ``zenops init``, once for the module, put back for each test."""
    return SavedWorkspace(initialised(tmp_path_factory.mktemp("discovery") / "ws"))


@contextlib.contextmanager
def zenops_server(base: Path) -> Iterator[Running]:
    """``zenops server --no-mlflow`` over its own workspace, once it has recorded where it listens."""
    root = initialised(base / "ws")
    port = closed_port()
    log = (base / "server.log").open("ab")
    process = subprocess.Popen(
        [ZENOPS, "-w", str(root), "server", "--no-mlflow", "--prefect-port", str(port)],
        env=environment(base / "prefect-unused"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 300
        while not record_path(root).exists():
            assert process.poll() is None, (base / "server.log").read_text()
            assert time.monotonic() < deadline, "zenops server recorded nothing within 300 s"
            time.sleep(0.5)
        yield Running(root, process, f"http://127.0.0.1:{port}/api")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with zenops_server(tmp_path_factory.mktemp("served")) as running:
        yield running


def test_zenops_server_records_where_it_listens(server: Running) -> None:
    import httpx

    record = read_record(server.root)
    assert record is not None
    assert (record.prefect_api_url, record.mlflow_url) == (server.api, None)
    assert (record.pid, record.workspace) == (server.process.pid, str(server.root))
    assert httpx.get(f"{record.prefect_api_url}/health", timeout=10).status_code == 200
    assert not list(record_path(server.root).parent.glob(".server.json.*"))  # no partial file left


def test_a_command_uses_the_recorded_server_and_starts_none(server: Running, tmp_path: Path) -> None:
    before = len(flow_runs(server.api, "sla watch"))
    home = tmp_path / "prefect"
    done = zenops(server.root, "sla-watch", "--json", home=home)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["watched"] == 0
    said = (
        f"zenops: using the Prefect server at {server.api} "
        f"(recorded by zenops server, pid {server.process.pid})"
    )
    assert error_lines(done.stderr) == [said]
    assert not started_temporary_server(home)
    runs = flow_runs(server.api, "sla watch")
    assert len(runs) == before + 1
    assert {run["state_type"] for run in runs} == {"COMPLETED"}


def test_a_second_zenops_server_for_the_workspace_is_refused(server: Running, tmp_path: Path) -> None:
    recorded = record_path(server.root).read_text()
    done = zenops(
        server.root, "server", "--no-mlflow", "--prefect-port", str(closed_port()), home=tmp_path / "prefect"
    )
    assert done.returncode == 2
    (line,) = error_lines(done.stderr)
    assert line.startswith(f"zenops: error: {record_path(server.root)}: zenops server already runs"), line
    assert f"pid {server.process.pid}" in line
    assert record_path(server.root).read_text() == recorded


@pytest.fixture(scope="module")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Prefect home for the tests that start temporary servers: fresh for the first of them
    (the two cycles at once), already set up for the next (its migrations are done)."""
    return tmp_path_factory.mktemp("prefect-home")


def point_at_a_closed_port(root: Path) -> str:
    """A record of a server that does not answer, written by a process that still runs (this one)."""
    url = f"http://127.0.0.1:{closed_port()}/api"
    write_record(root, ServerRecord.now(root, url, None))
    return url


def test_prefect_api_url_wins_over_the_record(
    server: Running, saved_init: SavedWorkspace, tmp_path: Path
) -> None:
    root = saved_init.restore_root()
    point_at_a_closed_port(root)
    before = len(flow_runs(server.api, "sla watch"))
    home = tmp_path / "prefect"
    done = zenops(root, "sla-watch", "--json", home=home, PREFECT_API_URL=server.api)
    assert done.returncode == 0, done.stderr
    assert error_lines(done.stderr) == []  # nothing said, as without a record
    assert not started_temporary_server(home)
    assert len(flow_runs(server.api, "sla watch")) == before + 1


def test_two_monitor_cycles_at_once_without_a_server_both_succeed(
    saved_init: SavedWorkspace, prefect_home: Path
) -> None:
    """Two commands start a temporary server each, at once, on one fresh Prefect home (one database)."""
    root = saved_init.restore_root()
    home = prefect_home
    started = [
        subprocess.Popen(
            [ZENOPS, "-w", str(root), "monitor", "loan-default", "--json"],
            env=environment(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [process.communicate(timeout=900) for process in started]
    assert [process.returncode for process in started] == [0, 0], results
    for stdout, _ in results:
        (summary,) = json.loads(stdout)["models"]  # no batch: each finds none, or the other at it
        assert (summary["verdict"], summary["batches"]) == ("ok", [])
    # Both flow runs went, through two servers, into the one database of the Prefect home.
    assert names_of_flow_runs(home) == ["monitor ws", "monitor ws"]


def test_a_recorded_server_that_does_not_answer_gives_a_warning_and_a_temporary_server(
    saved_init: SavedWorkspace, prefect_home: Path
) -> None:
    root = saved_init.restore_root()
    url = point_at_a_closed_port(root)
    done = zenops(root, "sla-watch", "--json", home=prefect_home)
    assert done.returncode == 0, done.stderr
    (line,) = error_lines(done.stderr)
    assert line.startswith(f"zenops: warning: {record_path(root)}: the Prefect server at {url} "), line
    assert " did not answer (" in line and line.endswith("; starting a temporary Prefect server"), line
    assert names_of_flow_runs(prefect_home).count("sla watch") == 1  # a temporary server of that home
    assert read_record(root) is not None  # its process lives: the record is not this command's to remove


def test_the_record_goes_when_zenops_server_stops(server: Running) -> None:
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=60) == 0
    assert not record_path(server.root).exists()


def test_zenops_server_killed_with_sigkill_takes_its_prefect_server_along(tmp_path: Path) -> None:
    import psutil

    with zenops_server(tmp_path) as running:
        children = psutil.Process(running.process.pid).children()
        assert children, "zenops server runs its Prefect server as a child"
        running.process.kill()
        running.process.wait(timeout=30)
        _, alive = psutil.wait_procs(children, timeout=30)
        assert not alive, [child.cmdline() for child in alive]
