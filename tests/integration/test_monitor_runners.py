"""The monitoring cycle decides the same on every task runner: threads, processes, Dask.

The process runner's warm workers also relay what a cycle announces on the way, and a
worker that dies fails its model in one line, after which the next cycle goes on.

Each runner gets its own copy of one workspace, its models trained from seeded data
and given seeded drifting batches (built once, put back as built for each runner);
one cycle each must give the same verdict, drift share, drifted features and
tickets, per model and per batch, as the thread runner.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.monitor import monitor_model, monitor_models
from flows.train import train_model
from tests.integration.conftest import STORE_VARIABLES, set_monitoring, write_training_data
from tests.workspaces import SavedWorkspace
from zenops.app.demo.datagen import DriftSchedule, production_stream, write_stream
from zenops.app.init import init_workspace
from zenops.kernel.errors import StoreError
from zenops.workspace import Workspace, example_config

MODELS = ("loan-default", "demand-forecast")
DAYS, ROWS, SEED = 4, 300, 5
# Stable on day 0, fully shifted from day 1, labels a day late: the batches give
# ok, then drift verdicts and tickets, with measured performance on the later days.
SCHEDULE = DriftSchedule(covariate_start=1, covariate_ramp_days=1, concept_start=None, label_delay_days=1)
# The HTML report changes no decision and costs seconds per batch.
MONITORING = {"workers": 2, "html_reports": "never"}


def make_workspace(root: Path, monitoring: dict[str, Any], init: bool = True) -> Workspace:
    """A workspace of the two demo models with ``monitoring`` settings, not yet trained.

    ``init=False``: only its ``zenops.yaml`` (enough for a cycle that fails before any work).
    """
    config = yaml.safe_load(example_config())
    config["monitoring"] = monitoring
    # Drift alone decides here, as it did when this comparison was written: the runners
    # must agree on drift verdicts and tickets, whatever the performance rules say.
    for model in config["models"]:
        model.setdefault("drift", {})["performance_first"] = False
    root.mkdir(parents=True)
    (root / "zenops.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    if init:
        init_workspace(Workspace(root))
    return Workspace(root)  # configuration is cached: a fresh object reads the file as written


def trained_with_batches(root: Path, monitoring: dict[str, Any]) -> Workspace:
    """Both demo models trained on the same seeded rows, the same drifting batches dropped."""
    from threadpoolctl import threadpool_limits

    workspace = make_workspace(root, monitoring)
    # One OpenMP thread: the same model, trained several times faster on a busy machine.
    with threadpool_limits(1):
        for name in MODELS:
            write_training_data(workspace, name)
            train_model(model=name, workspace=str(workspace.root))
    for name in MODELS:
        spec = workspace.config.model(name)
        stream = production_stream(name, days=DAYS, rows_per_day=ROWS, seed=SEED, schedule=SCHEDULE)
        write_stream(
            stream, workspace.path(spec.batches), workspace.path(spec.labels), through=stream[-1].day
        )
    return workspace


def decisions(workspace: Workspace, result: dict[str, Any]) -> dict[str, Any]:
    """What a cycle decided, per model and per batch, without ids, times or run links."""

    def decided(outcome: dict[str, Any]) -> dict[str, Any]:
        return {
            "verdict": outcome["verdict"],
            "drift_share": outcome["drift_share"],
            "drifted": sorted(f["feature"] for f in outcome["drifted_features"]),
        }

    tickets = workspace.ticket_store()
    return {
        summary["model"]: {
            **decided(summary),
            "batches": {batch["batch"]: decided(batch) for batch in summary["batches"]},
            "tickets": sorted(ticket.kind for ticket in tickets.list(model=summary["model"])),
        }
        for summary in result["models"]
    }


def one_cycle(workspace: Workspace) -> tuple[dict[str, Any], str]:
    """One cycle over every model: its decisions and the flow run's id."""
    state = monitor_models(
        workspace=str(workspace.root), workspace_name=workspace.root.name, return_state=True
    )
    assert state.is_completed(), state.message
    return decisions(workspace, state.result()), str(state.state_details.flow_run_id)


def monitor_task_runs(flow_run_id: str, expected: int, timeout: float = 30.0) -> list[Any]:
    """The ``monitor-model`` task runs of a flow run, once the API holds ``expected`` of them."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    runs: list[Any] = []
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = [
                run
                for run in client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
                )
                if run.task_key == monitor_model.task_key
            ]
            if len(runs) >= expected and all(run.state and run.state.is_final() for run in runs):
                return runs
            time.sleep(0.5)
    return runs


@pytest.fixture(scope="module")
def pinned_clock():
    """Store URLs from each workspace's own zenops.yaml; the clock at the last batch's evening."""
    with pytest.MonkeyPatch.context() as patch:
        for variable in STORE_VARIABLES:
            patch.delenv(variable, raising=False)
        last = production_stream(MODELS[0], days=DAYS, rows_per_day=1, schedule=SCHEDULE)[-1].day
        patch.setenv("ZENOPS_NOW", datetime.combine(last, clock_time(23)).isoformat() + "+00:00")
        yield


@pytest.fixture(scope="module")
def saved_batches(prefect_api, saved_stores, pinned_clock, tmp_path_factory) -> SavedWorkspace:
    """Both demo models trained and the drifting batches dropped, once; each runner gets a copy."""
    root = tmp_path_factory.mktemp("runners") / "ws"
    return SavedWorkspace(trained_with_batches(root, MONITORING).root)


def on_runner(saved: SavedWorkspace, runner: str) -> Workspace:
    """The saved workspace put back as it was built, its cycles set to run on ``runner``."""
    return set_monitoring(saved.restore(), runner=runner)


@pytest.fixture(scope="module")
def on_threads(saved_batches: SavedWorkspace) -> dict[str, Any]:
    """The thread runner's decisions: the reference every other runner must match."""
    found, _ = one_cycle(on_runner(saved_batches, "thread"))
    assert set(found) == set(MODELS)
    verdicts = {batch["verdict"] for model in found.values() for batch in model["batches"].values()}
    assert "ok" in verdicts and {"refresh", "rebuild"} & verdicts, found  # the data does drift
    assert all(model["tickets"] for model in found.values()), found
    return found


