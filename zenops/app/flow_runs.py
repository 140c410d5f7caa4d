"""The flow runs a command runs in its own process: without Prefect's flow-run heartbeats.

Prefect 3.9 gives every flow run a heartbeat thread (``flows.heartbeat_frequency``,
180 s by default) so that an automation can call a flow run whose process died a
zombie. The thread sleeps in one-second steps and the flow engine waits for it when
the run ends, so every flow run lasts up to a second longer, doing nothing: about
0.95 s of a trivial flow run's 1.13 s here, and 30 seconds of the demo's 30 daily
monitoring cycles.

A command that runs a flow in its own process (``zenops monitor``, ``train``,
``refresh``, ``rollback``, ``plan``, ``sla-watch``, ``demo``) reports the run's end
itself, crash included, so its runs go without heartbeats. Runs that Prefect starts —
a deployment's run on a worker, ``zenops serve``'s runs — keep Prefect's setting, and
so does a command whose Prefect settings (``PREFECT_FLOWS_HEARTBEAT_FREQUENCY``, its
legacy name ``PREFECT_RUNNER_HEARTBEAT_FREQUENCY``, or the Prefect profile) choose a
frequency other than the default.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

__all__ = ["HEARTBEAT_VARIABLES", "without_heartbeats"]

HEARTBEAT_VARIABLES = ("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "PREFECT_RUNNER_HEARTBEAT_FREQUENCY")
PREFECT_DEFAULT_SECONDS = 180


@contextlib.contextmanager
def without_heartbeats() -> Iterator[None]:
    """Flow runs started in this context send no heartbeats, unless the user chose a frequency."""
    from prefect.settings import get_current_settings, temporary_settings

    chosen = any(os.environ.get(name) for name in HEARTBEAT_VARIABLES)
    if chosen or get_current_settings().flows.heartbeat_frequency != PREFECT_DEFAULT_SECONDS:
        yield
        return
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        yield
