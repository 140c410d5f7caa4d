"""Local servers on loopback for one workspace: a Prefect server and an MLflow tracking server.

``zenops server`` starts both as child processes and stops them together:

- the Prefect server (Prefect's application as ``prefect server start`` serves it,
  :mod:`zenops.app.prefect_server`) keeps its database in the workspace's
  ``.zenops/prefect`` folder, serves the UI, and runs the services that schedule
  deployments and fire event triggers;
- the MLflow tracking server (``mlflow server``) serves the workspace's own
  tracking store (``stores.tracking_uri``, SQLite by default) and artifact root,
  so the runs logged before keep their history.

Each server's output goes to ``.zenops/logs/NAME.log``; a server that does not
answer its health check in time is a :class:`StoreError` with the end of its log.
Once both answer, where they listen is written to ``.zenops/server.json``
(:mod:`zenops.kernel.server_record`), which the workspace's commands read to use the
Prefect server instead of starting one each; it is removed when the servers stop.
A second ``zenops server`` for a workspace whose recorded one still answers is refused.
The servers end with the command however it ends (``kill -9`` included:
:mod:`zenops.app.child_process`).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from zenops.app.child_process import end_with_parent
from zenops.kernel.errors import StoreError, UsageError
from zenops.kernel.offline import OFFLINE_ENVIRONMENT
from zenops.kernel.paths import STATE_DIR
from zenops.kernel.server_record import (
    ServerRecord,
    process_alive,
    read_record,
    record_path,
    remove_record,
    write_record,
)
from zenops.workspace import StoreUrls, Workspace

HOST = "127.0.0.1"
PREFECT_PORT = 4200
MLFLOW_PORT = 5000
STARTUP_SECONDS = 120.0


@dataclass
class Server:
    """One running server: what it is, where it answers, its process and log."""

    name: str
    url: str
    health: str
    process: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = 15.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``grace`` seconds)."""
        if not self.alive():
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=grace)


@dataclass
class LocalServers:
    """The servers of one workspace, and the settings that point zenops at them."""

    servers: list[Server] = field(default_factory=list)

    def by_name(self, name: str) -> Server | None:
        return next((s for s in self.servers if s.name == name), None)

    @property
    def environment(self) -> dict[str, str]:
        """The variables that make zenops, Prefect and MLflow clients use these servers."""
        env = {}
        prefect = self.by_name("prefect")
        if prefect is not None:
            env["PREFECT_API_URL"] = f"{prefect.url}/api"
        mlflow = self.by_name("mlflow")
        if mlflow is not None:
            env["ZENOPS_TRACKING_URI"] = mlflow.url
        return env

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.stop()


def _free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) != 0


def _log_tail(log: Path, lines: int = 12) -> str:
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:] if line.strip())


