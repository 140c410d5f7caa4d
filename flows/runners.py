"""The task runner a monitoring cycle fans out on, as ``monitoring.runner`` says.

- ``thread``: a thread pool of ``workers`` in the flow's own process (the default;
  models share the process's memory and the loaded champions);
- ``process``: the tasks on threads, as above, each handing its model's work to
  one of ``workers`` warm processes on this machine (:mod:`flows.model_pool`),
  which keep the libraries and the champions they loaded from cycle to cycle;
- ``dask``: ``prefect-dask``'s ``DaskTaskRunner``, on a local cluster of ``workers``
  single-threaded worker processes, or on the running cluster at ``dask_address``.

A local cluster lives for one cycle: its workers start, import zenops and its
libraries, load the champions of their models, and stop when the cycle ends. A
scheduler at ``dask_address`` that cannot be reached fails the cycle with a
:class:`~zenops.kernel.errors.StoreError` naming the address.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from typing import Any

from drift.adapters.evidently import warm_up as warm_up_evidently
from drift.adapters.nannyml import warm_up as warm_up_nannyml
from zenops.kernel.config import MonitoringSettings
from zenops.kernel.errors import StoreError

# Read by the worker processes of a local cluster when they start (Dask configuration).
WORKER_LOG_LEVEL = "DASK_LOGGING__DISTRIBUTED"


def warm_up() -> None:
    """Import the drift libraries now, under their first-import lock.

    A cycle does not need it: each library is imported, under the lock, by the first
    step that uses it (a kept report, an estimate), so a cycle that keeps no report and
    needs no estimate imports neither. A long-lived process may call it to pay the
    imports before its first cycle.
    """
    warm_up_evidently()
    warm_up_nannyml()


def task_runner(settings: MonitoringSettings) -> Any:
    """A new, not yet started, task runner for ``settings``."""
    if settings.runner == "dask":
        runner = _dask_runner()
        if settings.dask_address:
            return runner(address=settings.dask_address)
        return runner(
            cluster_kwargs={
                "n_workers": settings.workers,
                "threads_per_worker": 1,
                "processes": True,
                # No dashboard; the scheduler's own HTTP routes on a free loopback port.
                "scheduler_kwargs": {"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            }
        )
    from prefect.task_runners import ThreadPoolTaskRunner

    # ``process``: each task waits in a thread while a warm worker process does its model's work.
    return ThreadPoolTaskRunner(max_workers=settings.workers)


def describe(settings: MonitoringSettings) -> str:
    """``thread × 2``, ``dask at tcp://…``: how a cycle runs, for artifacts and logs."""
    if settings.runner == "dask" and settings.dask_address:
        return f"dask at {settings.dask_address}"
    return f"{settings.runner} × {settings.workers}"


@cache
def _dask_runner() -> type:
    """``prefect-dask``'s runner, quiet on a local cluster, one clear error for a lost scheduler.

    Defined on first use: importing this module does not import Dask.
    """
    import prefect_dask

    class DaskTaskRunner(prefect_dask.DaskTaskRunner):
        @property
        def client(self) -> Any:
            if self._client is not None:
                return self._client
            if not self.address:
                with _quiet_local_cluster():
                    return super().client
            try:
                return super().client
            except OSError as error:  # refused, timed out, unknown host, closed on the way
                raise StoreError(
                    f"Dask scheduler at {self.address} cannot be reached ({error}); "
                    "start it, or correct monitoring.dask_address in zenops.yaml"
                ) from error

        def __exit__(self, *args: Any) -> None:
            if self._client is not None and self._cluster is not None and not self.address:
                # The local workers stop with the cycle: first send what they still hold.
                with suppress(Exception):
                    self._client.run(flush_prefect_events)
            super().__exit__(*args)

    return DaskTaskRunner


async def flush_prefect_events() -> None:
    """Send the task-run events and logs a worker process still queues to the Prefect API.

    A worker reports its task runs' states and logs in the background; a process
    that stops right after the cycle could otherwise take the last of them along.
    Runs on the worker's event loop (``Client.run``), where ``drain_all`` is awaitable.
    """
    from prefect._internal.concurrency.services import QueueService

    await QueueService.drain_all(timeout=30, at_exit=False)


class _WorkerTeardown(logging.Filter):
    """Drops the nanny's warning that it stopped a worker process still shutting down.

    When a cycle ends, a worker's Python takes 2–4 s to unload Evidently, NannyML
    and MLflow (thousands of modules), more on a busy machine, and the nanny waits
    4 s before it stops the process. The worker's results are in and its task-run
    states and logs sent (:func:`flush_prefect_events`) by then.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Worker process still alive after")


_start_lock = threading.Lock()


@contextmanager
def _quiet_local_cluster() -> Iterator[None]:
    """``distributed`` logs at WARNING, here and in the worker processes a local cluster starts.

    At INFO it writes some sixty lines per cycle (scheduler, nannies, workers,
    connections). The worker processes read the level from the environment as
    they start, so it is set there only while the cluster starts.
    """
    logging.getLogger("distributed").setLevel(logging.WARNING)
    nanny = logging.getLogger("distributed.nanny")
    if not any(isinstance(f, _WorkerTeardown) for f in nanny.filters):
        nanny.addFilter(_WorkerTeardown())
    with _start_lock:
        before = os.environ.get(WORKER_LOG_LEVEL)
        os.environ[WORKER_LOG_LEVEL] = "warning"
        try:
            yield
        finally:
            if before is None:
                os.environ.pop(WORKER_LOG_LEVEL, None)
            else:
                os.environ[WORKER_LOG_LEVEL] = before
