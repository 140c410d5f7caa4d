"""What a person opens after a monitoring cycle: the links, the Evidently UI, the MLflow UI.

Steps of :mod:`tests.e2e.test_unattended`, on its servers (``zenops server`` with the
Evidently UI) after its monitor deployment ran: each takes the stack, a browser
(Debian's Chromium through Playwright) where a UI matters, and the folder screenshots
go to.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from zenops.kernel.server_record import read_record

LINK = re.compile(r"^(Evidently report|MLflow run)(?: \(batch [^)]*\))?: (\S+)$", re.MULTILINE)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def recorded_uis(root: Path) -> tuple[str, str]:
    """(the Evidently UI, the MLflow UI) that ``zenops server`` recorded for the workspace."""
    record = read_record(root)
    assert record is not None and record.evidently_url and record.mlflow_url, record
    return record.evidently_url, record.mlflow_url


def artifact_links(client: Any, flow_run_id: Any, model: str) -> dict[str, str]:
    """The links of the model's markdown artifact that the monitor flow run published."""
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    artifacts = client.read_artifacts(
        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
    )
    (markdown,) = [a for a in artifacts if a.key == f"monitor-{model}"]
    return dict(LINK.findall(markdown.data))


def check_links_answer(links: dict[str, str], evidently: str, mlflow: str) -> None:
    """Both links point at the servers on loopback and answer 200."""
    assert links["Evidently report"].startswith(f"{evidently}/projects/"), links
    assert links["MLflow run"].startswith(f"{mlflow}/#/experiments/"), links
    for url in links.values():
        answer = httpx.get(url, timeout=30, follow_redirects=True)
        assert answer.status_code == 200, (url, answer.status_code)


def drift_share_points(evidently: str, project_id: str) -> int:
    """How many kept batches the drift-share panel of the project's dashboard plots (its API's answer)."""
    body = {
        "series_filter": [
            {
                "metric": "evidently:metric_v2:DriftedColumnsCount",
                "metric_labels": {"value_type": "share"},
                "tags": [],
                "metadata": {},
            }
        ]
    }
    answer = httpx.post(f"{evidently}/api/v2/snapshots/{project_id}/data_series_batch", json=body, timeout=30)
    answer.raise_for_status()
    found = answer.json()
    assert found["series"], found
    return len(found["sources"])  # one per kept batch whose drift report has the share


def check_evidently_ui(page: Any, evidently: str, model: str, kept: int, shots: Path) -> None:
    """The model's project, its dashboard's drift-share panel over the kept batches, and a report."""
    projects = httpx.get(f"{evidently}/api/projects", timeout=30).json()
    (project,) = [p for p in projects if p["name"] == model]
    assert drift_share_points(evidently, project["id"]) == kept

    page.goto(evidently, wait_until="networkidle")
    page.get_by_text(model, exact=True).first.click()
    page.wait_for_url(f"**/projects/{project['id']}**")
    page.get_by_text("Drift share", exact=True).first.wait_for()
    page.get_by_text("drift share", exact=True).first.wait_for()  # the panel's series, plotted
    assert page.get_by_text("Timestamps").count() >= 1
    page.screenshot(path=str(shots / "evidently-dashboard.png"), full_page=True)

    snapshots = httpx.get(f"{evidently}/api/projects/{project['id']}/snapshots", timeout=30).json()
    drift = next(s for s in snapshots if "zenops-drift" in s["tags"])
    page.goto(f"{evidently}/projects/{project['id']}/reports/{drift['id']}", wait_until="networkidle")
    page.get_by_text("Drifted Columns", exact=False).first.wait_for()
    page.screenshot(path=str(shots / "evidently-report.png"), full_page=True)


def check_mlflow_ui(page: Any, mlflow: str, experiment_id: str, run_id: str, shots: Path) -> None:
    """The monitoring experiment's run in the MLflow UI, with its drift-share metric."""
    # MLflow's UI polls while open: wait for the page's content, never for a quiet network.
    page.goto(f"{mlflow}/#/experiments/{experiment_id}/runs/{run_id}", wait_until="domcontentloaded")
    page.get_by_text("drift_share", exact=True).first.wait_for()
    page.screenshot(path=str(shots / "mlflow-monitoring-run.png"), full_page=True)


def kept_batches(root: Path, model: str) -> int:
    """How many batches the monitor kept reports of (the model's drift runs in the folder)."""
    from evidently.ui.workspace import Workspace as EvidentlyFolder

    folder = EvidentlyFolder(str(root / ".zenops" / "evidently"))
    (project,) = folder.search_project(model)
    runs = [folder.get_run(project.id, run) for run in folder.list_runs(project.id)]
    return sum("zenops-drift" in run.tags for run in runs if run is not None)
