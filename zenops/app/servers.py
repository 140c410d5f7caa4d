"""Local servers on loopback for one workspace: a Prefect server and an MLflow tracking server.

``zenops server`` starts both as child processes and stops them together:

- the Prefect server (Prefect's application as ``prefect server start`` serves it,
  :mod:`zenops.app.prefect_server`) keeps its database in the workspace's
  ``.zenops/prefect`` folder, serves the UI, and runs the services that schedule
  deployments and fire event triggers;
- the MLflow tracking server (``mlflow server``) serves the workspace's own
  tracking store (``stores.tracking_uri``, SQLite by default) and artifact root,
  so the runs logged before keep their history;
- the registry webhook receiver (:mod:`zenops.app.webhook_receiver`), with both: zenops
  registers one MLflow webhook (``model_version.created``, ``model_version_tag.set``)
  that posts to it, signed with ``ZENOPS_WEBHOOK_SECRET`` (a new random secret each
  start when the variable is not set), and the receiver turns a verified delivery
  about a version tagged ``zenops.candidate`` into the Prefect event the
  ``evaluate-candidate`` deployment starts from. The MLflow server is started so it may
  deliver to loopback over plain HTTP (``MLFLOW_WEBHOOK_ALLOWED_SCHEMES``,
  ``MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS``) and keeps webhook secrets encrypted under a
  key kept in ``.zenops/secrets/`` (``MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY`` wins).

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

import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from registry.adapters.mlflow.webhooks import RECEIVER_PATH, ensure_webhook
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
WEBHOOK_KEY_FILE = "mlflow-webhook.key"


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
    env = _quiet_environment()
    env.setdefault("MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY", webhook_key(workspace))
    env.update({"MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https", "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true"})
    process = _launch("mlflow", argv, env, workspace.root, log)
    return Server("mlflow", url, f"{url}/health", process, log)


def webhook_key(workspace: Workspace) -> str:
    """The key MLflow encrypts webhook secrets under, kept in ``.zenops/secrets/`` (owner-only).

    It must outlive one server: a webhook whose secret MLflow cannot decrypt stops every
    delivery of the store.
    """
    path = workspace.root / STATE_DIR / "secrets" / WEBHOOK_KEY_FILE
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")  # a Fernet key
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(key)
    return path.read_text().strip()


def start_webhooks(
    workspace: Workspace, host: str, port: int | None, prefect: Server, mlflow: Server, secret: str
) -> Server:
    """The webhook receiver on ``host:port`` (None: a free port), pointed at the two servers."""
    port = port or _free_port(host)
    if not _free(host, port):
        raise UsageError(f"--webhook-port: {host}:{port} is already in use")
    url = f"http://{host}:{port}"
    env = _quiet_environment()
    env.update(
        {
            "PREFECT_API_URL": f"{prefect.url}/api",
            "ZENOPS_TRACKING_URI": mlflow.url,
            "ZENOPS_WEBHOOK_SECRET": secret,
        }
    )
    argv = [sys.executable, "-m", "zenops.app.webhook_receiver", "--host", host, "--port", str(port)]
    argv += ["--workspace", str(workspace.root)]
    log = workspace.root / STATE_DIR / "logs" / "webhooks.log"
    process = _launch("webhooks", argv, env, workspace.root, log)
    return Server("webhooks", f"{url}{RECEIVER_PATH}", f"{url}/health", process, log)


def register_webhook(servers: LocalServers, secret: str) -> None:
    """Register the receiver with the MLflow server (a StoreError naming both when it cannot)."""
    mlflow, receiver = servers.by_name("mlflow"), servers.by_name("webhooks")
    assert mlflow is not None and receiver is not None
    try:
        ensure_webhook(mlflow.url, receiver.url, secret)
    except Exception as error:
        first = " ".join(str(error).split())[:300]
        raise StoreError(
            f"MLflow {mlflow.url}: could not register the webhook to {receiver.url} ({first}; "
            f"log {mlflow.log}: {_log_tail(mlflow.log)})"
        ) from None


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def start_servers(
    workspace: Workspace,
    host: str = HOST,
    prefect_port: int | None = PREFECT_PORT,
    mlflow_port: int | None = MLFLOW_PORT,
    timeout: float = STARTUP_SECONDS,
    webhooks: bool = True,
    webhook_port: int | None = None,
) -> LocalServers:
    """Start the servers asked for (a port of None: not that one) and wait until they answer.

    With both a Prefect and an MLflow server and ``webhooks``, the webhook receiver starts
    too (on ``webhook_port``, else a free port) and MLflow is given its webhook.
    """
    started = LocalServers()
    try:
        if prefect_port is not None:
            started.servers.append(start_prefect(workspace, host, prefect_port))
        if mlflow_port is not None:
            started.servers.append(start_mlflow(workspace, host, mlflow_port))
        for server in started.servers:
            wait_healthy(server, timeout)
        prefect, mlflow = started.by_name("prefect"), started.by_name("mlflow")
        if webhooks and prefect is not None and mlflow is not None:
            secret = os.environ.get("ZENOPS_WEBHOOK_SECRET") or secrets.token_hex(32)
            receiver = start_webhooks(workspace, host, webhook_port, prefect, mlflow, secret)
            started.servers.append(receiver)
            wait_healthy(receiver, timeout)
            register_webhook(started, secret)
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
