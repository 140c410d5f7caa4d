"""A temporary Prefect server that dies with the command that started it.

Without ``PREFECT_API_URL``, Prefect starts a temporary server of its own for each
process. Killed with ``kill -9``, that process leaves its server running (listening,
a few hundred MB), and two commands starting at once on a fresh ``PREFECT_HOME``
race on the server's database migration. zenops starts the temporary server itself
instead, the same way Prefect does (uvicorn over Prefect's app factory, the UI off),
with two differences:

- the server is asked to end when its parent dies (Linux ``PR_SET_PDEATHSIG``), so
  no temporary server outlives its command, however the command ends;
- starting it holds a lock file in ``PREFECT_HOME`` until it answers, so two
  commands never migrate one database at once (the lock is the OS's: a killed
  holder releases it).

When ``PREFECT_API_URL`` is set (``zenops server``, a deployment, a worker), nothing
is started.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from zenops.kernel.errors import StoreError

__all__ = ["prefect_api"]

STARTUP_SECONDS = 90.0


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    os.setpgrp()  # a Ctrl-C in the terminal reaches the command, which stops the server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _home() -> Path:
    from prefect.settings import get_current_settings

    home = Path(get_current_settings().home).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home


def configured_api() -> str | None:
    """The Prefect API this process is told to use, if any."""
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    return str(url) if url else None


@contextlib.contextmanager
def _startup_lock(home: Path) -> Iterator[None]:
    with (home / ".zenops-temporary-server.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _start(home: Path) -> tuple[subprocess.Popen, str]:
    import prefect

    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
    }
    env.pop("PREFECT_API_URL", None)
    log = (home / "zenops-temporary-server.log").open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(Path(prefect.__file__).parent.parent),
            "--factory",
            "prefect.server.api.server:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl and setpgrp run before exec
    )
    log.close()
    return process, f"http://127.0.0.1:{port}/api"


def _wait_healthy(process: subprocess.Popen, api: str, home: Path) -> None:
    import httpx

    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StoreError(
                f"temporary Prefect server exited with code {process.returncode} while starting "
                f"(details: {home / 'zenops-temporary-server.log'})"
            )
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise StoreError(f"temporary Prefect server did not answer within {STARTUP_SECONDS:g} s at {api}")


@contextlib.contextmanager
def prefect_api() -> Iterator[str]:
    """The Prefect API for this command: the configured one, else a temporary server of ours."""
    configured = configured_api()
    if configured:
        yield configured
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    home = _home()
    with _startup_lock(home):
        process, api = _start(home)
        try:
            _wait_healthy(process, api, home)
        except BaseException:
            _stop(process)
            raise
    os.environ["PREFECT_API_URL"] = api  # for the processes this command starts
    try:
        with temporary_settings(updates={PREFECT_API_URL: api}):
            yield api
    finally:
        _drain()
        os.environ.pop("PREFECT_API_URL", None)
        _stop(process)


def _drain() -> None:
    """Deliver the events and logs still queued for the server before it stops."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (EventsWorker, APILogWorker):
        with contextlib.suppress(Exception):
            worker.drain_all(timeout=10)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
