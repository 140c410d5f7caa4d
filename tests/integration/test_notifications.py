"""Notifications on the real stack: flows send through Apprise to real HTTP endpoints on 127.0.0.1.

Each endpoint is a path of one local HTTP server that records every request
body; ``/fail...`` paths answer 500. ``zenops.yaml`` names them as Apprise
``json://`` URLs, so what the flows send is checked exactly as a webhook gets it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import yaml

from flows.monitor import monitor_models
from flows.refresh import refresh_model
from tests.faults import crash_at
from tests.integration.test_refresh_flow import open_refresh_ticket, set_promotion
from tests.loopback import Endpoints, closed_port
from zenops.adapters.monitor_state import MonitorStateStore
from zenops.app.demo.datagen import DriftSchedule, production_stream, write_malformed, write_stream
from zenops.kernel.errors import ZenopsError
from zenops.workspace import Workspace

MODEL = "loan-default"  # owner ds-credit, sponsor retail-credit
MLFLOW_UI = "http://mlflow.example.test:5000"


# The incident these tests follow: a covariate shift into credit scores the training
# data holds few of, which hurts the champion; labels a day late show it.
HARMFUL = DriftSchedule(
    covariate_start=0, covariate_ramp_days=1, covariate_kind="beyond", concept_start=None, label_delay_days=1
)


@pytest.fixture
def endpoints() -> Iterator[Endpoints]:
    server = Endpoints()
    yield server
    server.close()


def configure(workspace: Workspace, endpoints: Endpoints, **overrides) -> Workspace:
    """Point ``notifications`` at the local endpoints; a fresh Workspace reads the file."""
    data = yaml.safe_load(workspace.config_path.read_text())
    data["notifications"] = {
        "oncall": [endpoints.url("oncall")],
        "owners": {"ds-credit": [endpoints.url("owner")]},
        "sponsors": {"retail-credit": [endpoints.url("sponsor")]},
        "fallback": [endpoints.url("fallback")],
        "mlflow_url": MLFLOW_UI,
        **overrides,
    }
    workspace.config_path.write_text(yaml.safe_dump(data, sort_keys=False))
    return Workspace(workspace.root)


@pytest.fixture
def trained(saved_trained, restore) -> Workspace:
    """A fresh workspace with the champion trained through the flow (trained once, restored)."""
    return restore(saved_trained)


def test_a_drift_incident_reaches_the_oncall_and_failing_endpoints_do_not_fail_the_cycle(
    trained: Workspace, endpoints: Endpoints, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="zenops.notify")
    down = f"json://127.0.0.1:{closed_port()}/oncall"
    ws = configure(trained, endpoints, oncall=[endpoints.url("oncall"), endpoints.url("fail-500"), down])
    spec = ws.config.model(MODEL)
    schedule = HARMFUL
    stream = production_stream(MODEL, days=4, rows_per_day=300, seed=5, schedule=schedule)
    write_stream(stream, ws.path(spec.batches), ws.path(spec.labels), through=stream[-1].day)

    (summary,) = monitor_models(workspace=str(ws.root), models=[MODEL])["models"]

    opened = [b for b in summary["batches"] if b["ticket_created"]]
    assert len(opened) == 1, summary["batches"]
    (batch,) = opened
    assert batch["verdict"] == "refresh" and batch["ticket"] is not None
    (body,) = endpoints.bodies("oncall")
    assert body["title"] == f"zenops: {MODEL} needs a refresh (ticket #{batch['ticket']})"
    text = body["message"]
    assert f"**{MODEL}**: verdict **refresh** on batch `{batch['batch']}`" in text
    assert batch["reasons"][0].split()[0] in text
    assert batch["drifted_features"][0]["feature"] in text
    assert f"#{batch['ticket']} (`zenops tickets show {batch['ticket']}`)" in text
    assert "/runs/flow-run/" in text  # the Prefect UI of the API the flow ran on
    experiment = ws.registry().client.get_run(batch["run_id"]).info.experiment_id
    assert f"{MLFLOW_UI}/#/experiments/{experiment}/runs/{batch['run_id']}" in text
    if batch["report_uri"]:
        assert batch["report_uri"] in text
    # The owner, the sponsor and the fallback hear nothing of an incident.
    assert [path for path, _ in endpoints.received if path not in ("/oncall", "/fail-500")] == []
    # The endpoint answering 500 was asked, and both failures were logged, not raised.
    assert len(endpoints.bodies("fail-500")) == 1
    failures = [r.getMessage() for r in caplog.records if r.name == "zenops.notify" and r.levelno >= 30]
    assert any("500" in m or "Internal Server Error" in m for m in failures), failures
    assert any("Connection error" in m for m in failures), failures


def test_a_failed_flow_run_notifies_the_oncall_with_the_error(
    trained: Workspace, endpoints: Endpoints
) -> None:
    ws = configure(trained, endpoints)
    spec = ws.config.model(MODEL)
    write_malformed(ws.path(spec.batches) / "2024-07-01.csv", MODEL, "wrong_type", seed=1, column="income")
    crash = crash_at(MonitorStateStore, "advance", "after-records")  # records stored, not the watermark

    with crash, pytest.raises(ZenopsError, match="injected crash at after-records"):
        monitor_models(workspace=str(ws.root), models=[MODEL], workspace_name="ws")

    # The bad batch's ticket was stored before the crash, and announced; then the failure.
    incident, body = endpoints.bodies("oncall")
    assert incident["title"].startswith(f"zenops: {MODEL} needs a data_quality (ticket #")
    assert body["title"] == "zenops: flow run monitor ws failed"
    assert "Flow **monitor-models**, run `monitor ws`, ended **Failed**." in body["message"]
    assert "injected crash at after-records" in body["message"]
    assert "/runs/flow-run/" in body["message"]
    assert [path for path, _ in endpoints.received] == ["/oncall", "/oncall"]


def test_an_incident_is_announced_once_even_when_the_cycle_fails_after_opening_it(
    trained: Workspace, endpoints: Endpoints, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = configure(trained, endpoints)
    spec = ws.config.model(MODEL)
    schedule = HARMFUL
    stream = production_stream(MODEL, days=4, rows_per_day=300, seed=5, schedule=schedule)
    write_stream(stream, ws.path(spec.batches), ws.path(spec.labels), through=stream[-1].day)

    advance = MonitorStateStore.advance

    def crash_once_a_ticket_is_stored(store, *args, **kwargs) -> None:  # before the watermark moves past it
        if ws.ticket_store().list(model=MODEL):
            raise ZenopsError("injected crash after the ticket was stored")
        advance(store, *args, **kwargs)

    with monkeypatch.context() as patch, pytest.raises(ZenopsError, match="after the ticket was stored"):
        patch.setattr(MonitorStateStore, "advance", crash_once_a_ticket_is_stored)
        monitor_models(workspace=str(ws.root), models=[MODEL], workspace_name="ws")

    incident, failure = endpoints.bodies("oncall")
    (ticket,) = ws.ticket_store().list(model=MODEL)
    assert incident["title"] == f"zenops: {MODEL} needs a refresh (ticket #{ticket.id})"
    assert failure["title"] == "zenops: flow run monitor ws failed"

    # The next cycle processes that batch again: evidence on the same ticket, no second announcement.
    (summary,) = monitor_models(workspace=str(ws.root), models=[MODEL])["models"]
    assert summary["batches"][0]["ticket"] == ticket.id
    assert not any(batch["ticket_created"] for batch in summary["batches"])
    assert len(endpoints.bodies("oncall")) == 2
    assert [t.id for t in ws.ticket_store().list(model=MODEL)] == [ticket.id]


def test_a_refresh_hand_back_notifies_the_owner_and_not_the_sponsor(
    saved_drifted, restore, endpoints: Endpoints
) -> None:
    drifted = restore(saved_drifted)  # drifted_workspace() of a fresh workspace
    ticket = open_refresh_ticket(drifted)
    ws = configure(set_promotion(drifted, margin=0.9), endpoints)

    result = refresh_model(model=MODEL, workspace=str(ws.root))

    assert result["decision"] == "handed_back" and result["ticket"] == ticket
    assert [path for path, _ in endpoints.received] == ["/owner"]
    (body,) = endpoints.bodies("owner")
    assert body["title"] == f"zenops: {MODEL} handed back for a rebuild (ticket #{result['rebuild_ticket']})"
    text = body["message"]
    assert "**handed back**" in text and "not surely above the margin 90.00%" in text
    assert f"Rebuild ticket: #{result['rebuild_ticket']}" in text
    assert f"Dossier: `{result['dossier']}`" in text
    assert f"/runs/flow-run/{result['flow_run']}" in text
    challenger_run = ws.registry().version(MODEL, result["challenger_version"]).run_id
    experiment = ws.registry().client.get_run(challenger_run).info.experiment_id
    assert f"{MLFLOW_UI}/#/experiments/{experiment}/runs/{challenger_run}" in text
