"""The demo's deployments, served as ``zenops serve`` serves them: the loop's event-started work.

The demo runs the monitor itself, one cycle per replayed day; what a cycle's events
start runs as it does unattended. A Prefect runner in a thread of the demo serves the
``refresh`` and ``evaluate-candidate`` deployments (the definitions ``zenops serve`` and
``prefect.yaml`` use, with their triggers), against the demo's Prefect server: a
``zenops.model.degraded`` or ``zenops.candidate.registered`` event fires the trigger,
Prefect's automation creates the flow run, and the runner runs it in a process of its own
— which inherits the replayed day's clock (``ZENOPS_NOW``) from the demo. :meth:`wait`
waits for the runs an event started, so the story goes on once the day's work is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flows.deployments import runner_deployments
from zenops.kernel.errors import StoreError
from zenops.workspace import Workspace

__all__ = ["Served", "Started", "served"]

SERVED = ("refresh", "evaluate-candidate")
WAIT_SECONDS = 900.0


@dataclass(frozen=True)
class Started:
    """A flow run an event started: its deployment, name, parameters and final state."""

    deployment: str
    name: str
    parameters: dict[str, Any]
    state: str
    message: str


class Served:
    """The runner thread and what it serves (deployment name → id)."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.ids: dict[str, Any] = {}
        self.ready = threading.Event()
        self.failure: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.runner: Any = None

    def _serve(self, deployments: list[Any]) -> None:
        from prefect.runner import Runner

        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            self.runner = Runner(name="zenops-demo", query_seconds=1, pause_on_shutdown=False, limit=None)
            for deployment in deployments:
                self.ids[deployment.name] = await self.runner.aadd_deployment(deployment)
            self.ready.set()
            await self.runner.start()

        try:
            asyncio.run(main())
        except BaseException as error:  # the main thread reports it
            self.failure = error
            self.ready.set()

    def start(self) -> None:
        # Built here: in the runner's event loop, to_deployment would return a coroutine.
        wanted = runner_deployments(self.workspace.config, str(self.workspace.root))
        deployments = [deployment for deployment in wanted if deployment.name in SERVED]
        runner = threading.Thread(
            target=self._serve, args=(deployments,), name="zenops-demo-runner", daemon=True
        )
        runner.start()
        if not self.ready.wait(WAIT_SECONDS) or self.failure is not None:
            raise StoreError(f"the demo could not serve its deployments: {self.failure}")

    def stop(self) -> None:
        if self.loop is not None and self.runner is not None and self.runner.started:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self.runner.astop(), self.loop).result(timeout=30)

    def wait(self, deployment: str, expected: list[Mapping[str, Any]], since: datetime) -> list[Started]:
        """The runs of ``deployment`` created since ``since`` whose parameters match ``expected``, once final.

        Each item of ``expected`` names parameters a run must have (a model, a version);
        a run not started within :data:`WAIT_SECONDS` is a :class:`StoreError`.
        """
        drain_events()
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            found = self._runs(deployment, since)
            matched = [_first(found, want) for want in expected]
            if all(run is not None and run.state is not None and run.state.is_final() for run in matched):
                return [_started(deployment, run) for run in matched]
            if time.monotonic() > deadline:
                missing = [want for want, run in zip(expected, matched, strict=True) if run is None]
                raise StoreError(
                    f"the {deployment} deployment's trigger started no finished run for {missing} "
                    f"within {WAIT_SECONDS:g} s"
                )
            time.sleep(0.5)

    def _runs(self, deployment: str, since: datetime) -> list[Any]:
        from prefect import get_client
        from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[self.ids[deployment]]))
            )
        return [run for run in runs if run.created is not None and run.created >= since]


def _first(runs: list[Any], want: Mapping[str, Any]) -> Any:
    for run in sorted(runs, key=lambda r: r.created):
        if all(str(run.parameters.get(key)) == str(value) for key, value in want.items()):
            return run
    return None


def _started(deployment: str, run: Any) -> Started:
    return Started(deployment, run.name, dict(run.parameters), run.state.name, run.state.message or "")


def drain_events() -> None:
    """Send the events this process emitted (a cycle's) to the Prefect server before waiting on them."""
    from prefect.events.worker import EventsWorker

    with contextlib.suppress(Exception):
        EventsWorker.drain_all(timeout=10)


@contextlib.contextmanager
def served(workspace: Workspace) -> Iterator[Served]:
    """The deployments the loop's events start, served while the block runs."""
    found = Served(workspace)
    found.start()
    try:
        yield found
    finally:
        found.stop()


def now() -> datetime:
    """The real time (the runs' ``created`` is the server's clock, not the replayed day)."""
    return datetime.now(UTC)
