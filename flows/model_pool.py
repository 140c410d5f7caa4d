"""Warm worker processes that monitor models, for ``monitoring.runner: process``.

The monitor flow's task of a model (``monitor MODEL``) stays in the flow's process,
where Prefect keeps its state, tags, logs and artifacts; it hands the model's
statistics to a worker of this pool, on another core, and waits. Between the two:

- the worker runs :func:`~zenops.services.monitor.cycle.monitor_leased` on its own
  :class:`~zenops.workspace.Workspace` of the same folder (the configuration read
  again per call), with the clock and the store overrides of the caller's
  environment at that call (``ZENOPS_*``, ``MLFLOW_*``, ``PREFECT_*``);
- what the cycle announces on the way comes back at once, in order, over one relay
  queue: a newly opened ticket (the flow notifies the on-call), an event for the
  event bus (the flow emits it, inside the task run), a log record of the
  ``zenops`` and ``drift`` loggers (the flow logs it again, in the task run);
- the model's progress (:mod:`zenops.kernel.progress`) comes back the same way, for
  the command line's bar;
- the model's summary, or its error, is the call's result.

The pool starts on the first call of a process and lives as long as the process:
its workers keep what they loaded (the libraries, each champion's profile), so a
process that runs many cycles (the demo, a benchmark, ``zenops serve`` in one
process) pays those once per worker. Workers are forked from a server process that
imported zenops' monitoring modules once (``forkserver`` with preloaded modules),
not from the flow's process, whose threads and connections a fork would copy. A
worker that dies (killed, out of memory) fails its model's task with one line;
the next call starts a new pool. Workers end within a second of the flow's process
ending, however it ends (a cancelled flow run's process killed included). The lease
of a dead worker's model is cleared by the next cycle that finds its holder gone.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from zenops.kernel import progress
from zenops.kernel.errors import ZenopsError
from zenops.kernel.offline import stay_offline
from zenops.services.monitor import cycle as monitoring
from zenops.workspace import Workspace

#: Imported once by the server process the workers fork from: what a cycle of many models
#: uses, so that no worker imports it again. NannyML is among them: loading a champion's
#: profile unpickles its fitted estimator, and NannyML brings statsmodels, Dask and
#: matplotlib along (2–4 CPU-seconds a process). Evidently is not: a worker imports it
#: when it builds a kept report.
PRELOAD = [
    "flows.model_pool",
    "zenops.services.monitor.cycle",
    "zenops.services.champion_profile",
    "zenops.adapters.monitor_state",
    "zenops.adapters.sql",
    "demand.adapters.sql",
    "registry.adapters.mlflow",
    "drift.stattests",
    "drift.metrics",
    "drift.labels",
    "pandas",
    "sklearn",
    "scipy.stats",
    "skops.io",
    "mlflow",
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.store.model_registry.sqlalchemy_store",
    "sqlalchemy",
    "nannyml",
]
#: The environment a call carries to its worker: the clock, the stores, Prefect's API.
CARRIED = ("ZENOPS_", "MLFLOW_", "PREFECT_")
RELAYED_LOGGERS = ("zenops", "drift")
_END = "end"


# -- in the worker ---------------------------------------------------------------


class _Relay:
    """The worker's side of the relay: the queue, and the call it works on."""

    queue: Any = None
    call: str | None = None
    progress: Any = None

    @classmethod
    def put(cls, kind: str, body: Any) -> None:
        if cls.queue is not None and cls.call is not None:
            cls.queue.put((cls.call, kind, body))


