"""Kept reports in a real Evidently workspace: a project per model, its dashboard, runs over time.

The monitoring flow on the real stack (Prefect harness, MLflow, DVC, Evidently) adds
each kept report to the workspace's ``.zenops/evidently`` folder, read back here with
Evidently's own ``Workspace``; an Evidently UI that does not answer fails the batch
with its address named, and leaves nothing of the batch behind.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows.monitor import monitor_models
from tests.integration.conftest import set_monitoring
from tests.integration.test_store_outages import assert_nothing_recorded, drop_batch, quick_retries
from tests.loopback import closed_port
from zenops.kernel.errors import ZenopsError
from zenops.workspace import Workspace

MODEL = "loan-default"


@pytest.fixture
def trained(saved_trained, restore) -> Workspace:
    return restore(saved_trained)


def evidently(workspace: Workspace):
    from evidently.ui.workspace import Workspace as EvidentlyFolder

    return EvidentlyFolder(str(workspace.root / ".zenops" / "evidently"))


def test_kept_reports_become_runs_of_the_models_project_with_a_dashboard(
    trained: Workspace, monkeypatch
) -> None:
    set_monitoring(trained, html_reports="always")
    for day in (1, 2):
        monkeypatch.setenv("ZENOPS_NOW", datetime(2024, 7, day, 23, tzinfo=UTC).isoformat())
        drop_batch(trained, f"2024-07-0{day}.csv")
        (summary,) = monitor_models(workspace=str(trained.root), models=[MODEL])["models"]
        assert (summary["report_page"] or "").startswith("/projects/"), summary

    folder = evidently(trained)
    (project,) = folder.search_project(MODEL)  # created once, found the second time
    runs = [folder.get_run(project.id, run) for run in folder.list_runs(project.id)]
    by_batch = sorted((r.metadata["batch"], r.name, r.timestamp) for r in runs)
    # Each kept batch: its drift report and its figures.
    assert [(b, n) for b, n, _ in by_batch] == [
        ("2024-07-01.csv", "2024-07-01.csv"),
        ("2024-07-01.csv", "2024-07-01.csv · figures"),
        ("2024-07-02.csv", "2024-07-02.csv"),
        ("2024-07-02.csv", "2024-07-02.csv · figures"),
    ]
    assert by_batch[0][2] == datetime(2024, 7, 1, 23)  # the cycle's clock, naive UTC
    mlflow_runs = {r.metadata["mlflow_run"] for r in runs}
    assert summary["run_id"] in mlflow_runs
    assert summary["report_page"].endswith(
        str(
            next(
                run
                for run in folder.list_runs(project.id)
                if folder.get_run(project.id, run).name == "2024-07-02.csv"
            )
        )
    )
    titles = [panel.title for panel in folder.get_dashboard(project.id).panels]
    assert titles[:4] == [
        "Drift share",
        "Feature p-values",
        "Performance against the holdout baseline",
        "Verdicts",
    ]


def test_an_evidently_ui_that_does_not_answer_fails_the_batch_naming_it(
    trained: Workspace, monkeypatch
) -> None:
    workspace = quick_retries(trained)
    down = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("ZENOPS_EVIDENTLY", down)
    drop_batch(workspace)

    with pytest.raises(ZenopsError, match=f"Evidently workspace {down}"):
        monitor_models(workspace=str(workspace.root), models=[MODEL])

    assert_nothing_recorded(workspace, "2024-07-01.csv")
    monkeypatch.delenv("ZENOPS_EVIDENTLY")
    (summary,) = monitor_models(workspace=str(workspace.root), models=[MODEL])["models"]
    assert summary["report_page"] is not None
