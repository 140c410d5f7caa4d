"""Flow runs a command runs in its own process send no heartbeats, unless the user chose a frequency.

Prefect's flow engine waits for its heartbeat thread, which sleeps in one-second steps,
at the end of every flow run; a command reports its runs' ends itself.
"""

from __future__ import annotations

import time

import httpx
import pytest
from prefect import flow
from prefect.events.worker import EventsWorker
from prefect.runtime import flow_run
from prefect.settings import get_current_settings, temporary_settings

from zenops.app.flow_runs import HEARTBEAT_VARIABLES, PREFECT_DEFAULT_SECONDS, without_heartbeats


@flow(name="heartbeat-probe")
def probe() -> str:
    return str(flow_run.id)


def events_of(api: str, run_id: str, names: list[str]) -> set[str]:
    EventsWorker.drain_all()
    body = {"filter": {"event": {"name": names}, "order": "DESC"}, "limit": 50}
    found = httpx.post(f"{api}/events/filter", json=body, timeout=10).json().get("events", [])
    resource = f"prefect.flow-run.{run_id}"
    return {e["event"] for e in found if e["resource"].get("prefect.resource.id") == resource}


def wait_for(api: str, run_id: str, name: str, timeout: float = 30.0) -> set[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = events_of(api, run_id, [name, "prefect.flow-run.heartbeat"])
        if name in seen:
            return seen
        time.sleep(0.3)
    raise AssertionError(f"no {name} event of flow run {run_id} within {timeout} s")


def test_prefects_default_heartbeat_is_turned_off_for_a_commands_runs():
    with temporary_settings(updates={"flows.heartbeat_frequency": PREFECT_DEFAULT_SECONDS}):
        with without_heartbeats():
            assert get_current_settings().flows.heartbeat_frequency is None
        assert get_current_settings().flows.heartbeat_frequency == PREFECT_DEFAULT_SECONDS


@pytest.mark.parametrize("variable", HEARTBEAT_VARIABLES)
def test_a_frequency_the_user_chose_is_kept(monkeypatch, variable):
    monkeypatch.setenv(variable, "180")
    default = {"flows.heartbeat_frequency": PREFECT_DEFAULT_SECONDS}
    with temporary_settings(updates=default), without_heartbeats():
        assert get_current_settings().flows.heartbeat_frequency == PREFECT_DEFAULT_SECONDS
    monkeypatch.delenv(variable)
    with temporary_settings(updates={"flows.heartbeat_frequency": 60}), without_heartbeats():
        assert get_current_settings().flows.heartbeat_frequency == 60  # a profile's choice


def test_a_run_without_heartbeats_completes_without_one_and_prefects_default_sends_one(prefect_api):
    with temporary_settings(updates={"flows.heartbeat_frequency": PREFECT_DEFAULT_SECONDS}):
        beating = probe()
        with without_heartbeats():
            quiet = probe()
    assert "prefect.flow-run.heartbeat" in wait_for(prefect_api, beating, "prefect.flow-run.heartbeat")
    seen = wait_for(prefect_api, quiet, "prefect.flow-run.Completed")
    assert "prefect.flow-run.heartbeat" not in seen