class _RelayLogs(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            _Relay.put("log", (record.name, record.levelno, record.getMessage()))
        except Exception:  # a record that cannot be formatted is not worth a failed batch
            self.handleError(record)


class _RelayedEvents:
    """The event bus of a worker: each event goes back to the flow, which emits it."""

    def emit(self, event: str, resource: Any, payload: Any, related: Any = ()) -> None:
        _Relay.put("event", {"event": event, "resource": dict(resource), "payload": dict(payload),
                             "related": [dict(item) for item in related]})  # fmt: skip


class _WorkerWorkspace(Workspace):
    """The flow's workspace as a worker sees it: the same folder, events relayed."""

    def events(self) -> _RelayedEvents:  # type: ignore[override]
        return _RelayedEvents()


def _relay_progress(event: str, fields: dict[str, Any]) -> None:
    _Relay.put("progress", (event, fields))


def _watch(flow_process: int) -> None:
    """End this worker when the flow's process is gone (killed, cancelled): nothing else would.

    A pool's workers wait on their call queue, whose pipe they hold both ends of, so a
    flow process that dies without shutting the pool down leaves them waiting for ever.
    """
    while True:
        time.sleep(1)
        try:
            os.kill(flow_process, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:  # alive, another user's: cannot happen for our parent's parent
            pass


def _start_worker(relay: Any, level: int, flow_process: int) -> None:
    """Each worker once: offline, its logs and progress relayed, at the flow's log level."""
    threading.Thread(target=_watch, args=(flow_process,), name="zenops-flow-watch", daemon=True).start()
    stay_offline()
    _Relay.queue = relay
    _Relay.progress = progress.listening(_relay_progress)  # kept: it listens for the worker's life
    _Relay.progress.__enter__()
    for name in RELAYED_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.addHandler(_RelayLogs())
        logger.propagate = False


def _ready() -> int:
    return os.getpid()


def _carry(environment: dict[str, str]) -> None:
    """The caller's ``CARRIED`` variables, exactly: set what it has, drop what it has not."""
    for name in [name for name in os.environ if name.startswith(CARRIED)]:
        if name not in environment:
            del os.environ[name]
    os.environ.update(environment)


def monitor_in_worker(root: str, model: str, call: str, environment: dict[str, str]) -> dict[str, Any]:
    """One model's pending batches, in a worker: what the flow's task would do in place."""
    _carry(environment)
    _Relay.call = call
    try:
        workspace = _WorkerWorkspace(root)
        spec = workspace.config.model(model)

        def announce(outcome: monitoring.BatchOutcome) -> None:
            _Relay.put("incident", outcome.to_dict())

        return monitoring.monitor_leased(workspace, spec, workspace.drift_engine(), on_ticket_opened=announce)
    finally:
        _Relay.put(_END, None)
        _Relay.call = None


# -- in the flow's process -------------------------------------------------------


@dataclass
class Listeners:
    """What the flow's task does with what a worker relays, in the task's own thread."""

    incident: Callable[[dict[str, Any]], None]
    event: Callable[[dict[str, Any]], None]


class ModelPool:
    """``workers`` warm processes, and the thread that routes their relayed messages to each call."""

    def __init__(self, workers: int) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        self.workers = workers
        self.relay = context.Queue()
        self.inboxes: dict[str, queue.Queue] = {}
        self.executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(self.relay, logging.getLogger("zenops").getEffectiveLevel(), os.getpid()),
        )
        self.broken = False
        self.started = False
        self.router = threading.Thread(target=self._route, name="zenops-model-pool-relay", daemon=True)
        self.router.start()

    def _route(self) -> None:
        while True:
            try:
                message = self.relay.get()
            except Exception:  # the queue closed as the process ends
                return
            if message is None:
                return
            inbox = self.inboxes.get(message[0])
            if inbox is not None:
                inbox.put(message[1:])

    def warm(self) -> None:
        """Start every worker now (each imports nothing more: they fork from the preloaded
        server), without waiting: the flow's own start-up runs meanwhile."""
        if not self.started:
            self.started = True
            for _ in range(self.workers):
                self.executor.submit(_ready)

    def monitor(self, root: str, model: str, listeners: Listeners) -> dict[str, Any]:
        """The model's cycle in a worker; relayed messages handled here as they come."""
        call = uuid.uuid4().hex
        inbox: queue.Queue = queue.Queue()
        self.inboxes[call] = inbox
        environment = {k: v for k, v in os.environ.items() if k.startswith(CARRIED)}
        try:
            future = self.executor.submit(monitor_in_worker, root, model, call, environment)
            future.add_done_callback(lambda _: inbox.put(("done", None)))
            self._handle(inbox, future, listeners)
            return self._result(future)
        finally:
            del self.inboxes[call]

    def _handle(self, inbox: queue.Queue, future: Future, listeners: Listeners) -> None:
        """Relayed messages until the worker said it ended and its result is in (or it died)."""
        ended = False
        while not (ended and future.done()):
            kind, body = inbox.get()
            if kind == _END:
                ended = True
            elif kind == "done" and isinstance(future.exception(), BrokenProcessPool):
                return
            elif kind == "log":
                name, level, message = body
                logging.getLogger(name).log(level, message)
            elif kind == "progress":
                progress.report(body[0], **body[1])
            elif kind == "incident":
                listeners.incident(body)
            elif kind == "event":
                listeners.event(body)

    def _result(self, future: Future) -> dict[str, Any]:
        try:
            return future.result()
        except BrokenProcessPool:
            self.broken = True
            raise ZenopsError(
                "the monitoring worker process stopped before it finished "
                "(killed, or out of memory); the next cycle starts a new one and takes the model over"
            ) from None

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.relay.put(None)
        self.router.join(timeout=10)


_pool: ModelPool | None = None
_pool_lock = threading.Lock()


def model_pool(workers: int) -> ModelPool:
    """The process's pool of ``workers`` processes: started on first use, kept warm after."""
    global _pool
    with _pool_lock:
        if _pool is not None and (_pool.broken or _pool.workers != workers):
            _pool.close()
            _pool = None
        if _pool is None:
            _pool = ModelPool(workers)
        return _pool


@atexit.register
def _close_pool() -> None:
    if _pool is not None:
        _pool.close()