@pytest.mark.parametrize("runner", ["dask", "process"])
def test_a_cycle_decides_the_same_on_every_runner(
    runner: str, on_threads: dict[str, Any], saved_batches: SavedWorkspace
) -> None:
    workspace = on_runner(saved_batches, runner)
    assert workspace.config.monitoring.runner == runner
    found, flow_run_id = one_cycle(workspace)
    assert found.keys() == on_threads.keys()
    for name, expected in on_threads.items():
        assert found[name]["batches"].keys() == expected["batches"].keys(), name
        for batch, decided in expected["batches"].items():
            got = found[name]["batches"][batch]
            assert got["verdict"] == decided["verdict"], (name, batch, got, decided)
            assert got["drift_share"] == pytest.approx(decided["drift_share"]), (name, batch)
            assert got["drifted"] == decided["drifted"], (name, batch)
        assert found[name]["verdict"] == expected["verdict"], name
        assert found[name]["drift_share"] == pytest.approx(expected["drift_share"]), name
        assert found[name]["drifted"] == expected["drifted"], name
        assert found[name]["tickets"] == expected["tickets"], name
    # The fanned-out task runs belong to the flow run, one per model, tagged with its name.
    task_runs = monitor_task_runs(flow_run_id, expected=len(MODELS))
    assert len(task_runs) == len(MODELS), [run.name for run in task_runs]
    assert sorted(tag for run in task_runs for tag in run.tags if tag.startswith("model:")) == sorted(
        f"model:{name}" for name in MODELS
    )
    assert all(run.state.is_completed() for run in task_runs), [run.state for run in task_runs]


def test_the_process_runner_relays_logs_events_and_incidents_and_survives_a_dead_worker(
    on_threads: dict[str, Any], saved_batches: SavedWorkspace, caplog: pytest.LogCaptureFixture
) -> None:
    from flows.model_pool import model_pool
    from zenops.adapters.prefect_events import PrefectEvents

    workspace = on_runner(saved_batches, "process")
    emitted: list[str] = []
    emit = PrefectEvents.emit

    def heard(bus, event, resource, payload, related=()):  # the flow's process emits what a worker relays
        emitted.append(f"{event} {resource['prefect.resource.name']} #{payload['ticket']}")
        emit(bus, event, resource, payload, related)

    def killed_at_first_incident(workspace, spec, outcome, flow_run_id):  # as the on-call hears of it
        for process in list(model_pool(2).executor._processes.values()):
            process.kill()
        return []

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PrefectEvents, "emit", heard)
        patch.setattr("flows.monitor.notify_incident", killed_at_first_incident)
        crashed = monitor_models(workspace=str(workspace.root), workspace_name="crash", return_state=True)
    assert crashed.is_failed()
    message = str(crashed.message)
    assert "the monitoring worker process stopped before it finished" in message, message
    assert "\n" not in message, message
    from zenops.kernel import progress

    steps: list[tuple[str, str]] = []
    heard = progress.listening(lambda event, fields: steps.append((event, fields["model"])))
    with caplog.at_level("INFO", logger="zenops"), heard:
        found, _ = one_cycle(workspace)  # a new pool; the dead workers' leases are cleared
    # Each model with batches left after the crash reports its progress from its worker.
    left = {name for name, decided in found.items() if decided["batches"]}
    assert {model for event, model in steps if event == "monitor.done"} == left, steps
    assert emitted, "the degraded event of a new refresh or rebuild ticket reaches the event bus"
    # A worker's log line is logged again in the flow's process: the dead worker's lease, cleared.
    here = [r for r in caplog.records if r.name == "zenops.leases" and r.process == os.getpid()]
    relayed = [r.getMessage() for r in here]
    assert any(m.startswith("cleared the stale lease monitor:") for m in relayed), relayed
    for name, expected in on_threads.items():
        assert found[name]["tickets"] == expected["tickets"], name
        recorded = workspace.monitor_state().get(name)
        assert recorded.last_batch == max(expected["batches"]), (name, recorded)


def test_an_unreachable_dask_scheduler_fails_the_cycle_in_one_line(
    prefect_api, pinned_clock, tmp_path: Path
) -> None:
    import dask

    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    workspace = make_workspace(tmp_path / "ws", {"runner": "dask", "dask_address": address}, init=False)
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "2s"}),  # Dask waits 30 s by default
        pytest.raises(StoreError, match=f"Dask scheduler at {address}") as raised,
    ):
        monitor_models(workspace=str(workspace.root), workspace_name="unreachable")
    message = str(raised.value)
    assert "\n" not in message and "monitoring.dask_address" in message, message
