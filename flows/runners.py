"""The task runner a monitoring cycle fans out on, as ``monitoring.runner`` says.

- ``thread``: a thread pool of ``workers`` in the flow's own process (the default;
  models share the process's memory and the loaded champions);
- ``process``: a pool of ``workers`` processes on this machine (Prefect's
  ``ProcessPoolTaskRunner``), each loading what its models need;
- ``dask``: ``prefect-dask``'s ``DaskTaskRunner``, on a local cluster of ``workers``
  single-threaded worker processes, or on the running cluster at ``dask_address``.
"""

from __future__ import annotations

from typing import Any

from zenops.config import MonitoringSettings


def task_runner(settings: MonitoringSettings) -> Any:
    """A new, not yet started, task runner for ``settings``."""
    if settings.runner == "process":
        from prefect.task_runners import ProcessPoolTaskRunner

        from zenops.monitoring import warm_up

        return ProcessPoolTaskRunner(max_workers=settings.workers, initializer=warm_up)
    if settings.runner == "dask":
        from prefect_dask import DaskTaskRunner

        if settings.dask_address:
            return DaskTaskRunner(address=settings.dask_address)
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": settings.workers,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
            }
        )
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=settings.workers)


def describe(settings: MonitoringSettings) -> str:
    """``thread × 2``, ``dask at tcp://…``: how a cycle runs, for artifacts and logs."""
    if settings.runner == "dask" and settings.dask_address:
        return f"dask at {settings.dask_address}"
    return f"{settings.runner} × {settings.workers}"
