"""When a task is tried again: only after a store failed, never on a zenops error of another kind.

A store (MLflow, DVC, git, the ticket database) may fail for a moment and be back
on the next try; a lineage, data or configuration error would fail again the
same way, so retrying it only delays the clear message.
"""

from __future__ import annotations

from typing import Any

from zenops.kernel.errors import StoreError, ZenopsError


def store_errors_only(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a failed task unless it failed with a zenops error that is not a store's."""
    error = state.data if isinstance(state.data, BaseException) else None
    return not isinstance(error, ZenopsError) or isinstance(error, StoreError)


def store_retries(retries: int = 2, delay_seconds: float = 2.0) -> dict[str, Any]:
    """Task options: ``retries`` further tries, ``delay_seconds`` apart, after store failures only."""
    return {
        "retries": retries,
        "retry_delay_seconds": delay_seconds,
        "retry_condition_fn": store_errors_only,
    }


STORE_RETRIES = store_retries()
