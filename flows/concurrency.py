"""Prefect global concurrency limits: the names zenops uses, created before use.

A limit must exist before ``concurrency(...)`` can hold it (a missing one is
silently skipped unless ``strict=True``), so every flow creates or corrects the
limits it holds at its start, and ``zenops serve`` creates all of them up front:

- ``zenops-refresh-<model>`` (1): one refresh or rollback of a model at a time;
- ``zenops-training`` (the smallest ``promotion.training_slots``): trainings at once.

Monitoring is excluded in the workspace database instead (:mod:`zenops.adapters.leases`): a
batch's exclusion must hold whichever Prefect server a cycle runs under. Slots are
taken with a short lease (``LEASE_SECONDS``), renewed while the work runs, so a
holder that dies frees its slot within that time on a Prefect server; a wait longer
than ``WAIT_NOTICE_SECONDS`` says what it waits for.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from zenops.kernel.config import ZenopsConfig
from zenops.kernel.errors import StoreError, ZenopsError

log = logging.getLogger("zenops.concurrency")

TRAINING_LIMIT = "zenops-training"
LEASE_SECONDS = 60.0
WAIT_NOTICE_SECONDS = 5.0


def refresh_limit(model: str) -> str:
    """The limit that serialises refreshes (and rollbacks) of ``model``."""
    return f"zenops-refresh-{model}"


def training_slots(config: ZenopsConfig) -> int:
    """The ``zenops-training`` limit: the smallest ``promotion.training_slots`` of any model."""
    return min((spec.promotion.training_slots for spec in config.models), default=2)


def refresh_limits(config: ZenopsConfig, model: str) -> dict[str, int]:
    return {refresh_limit(model): 1, TRAINING_LIMIT: training_slots(config)}


def all_limits(config: ZenopsConfig) -> dict[str, int]:
    """Every limit the workspace's flows hold, with its size."""
    wanted = {TRAINING_LIMIT: training_slots(config)}
    for spec in config.models:
        wanted[refresh_limit(spec.name)] = 1
    return wanted


def ensure_limits(wanted: dict[str, int]) -> dict[str, int]:
    """Create (or correct and activate) each named limit with its size; idempotent."""
    from prefect import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    try:
        with get_client(sync_client=True) as client:
            for name, limit in wanted.items():
                try:
                    existing = client.read_global_concurrency_limit_by_name(name)
                except ObjectNotFound:
                    try:
                        client.create_global_concurrency_limit(
                            GlobalConcurrencyLimitCreate(name=name, limit=limit)
                        )
                        continue
                    except ObjectAlreadyExists:  # another run created it meanwhile
                        existing = client.read_global_concurrency_limit_by_name(name)
                if existing.limit != limit or not existing.active:
                    client.update_global_concurrency_limit(
                        name, GlobalConcurrencyLimitUpdate(limit=limit, active=True)
                    )
    except ZenopsError:
        raise
    except Exception as error:
        raise StoreError(f"Prefect API: cannot set up concurrency limits {sorted(wanted)}: {error}") from None
    return wanted


@contextmanager
def holding(
    name: str, what: str, wait_seconds: float | None = None, waited: dict[str, float] | None = None
) -> Iterator[None]:
    """Hold one slot of the global concurrency limit ``name`` (which must exist).

    ``waited``, if given, receives the seconds spent acquiring the slot under ``name``.
    """
    from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError
    from prefect.concurrency.sync import concurrency

    started = time.perf_counter()
    since = datetime.now(UTC).isoformat(timespec="seconds")
    notice = threading.Timer(
        WAIT_NOTICE_SECONDS,
        lambda: log.warning(
            "%s: waiting since %s for the concurrency limit '%s' (another run holds it)", what, since, name
        ),
    )
    notice.daemon = True
    notice.start()
    try:
        with concurrency(
            name,
            occupy=1,
            timeout_seconds=wait_seconds,
            strict=True,
            lease_duration=LEASE_SECONDS,
            raise_on_lease_renewal_failure=False,
        ):
            notice.cancel()
            if waited is not None:
                waited[name] = round(time.perf_counter() - started, 3)
            yield
    except TimeoutError:
        raise ZenopsError(
            f"{what}: gave up after {wait_seconds:g} s waiting for the concurrency limit '{name}' "
            "(another run holds it)"
        ) from None
    except ConcurrencySlotAcquisitionError as error:
        raise StoreError(f"{what}: cannot acquire the concurrency limit '{name}': {error}") from None
    finally:
        notice.cancel()
