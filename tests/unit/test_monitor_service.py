"""The monitor service on fakes of its ports: no Prefect, MLflow, Evidently, NannyML or SQL.

The batches are real files in a temporary workspace; the registry, data store, tickets,
monitoring state and event bus are the in-memory fakes of ``tests/fakes``, and the drift
engine is a stub that calls a column drifted when its mean moves by more than one
standard deviation. Each test reads the fakes' state: the watermark, the runs logged,
the tickets opened, the events emitted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from demand.tickets import TicketDraft
from registry import lineage
from registry.versions import CHAMPION
from tests.fakes.workspace import FakeWorkspace
from tests.faults import crash_at
from zenops.kernel.config import ZenopsConfig, parse_config
from zenops.kernel.errors import ZenopsError
from zenops.services.monitor import cycle as monitoring

MODEL = "m"
DEGRADED = "zenops.model.degraded"


def config() -> ZenopsConfig:
    """One small classifier; a single drifted batch asks for a refresh (``persistence: 1``)."""
    return parse_config(
        {
            "sla_tiers": {"gold": {"refresh": "2d", "rebuild": "14d", "data_quality": "1d"}},
            "models": [
                {
                    "name": MODEL,
                    "task": "classification",
                    "target": "y",
                    "id_column": "id",
                    "timestamp_column": "ts",
                    "features": {"numerical": ["x1", "x2"], "categorical": ["c"]},
                    "training_data": "data/m/train.csv",
                    "batches": "data/m/batches",
                    "labels": "data/m/labels",
                    "trainer": {"estimator": "sklearn.linear_model.LogisticRegression"},
                    "metric": "roc_auc",
                    "sla": "gold",
                    "value": 5,
                    "sponsor": "risk",
                    "owner": "ds",
                    "drift": {"persistence": 1},
                }
            ],
        }
    )


class StubModel:
    """The champion: the probability of class 1 grows with ``x1``."""

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        p = 1 / (1 + np.exp(-features["x1"].to_numpy(dtype=float)))
        return np.column_stack([1 - p, p])

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(features)[:, 1] > 0.5).astype(int)


def rows(n: int, seed: int, shift: float = 0.0, start: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(shift, 1, n)
    return pd.DataFrame(
        {
            "id": [f"r{start + i}" for i in range(n)],
            "ts": pd.date_range("2024-06-01", periods=n, freq="min").astype(str),
            "x1": x1,
            "x2": rng.normal(0, 1, n),
            "c": rng.choice(["a", "b"], n),
            "y": (rng.random(n) < 1 / (1 + np.exp(-x1))).astype(int),
        }
    )


@pytest.fixture
def ws(tmp_path: Path) -> FakeWorkspace:
    return trained_workspace(tmp_path)


def trained_workspace(root: Path) -> FakeWorkspace:
    """A workspace whose champion (version 1) was trained on 600 rows, versioned in the fake store."""
    workspace = FakeWorkspace(root, config())
    spec = workspace.config.model(MODEL)
    for folder in (spec.batches, spec.labels):
        workspace.path(folder).mkdir(parents=True)
    training = rows(600, seed=1)
    training.to_csv(workspace.path(spec.training_data), index=False)
    data = workspace.data_store().snapshot(spec.training_data, "training data")
    tags = {
        lineage.DATA_PATH: data.path,
        lineage.DATA_REV: data.rev,
        lineage.DATA_MD5: data.md5,
        lineage.TRAINER: "stub",
        lineage.CODE_REV: "0" * 40,
    }
    crown(workspace, StubModel(), tags, training, "train m")
    return workspace


def crown(workspace: FakeWorkspace, fitted, tags: dict, training: pd.DataFrame, run_name: str) -> str:
    """Log ``fitted`` as a new version of the model and make it the champion; its version."""
    registry = workspace.registry()
    run_id, uri = registry.log_training(
        MODEL,
        run_name=run_name,
        fitted=fitted,
        params={},
        metrics={},
        tags=tags,
        train_frame=training,
        holdout=training,
        data_source=tags[lineage.DATA_PATH],
        data_name="train",
        target="y",
        features=["x1", "x2", "c"],
    )
    version = registry.register(MODEL, uri, run_id, {})
    registry.set_alias(MODEL, CHAMPION, version)
    return version


def drop(ws: FakeWorkspace, name: str, frame: pd.DataFrame) -> None:
    spec = ws.config.model(MODEL)
    frame.drop(columns=["y"]).to_csv(ws.path(spec.batches) / name, index=False)


def cycle(ws: FakeWorkspace) -> dict:
    return monitoring.monitor_leased(ws, ws.config.model(MODEL), ws.drift_engine())


def monitoring_runs(ws: FakeWorkspace) -> list:
    return [r for r in ws.registry().runs.values() if r.tags.get(lineage.RUN_KIND) == "monitoring"]


def test_a_quiet_batch_is_ok_and_moves_the_watermark(ws: FakeWorkspace) -> None:
    drop(ws, "2024-07-01.csv", rows(300, seed=2))

    summary = cycle(ws)

    assert summary["verdict"] == "ok", summary["reasons"]
    assert [b["batch"] for b in summary["batches"]] == ["2024-07-01.csv"]
    assert summary["ticket"] is None and ws.ticket_store().list(model=MODEL) == []
    assert ws.monitor_state().get(MODEL).last_batch == "2024-07-01.csv"
    (run,) = monitoring_runs(ws)
    assert run.status == "FINISHED" and not run.deleted
    assert run.name == f"monitor {MODEL} 2024-07-01.csv"
    assert run.tags["zenops.champion.version"] == "1" and run.tags["zenops.verdict"] == "ok"
    assert run.metrics["rows"] == 300 and "drift_p.x1" in run.metrics
    assert run.artifacts["verdict.json"]["verdict"] == "ok"
    assert "evidently/report.html" in run.artifacts  # the first batch keeps its HTML report
    assert summary["run_id"] == run.run_id and summary["report_uri"].endswith("evidently/report.html")
    assert ws.events().emitted == []
    assert ws.monitor_state().leases().taken == [f"monitor:{MODEL}"]
    assert ws.monitor_state().leases().current(f"monitor:{MODEL}") is None
    # The champion was loaded once for this workspace object, and is not loaded again.
    (profile,) = ws.profiles.values()
    drop(ws, "2024-07-02.csv", rows(300, seed=3, start=300))
    assert cycle(ws)["verdict"] == "ok"
    assert list(ws.profiles.values()) == [profile]


def test_a_drifted_batch_opens_one_ticket_and_emits_one_event(ws: FakeWorkspace) -> None:
    drop(ws, "2024-07-01.csv", rows(300, seed=2, shift=3.0))
    drop(ws, "2024-07-02.csv", rows(300, seed=3, shift=3.0, start=300))

    summary = cycle(ws)

    first, second = summary["batches"]
    assert first["verdict"] == second["verdict"] == "refresh", first["reasons"]
    assert [f["feature"] for f in first["drifted_features"]] == ["x1"]
    (ticket,) = ws.ticket_store().list(model=MODEL)
    assert ticket.kind == "refresh" and first["ticket"] == second["ticket"] == ticket.id
    assert first["ticket_created"] and not second["ticket_created"]
    assert [item["batch"] for item in ticket.evidence] == ["2024-07-01.csv", "2024-07-02.csv"]
    (event,) = ws.events().named(DEGRADED)
    assert event.resource["prefect.resource.id"] == f"zenops.model.{MODEL}"
    assert event.resource["zenops.ticket"] == str(ticket.id)
    assert event.payload["verdict"] == "refresh" and event.payload["refresh_ticket"] == ticket.id
    assert event.payload["mlflow_run"] == first["run_id"]
    assert ws.monitor_state().get(MODEL).last_batch == "2024-07-02.csv"
    assert ws.monitor_state().get(MODEL).last_verdict == "refresh"


def test_while_a_hand_back_waits_for_its_rebuild_a_degraded_batch_joins_its_ticket(ws: FakeWorkspace) -> None:
    store = ws.ticket_store()
    handback, _ = store.open_or_update(
        TicketDraft(kind="rebuild", title="Rebuild m", model=MODEL, incident="refresh-handback"), actor="test"
    )
    drop(ws, "2024-07-01.csv", rows(300, seed=2, shift=3.0))

    summary = cycle(ws)

    (batch,) = summary["batches"]
    assert batch["verdict"] == "refresh" and batch["ticket"] == handback.id and not batch["ticket_created"]
    assert f"rebuild ticket #{handback.id} (a refresh handed the model back) is open" in batch["reasons"][-1]
    assert [t.id for t in store.list(model=MODEL)] == [handback.id]  # no refresh ticket
    assert [item["batch"] for item in store.get(handback.id).evidence] == ["2024-07-01.csv"]
    assert ws.events().named(DEGRADED) == []  # so no refresh starts

    store.transition(handback.id, "cancelled", note="rebuilt elsewhere", actor="test")  # closed
    drop(ws, "2024-07-02.csv", rows(300, seed=3, shift=3.0, start=300))
    (again,) = cycle(ws)["batches"]
    assert again["ticket_created"] and store.get(again["ticket"]).kind == "refresh"
    assert len(ws.events().named(DEGRADED)) == 1


def test_a_poison_batch_is_a_data_quality_verdict_naming_the_column(ws: FakeWorkspace) -> None:
    poison = rows(300, seed=2)
    poison.loc[7, "x2"] = np.inf
    drop(ws, "2024-07-01.csv", poison)
    drop(ws, "2024-07-02.csv", rows(300, seed=3, start=300))

    summary = cycle(ws)

    bad, good = summary["batches"]
    assert bad["verdict"] == "data_quality"
    assert "column 'x2'" in " ".join(bad["reasons"]), bad["reasons"]
    assert "2024-07-01.csv" in " ".join(bad["reasons"])
    (ticket,) = ws.ticket_store().list(model=MODEL)
    assert ticket.kind == "data_quality" and bad["ticket"] == ticket.id
    assert ws.events().named(DEGRADED) == []  # a data problem starts no refresh
    # The watermark moved past the bad batch: the next one was watched.
    assert good["verdict"] == "ok"
    assert ws.monitor_state().get(MODEL).last_batch == "2024-07-02.csv"
    assert summary["verdict"] == "data_quality"


def test_a_crash_between_records_and_watermark_redoes_the_batch(ws: FakeWorkspace) -> None:
    drop(ws, "2024-07-01.csv", rows(300, seed=2, shift=3.0))
    state = ws.monitor_state()

    with crash_at(state, "advance", "after-records"), pytest.raises(ZenopsError, match="after-records"):
        cycle(ws)

    assert state.get(MODEL).last_batch is None and state.advances == []
    (crashed,) = monitoring_runs(ws)
    assert crashed.deleted  # the unfinished batch leaves no run behind
    (ticket,) = ws.ticket_store().list(model=MODEL)  # stored before the crash, and announced
    assert len(ws.events().named(DEGRADED)) == 1
    assert state.leases().current(f"monitor:{MODEL}") is None

    again = cycle(ws)

    assert [b["batch"] for b in again["batches"]] == ["2024-07-01.csv"]
    assert again["ticket"] == ticket.id and not again["batches"][0]["ticket_created"]
    assert [t.id for t in ws.ticket_store().list(model=MODEL)] == [ticket.id]
    assert len(ws.events().named(DEGRADED)) == 1  # the incident's event, once
    assert state.get(MODEL).last_batch == "2024-07-01.csv"
    live = [r for r in monitoring_runs(ws) if not r.deleted]
    assert [r.run_id for r in live] == [again["run_id"]]


def test_a_held_lease_leaves_the_model_to_its_holder(ws: FakeWorkspace) -> None:
    drop(ws, "2024-07-01.csv", rows(300, seed=2))
    leases = ws.monitor_state().leases()
    with leases.hold(f"monitor:{MODEL}", holder="other-host:7:x"):
        summary = cycle(ws)
    assert summary["batches"] == [] and "another cycle is monitoring" in summary["reasons"][0]
    assert ws.monitor_state().get(MODEL).last_batch is None and monitoring_runs(ws) == []


def test_the_first_batch_of_each_week_keeps_its_report_while_the_verdict_holds(ws: FakeWorkspace) -> None:
    from datetime import UTC, datetime, timedelta

    from zenops.kernel import clock

    kept = []
    for day in range(9):  # Monday July 1st to Tuesday July 9th 2024, all quiet
        drop(ws, f"2024-07-{day + 1:02d}.csv", rows(300, seed=10 + day, start=300 * day))
        with clock.pinned(datetime(2024, 7, 1, 6, tzinfo=UTC) + timedelta(days=day)):
            summary = cycle(ws)
        assert summary["verdict"] == "ok", summary["reasons"]
        (run,) = [r for r in monitoring_runs(ws) if r.run_id == summary["run_id"]]
        kept.append("evidently/report.html" in run.artifacts)

    # The first batch (on_change), then the first of the next ISO week (Monday July 8th).
    assert kept == [True, False, False, False, False, False, False, True, False]
    assert ws.monitor_state().get(MODEL).last_report == datetime(2024, 7, 8, 6, tzinfo=UTC)