def wait_healthy(server: Server, timeout: float = STARTUP_SECONDS) -> None:
    """Wait until ``server`` answers its health check; a StoreError if it dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise StoreError(
                f"the {server.name} server exited with code {server.process.returncode} "
                f"before answering at {server.url} (log {server.log}: {_log_tail(server.log)})"
            )
        try:
            with urllib.request.urlopen(server.health, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    server.stop()
    raise StoreError(
        f"the {server.name} server did not answer at {server.health} within {timeout:g} s "
        f"(log {server.log}: {_log_tail(server.log)})"
    )


def _launch(name: str, argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=end_with_parent,  # noqa: PLW1509 - only prctl runs before exec
        )


def _quiet_environment() -> dict[str, str]:
    env = {**os.environ, **{k: v for k, v in OFFLINE_ENVIRONMENT.items() if k not in os.environ}}
    return env


def start_prefect(workspace: Workspace, host: str = HOST, port: int = PREFECT_PORT) -> Server:
    """A Prefect server on ``host:port`` whose database lives in the workspace."""
    if not _free(host, port):
        raise UsageError(f"--prefect-port: {host}:{port} is already in use")
    home = workspace.root / STATE_DIR / "prefect"
    home.mkdir(parents=True, exist_ok=True)
    url = f"http://{host}:{port}"
    env = _quiet_environment()
    env.pop("PREFECT_API_URL", None)
    env.update(
        {
            "PREFECT_HOME": str(home),
            "PREFECT_UI_API_URL": f"{url}/api",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        }
    )
    argv = [sys.executable, "-m", "zenops.app.prefect_server", "--host", host, "--port", str(port)]
    log = workspace.root / STATE_DIR / "logs" / "prefect-server.log"
    process = _launch("prefect", argv, env, workspace.root, log)
    return Server("prefect", url, f"{url}/api/health", process, log)


def start_mlflow(
    workspace: Workspace, host: str = HOST, port: int = MLFLOW_PORT, stores: StoreUrls | None = None
) -> Server:
    """An MLflow tracking server on ``host:port`` over the workspace's tracking store.

    ``stores`` (default: the workspace's, as resolved now) names the tracking store
    and artifact root the server serves.
    """
    stores = stores or workspace.stores
    if stores.tracking_uri.startswith(("http://", "https://", "databricks")):
        raise UsageError(
            f"stores.tracking_uri: {stores.tracking_uri} is already a tracking server; "
            "nothing to serve (use --no-mlflow)"
        )
    if not _free(host, port):
        raise UsageError(f"--mlflow-port: {host}:{port} is already in use")
    url = f"http://{host}:{port}"
    argv = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        host,
        "--port",
        str(port),
        "--backend-store-uri",
        stores.tracking_uri,
        "--default-artifact-root",
        stores.artifact_root,
        "--workers",
        "1",
    ]
    log = workspace.root / STATE_DIR / "logs" / "mlflow-server.log"
    process = _launch("mlflow", argv, _quiet_environment(), workspace.root, log)
    return Server("mlflow", url, f"{url}/health", process, log)


def start_servers(
    workspace: Workspace,
    host: str = HOST,
    prefect_port: int | None = PREFECT_PORT,
    mlflow_port: int | None = MLFLOW_PORT,
    timeout: float = STARTUP_SECONDS,
) -> LocalServers:
    """Start the servers asked for (a port of None: not that one) and wait until both answer."""
    started = LocalServers()
    try:
        if prefect_port is not None:
            started.servers.append(start_prefect(workspace, host, prefect_port))
        if mlflow_port is not None:
            started.servers.append(start_mlflow(workspace, host, mlflow_port))
        for server in started.servers:
            wait_healthy(server, timeout)
    except BaseException:
        started.stop()
        raise
    return started


def refuse_a_second(workspace: Workspace) -> None:
    """A UsageError when a ``zenops server`` recorded for the workspace still runs and answers.

    Two Prefect servers over one workspace's database would race on it; a record
    whose process is gone, or whose server does not answer, is stale and replaced.
    """
    try:
        record = read_record(workspace.root)
    except ValueError:
        return
    if record is None or not process_alive(record.pid) or record.pid == os.getpid():
        return
    try:
        with urllib.request.urlopen(f"{record.prefect_api_url}/health", timeout=2) as answer:
            answering = answer.status == 200
    except (urllib.error.URLError, OSError):
        answering = False
    if answering:
        raise UsageError(
            f"{record_path(workspace.root)}: zenops server already runs for this workspace "
            f"(pid {record.pid}, Prefect API {record.prefect_api_url}); stop it first"
        )


def record_servers(workspace: Workspace, servers: LocalServers) -> Path | None:
    """Write where the servers listen into the workspace (None: no Prefect server to record)."""
    prefect = servers.by_name("prefect")
    if prefect is None:
        return None
    mlflow, evidently = servers.by_name("mlflow"), servers.by_name("evidently")
    entry = ServerRecord.now(
        workspace.root,
        f"{prefect.url}/api",
        mlflow.url if mlflow else None,
        evidently.url if evidently else None,
    )
    return write_record(workspace.root, entry)


def run_until_stopped(servers: LocalServers, poll: float = 1.0, workspace: Workspace | None = None) -> int:
    """Keep the servers running until one exits or the user stops them; returns the exit code.

    ``workspace``: whose record of the servers (:func:`record_servers`) is removed first when
    they stop, however they stop (Ctrl-C, SIGTERM, SIGHUP, one of them exiting).
    """

    def _stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    try:
        while True:
            for server in servers.servers:
                if not server.alive():
                    raise StoreError(
                        f"the {server.name} server stopped with code {server.process.returncode} "
                        f"(log {server.log}: {_log_tail(server.log)})"
                    )
            time.sleep(poll)
    except KeyboardInterrupt:
        return 0
    finally:
        if workspace is not None:
            remove_record(workspace.root, os.getpid())
        servers.stop()
