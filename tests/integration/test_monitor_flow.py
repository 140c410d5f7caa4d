"""The monitoring flow on the real stack: Prefect harness, MLflow, git + DVC, Evidently, NannyML."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time

import pytest

from flows.monitor import monitor_models
from tests.faults import crash_at
from tests.integration.conftest import set_monitoring
from tests.integration.test_plan_flow import artifacts
from zenops.adapters.monitor_state import MonitorStateStore
from zenops.app.demo.datagen import DriftSchedule, production_stream, write_malformed, write_stream
from zenops.kernel.errors import ZenopsError
from zenops.services.status import workspace_status
from zenops.workspace import Workspace

MODEL = "loan-default"


@pytest.fixture
def trained(saved_trained, restore) -> Workspace:
    """A fresh workspace with the champion trained through the flow (trained once, restored)."""
    return restore(saved_trained)


def replay(
    workspace: Workspace, schedule: DriftSchedule, days: int, monkeypatch, rows: int = 400, seed: int = 5
):
    """Drop one day at a time and run a cycle per day; yields (day index, the model's summary)."""
    spec = workspace.config.model(MODEL)
    stream = production_stream(MODEL, days=days, rows_per_day=rows, seed=seed, schedule=schedule)
    for index, batch in enumerate(stream):
        monkeypatch.setenv("ZENOPS_NOW", datetime.combine(batch.day, time(23)).isoformat() + "+00:00")
        day = batch.day  # each day's files once, as they arrive
        write_stream(
            stream, workspace.path(spec.batches), workspace.path(spec.labels), through=day, since=day
        )
        result = monitor_models(workspace=str(workspace.root), models=[MODEL])
        (summary,) = result["models"]
        yield index, summary


def prefect_api_url() -> str:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


def degraded_event(api: str, model: str, since: datetime, timeout: float = 30.0) -> dict:
    """The newest ``zenops.model.degraded`` event of ``model`` that the Prefect API stored
    since ``since`` (the session's API also holds other tests' events of the same model)."""
    import time as clock

    import httpx
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all()
    body = {
        "filter": {
            "event": {"name": ["zenops.model.degraded"]},
            "occurred": {"since": since.isoformat()},
            "order": "DESC",
        },
        "limit": 10,
    }
    deadline = clock.monotonic() + timeout
    while clock.monotonic() < deadline:
        found = httpx.post(f"{api}/events/filter", json=body, timeout=10).json().get("events", [])
        found = [e for e in found if e["resource"].get("prefect.resource.id") == f"zenops.model.{model}"]
        if found:
            return found[0]
        clock.sleep(0.5)
    raise AssertionError(f"no zenops.model.degraded event for {model} within {timeout} s")


def tickets(workspace: Workspace):
    return workspace.ticket_store().list(model=MODEL)


def test_a_stable_stream_opens_no_ticket_over_20_cycles(trained: Workspace, monkeypatch) -> None:
    # Verdicts and tickets are checked here, not the kept reports (tests/integration/
    # test_monitor_reports.py), whose Evidently run costs seconds per batch that keeps one.
    trained = set_monitoring(trained, html_reports="never")
    verdicts = [s["verdict"] for _, s in replay(trained, DriftSchedule.stable(), 20, monkeypatch, rows=300)]
    assert len(verdicts) == 20
    assert not {"refresh", "rebuild", "data_quality"} & set(verdicts), verdicts
    assert tickets(trained) == []
    assert MonitorStateStore(trained.stores.tickets_url).get(MODEL).last_batch == "2024-07-20.csv"


def test_covariate_drift_opens_a_refresh_ticket_within_a_few_cycles(trained: Workspace, monkeypatch) -> None:
    # A shift into credit scores the training data holds few of: the champion's ranking
    # suffers there, which labels (one day late) show. A shift the champion handles
    # warns only (tests/integration/test_monitor_streams.py).
    schedule = DriftSchedule(
        covariate_start=2,
        covariate_ramp_days=1,
        covariate_kind="beyond",
        concept_start=None,
        label_delay_days=1,
    )
    opened, seen = None, []
    started = datetime.now(UTC)
    for index, summary in replay(trained, schedule, 8, monkeypatch):
        seen.append((summary["verdict"], summary["performance"], summary["reasons"]))
        if summary["ticket"] is not None:
            opened = index
            assert summary["verdict"] == "refresh", seen
            break
    assert opened is not None and opened <= 2 + 3, seen
    (ticket,) = tickets(trained)
    assert ticket.kind == "refresh" and ticket.status == "open"
    assert ticket.evidence[0]["drifted_features"]
    # The MLflow monitoring run is linked to the champion and carries the report.
    client = trained.registry().client
    experiment = client.get_experiment_by_name(f"zenops/{MODEL}")
    runs = client.search_runs([experiment.experiment_id], filter_string="tags.`zenops.run` = 'monitoring'")
    assert runs and all(run.data.tags["zenops.champion.version"] == "1" for run in runs)
    assert any("drift_share" in run.data.metrics for run in runs)
    # The degradation reached the Prefect API as an event a deployment trigger can match.
    event = degraded_event(prefect_api_url(), MODEL, since=started)
    assert event["resource"]["prefect.resource.id"] == f"zenops.model.{MODEL}"
    assert event["payload"]["verdict"] == "refresh" and event["payload"]["ticket"] == ticket.id


def test_concept_drift_opens_a_ticket_once_labels_arrive(trained: Workspace, monkeypatch) -> None:
    schedule = DriftSchedule(covariate_start=None, concept_start=1, label_delay_days=1)
    opened = None
    for index, summary in replay(trained, schedule, 8, monkeypatch, rows=500):
        if summary["ticket"] is not None:
            opened = index
            assert summary["verdict"] in ("refresh", "rebuild")
            assert summary["performance"]["kind"] == "measured"
            break
    assert opened is not None and opened <= 1 + 4, opened
    # The fleet view shows that cycle: in `zenops status` and as the flow's `fleet` artifact.
    (model,) = [m for m in workspace_status(trained)["models"] if m["model"] == MODEL]
    last = model["last_cycle"]
    assert last["verdict"] == summary["verdict"] and last["run_id"] == summary["run_id"]
    assert last["performance"]["kind"] == "measured" and last["performance"]["baseline"] is not None
    assert model["open_tickets"] == [summary["ticket"]]
    state = monitor_models(workspace=str(trained.root), models=[MODEL], return_state=True)
    (fleet,) = artifacts("fleet", state.state_details.flow_run_id)
    rows = {row["model"]: row for row in json.loads(fleet.data)}
    assert rows[MODEL]["verdict"] == summary["verdict"]
    assert rows[MODEL]["open_tickets"] == f"#{summary['ticket']}"
    assert rows[MODEL]["performance"].startswith("measured ")


@pytest.mark.parametrize(
    ("kind", "fragment"),
    [
        ("missing_column", "income"),
        ("extra_column", "column"),
        ("wrong_type", "income"),
        ("all_null_column", "income"),
        ("unseen_category", "region"),
        ("empty", "no rows"),
        ("unreadable", "unreadable"),
    ],
)
def test_a_malformed_batch_gives_data_quality_and_the_next_batch_is_processed(
    trained: Workspace, monkeypatch, kind: str, fragment: str
) -> None:
    spec = trained.config.model(MODEL)
    folder = trained.path(spec.batches)
    column = {
        "missing_column": "income",
        "wrong_type": "income",
        "all_null_column": "income",
        "unseen_category": "region",
    }.get(kind)
    write_malformed(folder / "2024-07-01.csv", MODEL, kind, seed=1, column=column)
    first = monitor_models(workspace=str(trained.root), models=[MODEL])["models"][0]
    assert first["verdict"] == "data_quality"
    assert fragment in " ".join(first["reasons"]), first["reasons"]
    assert "2024-07-01.csv" in " ".join(first["reasons"])
    (ticket,) = tickets(trained)
    assert ticket.kind == "data_quality"
    good = production_stream(MODEL, days=2, rows_per_day=300, seed=2, schedule=DriftSchedule.stable())[1]
    good.features.to_csv(folder / "2024-07-02.csv", index=False)
    second = monitor_models(workspace=str(trained.root), models=[MODEL])["models"][0]
    assert [b["batch"] for b in second["batches"]] == ["2024-07-02.csv"]
    assert second["verdict"] in ("ok", "warn")


def test_a_crash_between_report_and_watermark_reprocesses_without_a_second_ticket(
    trained: Workspace,
) -> None:
    spec = trained.config.model(MODEL)
    write_malformed(
        trained.path(spec.batches) / "2024-07-01.csv", MODEL, "wrong_type", seed=1, column="income"
    )
    crash = crash_at(MonitorStateStore, "advance", "after-records")  # records stored, not the watermark
    with crash, pytest.raises(ZenopsError, match="monitoring failed for loan-default"):
        monitor_models(workspace=str(trained.root), models=[MODEL])
    assert MonitorStateStore(trained.stores.tickets_url).get(MODEL).last_batch is None
    again = monitor_models(workspace=str(trained.root), models=[MODEL])["models"][0]
    assert [b["batch"] for b in again["batches"]] == ["2024-07-01.csv"]
    (ticket,) = tickets(trained)
    assert len(ticket.evidence) == 1  # the crashed attempt, its retry and the re-run: one ticket, one item
    assert MonitorStateStore(trained.stores.tickets_url).get(MODEL).last_batch == "2024-07-01.csv"


def test_unknown_models_fail_before_any_work(trained: Workspace) -> None:
    with pytest.raises(ZenopsError, match="no model named 'nope'"):
        monitor_models(workspace=str(trained.root), models=["nope"])
