"""A store that is down during a monitoring cycle: retried, then a clear failure, then recovery.

A real MLflow tracking server on loopback is stopped and started again on the same
port; the DVC remote (a folder) disappears and comes back. Each time the model's
task is tried again, the flow fails with a message naming the store, nothing is
recorded for the batch (no MLflow run, no ticket, the watermark where it was),
and the next cycle, once the store is back, processes the batch on its own.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from flows.monitor import monitor_models
from flows.train import train_model
from registry.versions import CHAMPION
from tests.faults import crash_at
from tests.integration.conftest import save_workspace
from tests.loopback import closed_port as free_port
from tests.workspaces import SavedWorkspace
from zenops.adapters.monitor_state import MonitorStateStore
from zenops.app.demo.datagen import DriftSchedule, production_stream
from zenops.app.servers import start_mlflow, wait_healthy
from zenops.kernel.errors import ZenopsError
from zenops.kernel.paths import STATE_DIR
from zenops.services.champion_profile import SHA_TAG, SPEC_TAG
from zenops.workspace import Workspace

MODEL = "loan-default"


def quick_retries(workspace: Workspace) -> Workspace:
    """The workspace with fast task retries (two more tries, one second apart)."""
    config = yaml.safe_load(workspace.config_path.read_text())
    config["monitoring"] = {"retries": 2, "retry_delay_s": 1}
    config["models"] = [m for m in config["models"] if m["name"] == MODEL]
    workspace.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return Workspace(workspace.root)


def drop_batch(workspace: Workspace, name: str = "2024-07-01.csv") -> None:
    spec = workspace.config.model(MODEL)
    batch = production_stream(MODEL, days=1, rows_per_day=300, seed=4, schedule=DriftSchedule.stable())[0]
    batch.features.to_csv(workspace.path(spec.batches) / name, index=False)


def monitoring_runs(workspace: Workspace, batch: str) -> list:
    client = workspace.registry().client
    experiment = client.get_experiment_by_name(f"zenops/{MODEL}")
    return client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`zenops.run` = 'monitoring' and tags.`zenops.batch` = '{batch}'",
    )


def task_attempts(flow_run_name_fragment: str = "monitor") -> list[int]:
    """How many times each monitor-model task run of the newest monitor flow run was run."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName, TaskRunFilter
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        (newest,) = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_=flow_run_name_fragment)),
            sort=FlowRunSort.START_TIME_DESC,
            limit=1,
        )
        runs = client.read_task_runs(task_run_filter=TaskRunFilter(flow_run_id={"any_": [newest.id]}))
        return [run.run_count for run in runs if run.name.startswith("monitor ")]


def assert_nothing_recorded(workspace: Workspace, batch: str) -> None:
    assert MonitorStateStore(workspace.stores.tickets_url).get(MODEL).last_batch is None
    assert workspace.ticket_store().list(model=MODEL) == []
    assert monitoring_runs(workspace, batch) == []


@pytest.fixture(scope="module")
def saved_quickly_retried(prefect_api, saved_stores, tmp_path_factory) -> SavedWorkspace:
    """A fresh workspace with :func:`quick_retries`, then loan-default trained through the flow."""
    return save_workspace(
        tmp_path_factory,
        "outages",
        lambda ws: train_model(model=MODEL, workspace=str(quick_retries(ws).root)),
    )


@pytest.fixture
def quickly_retried(saved_quickly_retried: SavedWorkspace, restore) -> Workspace:
    """:func:`quick_retries` of a fresh workspace, its champion trained (once, restored per test)."""
    return restore(saved_quickly_retried)


@pytest.fixture
def tracking_server(prefect_api, workspace: Workspace, monkeypatch):
    """The workspace's tracking store behind a real MLflow server; yields (workspace, server)."""
    server = start_mlflow(workspace, port=free_port())
    wait_healthy(server)
    served = workspace.stores
    monkeypatch.setenv("ZENOPS_TRACKING_URI", server.url)
    ws = quick_retries(workspace)
    try:
        yield ws, server, served
    finally:
        server.stop()


