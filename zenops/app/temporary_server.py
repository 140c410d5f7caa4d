"""The Prefect API of a command: the configured one, the workspace's ``zenops server``, or a temporary one.

:func:`prefect_api` chooses, in this order:

1. ``PREFECT_API_URL`` (the environment or the Prefect profile): a deployment, a
   worker, a user's own server. Nothing is said, nothing is started.
2. The Prefect server ``zenops server`` recorded in the workspace
   (:mod:`zenops.kernel.server_record`), when its process lives and the server answers
   its health check within :data:`HEALTH_SECONDS`; one line on stderr says so. A
   record whose process is gone, that does not answer or that cannot be read gives
   a one-line warning naming the file and the URL, and the command goes on to 3.
3. A temporary Prefect server of the command's own, started the way Prefect starts
   one (uvicorn over Prefect's app, the UI off), with these differences:

   - it is asked to end when its command dies (Linux ``PR_SET_PDEATHSIG``), so no
     temporary server outlives its command, however the command ends;
   - the servers that share one ``PREFECT_HOME`` (and so one database) set the
     database up one at a time: each holds a lock file in ``PREFECT_HOME`` from the
     start of its start-up work (migrations, block registration, its services)
     until it serves (the lock is the OS's: a killed holder releases it). Importing
     Prefect's server, most of a start, runs in parallel;
   - a server still starting is waited for up to :data:`STARTUP_SECONDS`: on a busy
     machine a start on a fresh database takes a minute, and one queued behind
     another's set-up longer; a server that is killed while it migrates only leaves
     the work to the next one;
   - a request that its SQLite database turns away as locked (a 503) is run again
     within milliseconds (:mod:`zenops.app.locked_retry`), where Prefect's client
     would wait two seconds before trying again.

While the command runs, every thread of it and every process it starts talks to the
chosen API: ``PREFECT_API_URL`` is set in the environment, in Prefect's settings and
in its process-wide settings (which threads started without a copy of the
command's context read), so that nothing falls back to a server of Prefect's own,
which would share the database without the lock and give up after 20 seconds
("Timed out while attempting to connect to ephemeral Prefect API server").
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, TextIO

from zenops.app.child_process import end_with_parent
from zenops.app.locked_retry import RetryLocked
from zenops.kernel.errors import StoreError
from zenops.kernel.server_record import ServerRecord, process_alive, read_record, record_path, remove_record

__all__ = ["configured_api", "create_app", "prefect_api", "recorded_api"]

STARTUP_SECONDS = 300.0
HEALTH_SECONDS = 1.5
LOCK_FILE = ".zenops-temporary-server.lock"
LOG_FILE = "zenops-temporary-server.log"


def _die_with_parent() -> None:  # runs in the child between fork and exec
    end_with_parent()
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


# --- the server recorded by zenops server ---------------------------------------------


def _health_problem(api: str) -> str | None:
    """None when the Prefect API at ``api`` answers its health check, else what went wrong."""
    import httpx

    try:
        answer = httpx.get(f"{api.rstrip('/')}/health", timeout=HEALTH_SECONDS, trust_env=False)
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    if answer.status_code != 200:
        return f"HTTP {answer.status_code}"
    return None


def _record_problem(root: Path, record: ServerRecord) -> str | None:
    """Why the workspace's record cannot be used (None: it can); the reason names its URL."""
    url = record.prefect_api_url
    if Path(record.workspace).resolve() != root.resolve():
        return f"it names the Prefect server at {url} of another workspace, {record.workspace}"
    if not process_alive(record.pid):
        return f"the zenops server (pid {record.pid}) that recorded the Prefect server at {url} is gone"
    problem = _health_problem(url)
    if problem:
        return f"the Prefect server at {url} (pid {record.pid}) did not answer ({problem})"
    return None


def recorded_api(root: Path, stream: TextIO, start: bool = True) -> str | None:
    """The Prefect API of the ``zenops server`` recorded in the workspace at ``root``, if usable.

    Says on ``stream`` which server is used, or, in one warning line, why the record
    is not (and, with ``start``, that a temporary server is started instead); a
    record whose process is gone is removed.
    """
    path = record_path(root)
    instead = "starting a temporary Prefect server" if start else "not using it"
    try:
        record = read_record(root)
    except (OSError, ValueError) as error:
        _say(stream, f"zenops: warning: {path}: not a server record ({error}); {instead}")
        return None
    if record is None:
        return None
    problem = _record_problem(root, record)
    if problem is None:
        _say(
            stream,
            f"zenops: using the Prefect server at {record.prefect_api_url} "
            f"(recorded by zenops server, pid {record.pid})",
        )
        return record.prefect_api_url
    if not process_alive(record.pid):
        remove_record(root, record.pid)
    _say(stream, f"zenops: warning: {path}: {problem}; {instead}")
    return None


