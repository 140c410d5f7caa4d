"""The fleet view (``zenops status``) on fakes: champion age, last cycle, tickets, next cycle."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from registry.promotion import CHAMPION_SINCE
from tests.fakes.workspace import FakeWorkspace
from tests.unit.test_monitor_service import MODEL, cycle, drop, rows, trained_workspace
from zenops.kernel import clock
from zenops.services.status import fleet_rows, workspace_status

TRAINED = datetime(2024, 6, 28, 9, 0, tzinfo=UTC)
MONITORED = datetime(2024, 7, 1, 9, 20, tzinfo=UTC)
LOOKED = datetime(2024, 7, 1, 10, 5, tzinfo=UTC)


@pytest.fixture
def ws(tmp_path: Path) -> FakeWorkspace:
    with clock.pinned(TRAINED):
        return trained_workspace(tmp_path)


def test_a_model_never_monitored_shows_its_champion_and_the_next_cycle(ws: FakeWorkspace) -> None:
    status = workspace_status(ws, now=LOOKED)

    (model,) = status["models"]
    assert model["champion"]["version"] == "1" and model["aliases"] == {"champion": "1"}
    assert model["champion"]["since"] == TRAINED.isoformat()  # registered then: champion since
    assert model["champion"]["age_days"] == pytest.approx(3 + 1.083 / 24, abs=0.01)
    assert model["last_cycle"] is None and model["open_tickets"] == []
    # The default schedule is hourly at :00, in UTC.
    assert model["next_cycle"] == status["next_cycle"] == "2024-07-01T11:00:00+00:00"


def test_the_last_cycle_gives_when_verdict_drift_and_the_ticket(ws: FakeWorkspace) -> None:
    drop(ws, "2024-07-01.csv", rows(300, seed=2, shift=3.0))
    with clock.pinned(MONITORED):
        summary = cycle(ws)

    status = workspace_status(ws, now=LOOKED)

    (model,) = status["models"]
    last = model["last_cycle"]
    assert last["at"] == MONITORED.isoformat() and last["batch"] == "2024-07-01.csv"
    assert last["verdict"] == "refresh" and last["run_id"] == summary["run_id"]
    assert last["drift_share"] == pytest.approx(summary["drift_share"]) and last["drift_share"] > 0
    assert last["champion_version"] == "1"
    assert model["open_tickets"] == [summary["ticket"]]
    (row,) = fleet_rows(status)
    assert row["verdict"] == "refresh" and row["open_tickets"] == f"#{summary['ticket']}"
    assert row["champion"] == "1" and row["last_cycle"] == MONITORED.isoformat()


def test_performance_is_the_runs_measured_or_estimated_figure_against_the_holdout(
    ws: FakeWorkspace,
) -> None:
    drop(ws, "2024-07-01.csv", rows(300, seed=2))
    with clock.pinned(MONITORED):
        summary = cycle(ws)
    registry = ws.registry()
    registry.log_run_metrics(registry.version(MODEL, "1").run_id, {"holdout_roc_auc": 0.8})
    registry.log_run_metrics(summary["run_id"], {"estimated_roc_auc": 0.71})

    (model,) = workspace_status(ws, now=LOOKED)["models"]

    perf = model["last_cycle"]["performance"]
    assert perf == {"kind": "estimated", "metric": "roc_auc", "value": 0.71, "baseline": 0.8}
    registry.log_run_metrics(summary["run_id"], {"measured_roc_auc": 0.69})  # labels won
    status = workspace_status(ws, now=LOOKED)
    assert status["models"][0]["last_cycle"]["performance"]["kind"] == "measured"
    (row,) = fleet_rows(status)
    assert row["performance"] == "measured roc_auc 0.6900 (holdout 0.8000)"


def test_a_promotion_restarts_the_champions_age(ws: FakeWorkspace) -> None:
    registry = ws.registry()
    registry.set_version_tag(MODEL, "1", CHAMPION_SINCE, datetime(2024, 7, 1, 4, 5, tzinfo=UTC).isoformat())

    (model,) = workspace_status(ws, now=LOOKED)["models"]

    assert model["champion"]["age_days"] == pytest.approx(6 / 24, abs=1e-3)


def test_the_next_cycle_follows_the_schedules_time_zone(ws: FakeWorkspace) -> None:
    schedules = ws.config.schedules.model_copy(update={"monitor": "0 8 * * *", "timezone": "Europe/Paris"})

    assert schedules.next_monitor(LOOKED).isoformat() == "2024-07-02T06:00:00+00:00"  # 08:00 CEST
