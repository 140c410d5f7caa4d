"""Kept reports go to the report workspace too (fakes): figures, links, and nothing half-written."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from drift.kept_reports import report_figures
from tests.fakes.workspace import FakeWorkspace
from tests.faults import crash_at
from tests.unit.test_monitor_service import MODEL, cycle, drop, monitoring_runs, rows, trained_workspace
from zenops.kernel import clock
from zenops.kernel.errors import StoreError, ZenopsError
from zenops.services.monitor.records import cycle_markdown

AT = datetime(2024, 7, 1, 23, 0, tzinfo=UTC)


@pytest.fixture
def ws(tmp_path: Path) -> FakeWorkspace:
    return trained_workspace(tmp_path)


def test_a_kept_report_is_added_to_the_models_project_with_its_figures(ws: FakeWorkspace) -> None:
    drop(ws, "2024-07-01.csv", rows(300, seed=2, shift=3.0))
    with clock.pinned(AT):
        summary = cycle(ws)

    ((run_id, kept),) = ws.reports.projects[MODEL].items()
    assert kept.batch == "2024-07-01.csv" and kept.at == AT and kept.verdict == "refresh"
    assert kept.links == {"mlflow_run": summary["run_id"]}
    assert kept.figures["verdict_refresh"] == 1.0 and kept.figures["verdict_ok"] == 0.0
    assert kept.figures["drift_share"] == pytest.approx(summary["drift_share"])
    assert set(kept.features) == {"x1", "x2", "c"} and not kept.replaces
    assert summary["report_page"] == f"/projects/{MODEL}/reports/{run_id}"


def test_a_batch_whose_report_is_not_kept_adds_nothing(ws: FakeWorkspace) -> None:
    drop(ws, "2024-07-01.csv", rows(300, seed=2))
    drop(ws, "2024-07-01b.csv", rows(300, seed=3, start=300))  # same day, same verdict
    with clock.pinned(AT):
        summary = cycle(ws)

    assert ws.reports.batches(MODEL) == ["2024-07-01.csv"]
    assert summary["batches"][1]["report_page"] is None


def test_a_workspace_that_is_down_fails_the_batch_and_leaves_no_run(ws: FakeWorkspace) -> None:
    drop(ws, "2024-07-01.csv", rows(300, seed=2))
    ws.reports.down = True

    with pytest.raises(StoreError, match="fake report workspace: not reachable"):
        cycle(ws)

    assert ws.monitor_state().get(MODEL).last_batch is None
    assert all(run.deleted for run in monitoring_runs(ws))
    ws.reports.down = False
    again = cycle(ws)
    assert ws.reports.batches(MODEL) == ["2024-07-01.csv"]
    assert [r.run_id for r in monitoring_runs(ws) if not r.deleted] == [again["run_id"]]


def test_a_batch_that_cannot_finish_removes_its_kept_report(ws: FakeWorkspace) -> None:
    drop(ws, "2024-07-01.csv", rows(300, seed=2, shift=3.0))
    state = ws.monitor_state()

    with crash_at(state, "advance", "after-records"), pytest.raises(ZenopsError, match="after-records"):
        cycle(ws)

    assert ws.reports.batches(MODEL) == []
    cycle(ws)
    assert ws.reports.batches(MODEL) == ["2024-07-01.csv"]


def test_the_figures_hold_the_performance_kind_and_its_baseline() -> None:
    measured = {"kind": "measured", "metric": "roc_auc", "value": 0.71, "baseline": 0.8}
    figures = report_figures("warn", 0.25, measured)
    assert figures["measured"] == 0.71 and figures["baseline"] == 0.8 and "estimated" not in figures
    assert figures["drift_share"] == 0.25 and figures["verdict_warn"] == 1.0
    assert sum(v for k, v in figures.items() if k.startswith("verdict_")) == 1.0
    assert "drift_share" not in report_figures("data_quality", None, None)


def test_the_artifact_links_the_latest_kept_report_when_the_worst_batch_kept_none() -> None:
    kept = {"batch": "2024-07-01.csv", "report_page": "/projects/p/reports/r", "report_url": "http://ui/p/r"}
    worst = {"batch": "2024-07-02.csv", "report_page": None, "report_url": "file:///s.json (not kept)"}
    summary = {"model": MODEL, "verdict": "refresh", "rows": 600, **worst, "batches": [kept, worst]}
    summary["mlflow_url"] = "http://mlflow/#/experiments/1/runs/x"

    text = cycle_markdown(summary)

    assert "Evidently report (batch 2024-07-01.csv): http://ui/p/r" in text
    assert "MLflow run: http://mlflow/#/experiments/1/runs/x" in text