def _say(stream: TextIO, line: str) -> None:
    stream.write(line + "\n")
    stream.flush()


# --- the temporary server ---------------------------------------------------------------


def _take_setup_lock(home: Path) -> TextIO:
    """Wait for, and hold, the lock under which one server of ``home`` sets its database up."""
    handle = (home / LOCK_FILE).open("w")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def _release_setup_lock(handle: TextIO) -> None:
    fcntl.flock(handle, fcntl.LOCK_UN)
    handle.close()


def create_app() -> Any:
    """Prefect's server application, whose start-up holds the set-up lock of its ``PREFECT_HOME``.

    The factory uvicorn runs in a temporary server's process: the lock is taken when
    the application starts up and released once it serves, or when its start fails.
    A request refused because SQLite is locked is run again at once
    (:mod:`zenops.app.locked_retry`).
    """
    from prefect.server.api.server import create_app as prefect_app

    app = prefect_app()
    start_up = app.router.lifespan_context
    home = _home()

    @contextlib.asynccontextmanager
    async def one_setup_at_a_time(application: Any) -> AsyncIterator[Any]:
        held: TextIO | None = await asyncio.to_thread(_take_setup_lock, home)
        try:
            async with start_up(application) as state:
                _release_setup_lock(held)
                held = None
                yield state
        finally:
            if held is not None:
                _release_setup_lock(held)

    app.router.lifespan_context = one_setup_at_a_time
    return RetryLocked(app)


def _start(home: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
    }
    env.pop("PREFECT_API_URL", None)
    log = (home / LOG_FILE).open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(Path(__file__).resolve().parents[2]),  # where zenops is, not the current folder
            "--factory",
            f"{__name__}:create_app",
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
    """Poll ``/health`` until the server answers; one client for every poll.

    The server is plain HTTP on loopback: the client skips TLS set-up, which ``httpx.get``
    would redo (loading the CA bundle) on every poll, taking CPU the starting server needs.
    """
    import httpx

    deadline = time.monotonic() + STARTUP_SECONDS
    with httpx.Client(timeout=2, trust_env=False, verify=False) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise StoreError(
                    f"temporary Prefect server exited with code {process.returncode} while starting "
                    f"(details: {home / LOG_FILE})"
                )
            try:
                if client.get(f"{api}/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    raise StoreError(
        f"temporary Prefect server did not answer within {STARTUP_SECONDS:g} s at {api} "
        f"(details: {home / LOG_FILE})"
    )


@contextlib.contextmanager
def _temporary_server() -> Iterator[str]:
    home = _home()
    process, api = _start(home)
    try:
        _wait_healthy(process, api, home)
        with pointed_at(api):
            yield api
    finally:
        _stop(process)


# --- this process, pointed at one API ----------------------------------------------------


@contextlib.contextmanager
def pointed_at(api: str) -> Iterator[None]:
    """Every thread of this process, and every process it starts, talks to ``api``."""
    import prefect.context
    from prefect.settings import PREFECT_API_URL, temporary_settings

    before = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = api  # for the processes this command starts
    try:
        with temporary_settings(updates={PREFECT_API_URL: api}):
            process_wide = prefect.context.GLOBAL_SETTINGS_CONTEXT
            prefect.context.GLOBAL_SETTINGS_CONTEXT = prefect.context.get_settings_context()
            try:
                yield
            finally:
                _drain()
                prefect.context.GLOBAL_SETTINGS_CONTEXT = process_wide
    finally:
        if before is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = before


@contextlib.contextmanager
def prefect_api(
    workspace: Path | None = None, stream: TextIO | None = None, start: bool = True
) -> Iterator[str | None]:
    """The Prefect API for this command (see the module's notes for the order).

    ``workspace``: the root whose ``zenops server`` record is looked at (None: none
    is). ``stream``: where the line saying which server is used goes (default
    stderr). ``start=False``: nothing is started; None when no API is found.
    """
    configured = configured_api()
    if configured:
        yield configured
        return
    recorded = recorded_api(workspace, stream or sys.stderr, start) if workspace is not None else None
    if recorded:
        with pointed_at(recorded):
            yield recorded
    elif start:
        with _temporary_server() as api:
            yield api
    else:
        yield None


def _drain() -> None:
    """Deliver the events and logs still queued for the server before the command lets go of it."""
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
