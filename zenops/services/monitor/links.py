"""Links that open: a kept report in the Evidently UI, a run in the MLflow UI.

Where each UI is: the Evidently UI is ``stores.evidently`` when that is an Evidently
UI's URL, else the one a running ``zenops server`` recorded in the workspace
(``evidently_url`` of ``.zenops/server.json``); the MLflow UI is
``notifications.mlflow_url``, else the tracking URI when it is a server, else the
recorded ``mlflow_url``. A link falls back to the file's path only when no UI serves
it, and then says so in its text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zenops.kernel.config import ZenopsConfig
from zenops.kernel.server_record import ServerRecord, process_alive, read_record
from zenops.services.messages import mlflow_run_url, mlflow_ui_base
from zenops.services.monitor.wiring import MonitorWorkspace

__all__ = ["NOT_KEPT", "NOT_SERVED", "UiBases", "batch_links", "report_link", "run_link", "ui_bases"]

NOT_SERVED = "(a file: no Evidently UI serves it; start zenops server)"
NOT_KEPT = "(the figures only: this batch's report was not kept; zenops report builds it)"


@dataclass(frozen=True)
class UiBases:
    """The UIs links point to; None: no UI serves that kind of page."""

    evidently: str | None = None
    mlflow: str | None = None


def _live_record(root: Path) -> ServerRecord | None:
    """The workspace's ``zenops server`` record while its process runs (None otherwise)."""
    try:
        record = read_record(root)
    except (OSError, ValueError):
        return None
    if record is None or not process_alive(record.pid):
        return None
    return record


def ui_bases(config: ZenopsConfig, root: Path, tracking_uri: str, evidently: str | None) -> UiBases:
    """The Evidently and MLflow UIs of the workspace at ``root`` (see the module's notes)."""
    record = _live_record(root)
    evidently_ui = evidently if evidently and evidently.startswith(("http://", "https://")) else None
    evidently_ui = evidently_ui or (record.evidently_url if record else None)
    mlflow_ui = mlflow_ui_base(config.notifications.mlflow_url, tracking_uri)
    mlflow_ui = mlflow_ui or (record.mlflow_url if record else None)
    return UiBases(
        evidently=evidently_ui.rstrip("/") if evidently_ui else None,
        mlflow=mlflow_ui.rstrip("/") if mlflow_ui else None,
    )


def report_link(bases: UiBases, page: str | None, path: str | None, kept: bool = True) -> str | None:
    """The kept report's page in the Evidently UI, else its file, said to be one (None: neither).

    A batch whose report was not kept links to its figures' file, and says so.
    """
    if page and bases.evidently:
        return f"{bases.evidently}{page}"
    if path and not kept:
        return f"{path} {NOT_KEPT}"
    if path:
        return f"{path} {NOT_SERVED}"
    return None


def run_link(bases: UiBases, experiment_id: str | None, run_id: str | None) -> str | None:
    """The run's page in the MLflow UI (None when no MLflow UI is known)."""
    return mlflow_run_url(bases.mlflow, experiment_id, run_id)


def batch_links(
    workspace: MonitorWorkspace,
    model: str,
    run_id: str | None,
    page: str | None,
    path: str | None,
    kept: bool,
) -> tuple[str | None, str | None]:
    """(the report's link, the monitoring run's link) of one recorded batch, as they open now."""
    stores = workspace.stores
    bases = ui_bases(workspace.config, workspace.root, stores.tracking_uri, stores.evidently)
    experiment = workspace.registry().ensure_experiment(model) if bases.mlflow and run_id else None
    return report_link(bases, page, path, kept), run_link(bases, experiment, run_id)