def test_an_mlflow_server_down_fails_the_cycle_naming_it_and_the_next_cycle_recovers(
    tracking_server,
) -> None:
    ws, server, served = tracking_server
    train_model(model=MODEL, workspace=str(ws.root))
    drop_batch(ws)  # each cycle (flow run) loads its champion afresh: nothing loaded yet
    server.stop()

    with pytest.raises(ZenopsError) as failed:
        monitor_models(workspace=str(ws.root))
    message = str(failed.value)
    assert f"monitoring failed for {MODEL}" in message
    assert f"MLflow {server.url}" in message, message
    assert task_attempts() == [3]  # the first try and two retries

    restarted = start_mlflow(ws, port=int(server.url.rsplit(":", 1)[1]), stores=served)
    wait_healthy(restarted)
    try:
        assert_nothing_recorded(ws, "2024-07-01.csv")
        again = monitor_models(workspace=str(ws.root))["models"][0]
        assert [b["batch"] for b in again["batches"]] == ["2024-07-01.csv"]
        assert again["verdict"] in ("ok", "warn")
        assert len(monitoring_runs(ws, "2024-07-01.csv")) == 1
        assert MonitorStateStore(ws.stores.tickets_url).get(MODEL).last_batch == "2024-07-01.csv"
    finally:
        restarted.stop()


def test_a_dvc_remote_gone_fails_the_cycle_naming_it_and_the_next_cycle_recovers(
    quickly_retried: Workspace,
) -> None:
    ws = quickly_retried
    drop_batch(ws)
    # A champion trained before profiles existed (its profile is built from its data on
    # first use), on a worker that never restored that data: nothing in its DVC cache.
    forget_profile(ws)
    shutil.rmtree(ws.root / ".dvc" / "cache")
    remote = Path(ws.stores.dvc_remote)
    away = remote.with_name("dvc-remote-unmounted")
    remote.rename(away)

    with pytest.raises(ZenopsError) as failed:
        monitor_models(workspace=str(ws.root))
    message = str(failed.value)
    assert f"DVC remote {remote}: unreachable" in message, message
    assert task_attempts() == [3]
    assert_nothing_recorded(ws, "2024-07-01.csv")

    away.rename(remote)
    again = monitor_models(workspace=str(ws.root))["models"][0]
    assert [b["batch"] for b in again["batches"]] == ["2024-07-01.csv"]
    assert len(monitoring_runs(ws, "2024-07-01.csv")) == 1


def forget_profile(ws: Workspace) -> None:
    """The champion as a version trained before profiles: no profile tags, no local copy."""
    version = ws.registry().alias(MODEL, CHAMPION).version
    for tag in (SHA_TAG, SPEC_TAG):
        ws.registry().delete_version_tag(MODEL, version, tag)
    shutil.rmtree(ws.root / STATE_DIR / "profiles", ignore_errors=True)


def test_a_champion_with_its_profile_is_monitored_while_the_dvc_remote_is_gone(
    quickly_retried: Workspace,
) -> None:
    ws = quickly_retried
    drop_batch(ws)
    shutil.rmtree(ws.root / ".dvc" / "cache")
    remote = Path(ws.stores.dvc_remote)
    remote.rename(remote.with_name("dvc-remote-unmounted"))
    (summary,) = monitor_models(workspace=str(ws.root))["models"]
    assert [b["batch"] for b in summary["batches"]] == ["2024-07-01.csv"]


def test_a_crash_while_recording_leaves_one_monitoring_run_per_batch(quickly_retried: Workspace) -> None:
    ws = quickly_retried
    drop_batch(ws)
    from mlflow import MlflowClient

    def uploading_the_run_files(client, run_id: str, folder: str, *args, **kwargs) -> bool:
        return (Path(folder) / "verdict.json").is_file()

    # The run has its metrics, not yet its files (verdict.json and the report, one upload).
    crash = crash_at(MlflowClient, "log_artifacts", "during-record", when=uploading_the_run_files)
    with crash, pytest.raises(ZenopsError, match="injected crash at during-record"):
        monitor_models(workspace=str(ws.root))
    (half,) = monitoring_runs(ws, "2024-07-01.csv")
    assert half.info.status == "FAILED" and "drift_share" in half.data.metrics
    assert MonitorStateStore(ws.stores.tickets_url).get(MODEL).last_batch is None

    monitor_models(workspace=str(ws.root))
    (whole,) = monitoring_runs(ws, "2024-07-01.csv")
    assert whole.info.status == "FINISHED" and whole.info.run_id != half.info.run_id
    assert "drift_share" in whole.data.metrics
