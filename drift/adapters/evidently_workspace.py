"""The Evidently workspace: kept reports over time, a project per model, with its dashboard.

:class:`EvidentlyWorkspace` is the :class:`~zenops.ports.ReportWorkspace` port on
Evidently 0.7's workspace API (``evidently.ui.workspace``): a folder on this machine
(``Workspace(path)``, what ``evidently ui --workspace PATH`` serves, and what
``zenops server`` starts the Evidently UI over) or an Evidently UI service by URL
(``RemoteWorkspace``).

Each kept batch adds two runs (snapshots) to its model's project, both stamped at the
cycle's time, tagged with the verdict and carrying the batch and the MLflow run in
their metadata:

- the batch's Evidently drift report, the one the MLflow run keeps as HTML;
- ``<batch> · figures``: a one-row report of the zenops figures that no Evidently
  report holds — the performance measured on labels or estimated without them, the
  champion's holdout baseline, and the verdict (one 0/1 value per verdict) — as
  Evidently ``MeanValue`` metrics, so the dashboard plots them like any other.

The project (named by the model) and its dashboard are created on first use and
found by name afterwards; a batch added again (a retried cycle) replaces its runs.
Evidently's failures — a folder that cannot be written, a service that does not
answer — are :class:`~zenops.kernel.errors.StoreError` naming the workspace.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC
from typing import Any

import pandas as pd

from drift.kept_reports import VERDICT_FIGURES, KeptReport, StoredReport
from zenops.kernel.deferred import FIRST_IMPORT
from zenops.kernel.errors import StoreError, ZenopsError
from zenops.kernel.offline import stay_offline

__all__ = ["EvidentlyWorkspace", "dashboard_panels"]

FIGURES_TAG = "zenops-figures"
DRIFT_TAG = "zenops-drift"
_DRIFTED_COUNT = "evidently:metric_v2:DriftedColumnsCount"
_VALUE_DRIFT = "evidently:metric_v2:ValueDrift"
_MEAN_VALUE = "evidently:metric_v2:MeanValue"


class EvidentlyWorkspace:
    """Kept reports in an Evidently workspace: a folder, or an Evidently UI by URL."""

    def __init__(self, location: str) -> None:
        self.location = location
        self._client: Any = None
        self._projects: dict[str, Any] = {}

    @property
    def remote(self) -> bool:
        return self.location.startswith(("http://", "https://"))

    def describe(self) -> str:
        return f"Evidently workspace {self.location}"

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Evidently's and the network's exceptions as a StoreError naming the workspace."""
        try:
            yield
        except ZenopsError:
            raise
        except Exception as error:  # requests, OSError, Evidently's own errors
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise StoreError(f"{self.describe()}: {what} failed ({first})") from None

    def client(self) -> Any:
        """Evidently's workspace object, opened on first use."""
        if self._client is None:
            stay_offline()
            with FIRST_IMPORT, self._errors("open"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from evidently.ui.workspace import RemoteWorkspace, Workspace

                self._client = RemoteWorkspace(self.location) if self.remote else Workspace(self.location)
        return self._client

    def project(self, model: str, features: Sequence[str] = ()) -> Any:
        """The model's project, created with its dashboard when the workspace has none."""
        if model in self._projects:
            return self._projects[model]
        client = self.client()
        with self._errors(f"project {model}"):
            found = sorted(client.search_project(model), key=lambda p: str(p.id))
            if found:
                project = found[0]
            else:
                project = client.create_project(model, description=f"zenops monitoring of {model}")
                for panel in dashboard_panels(features):
                    project.dashboard.add_panel(panel, tab="Monitoring")
        self._projects[model] = project
        return project

    def add(self, report: KeptReport) -> StoredReport:
        """Add the batch's drift report and figures to the model's project; the report's UI path.

        With ``report.replaces``, the runs an earlier attempt at the batch added go first;
        when adding fails part-way, the runs this call added are deleted again.
        """
        from evidently.core.report import Snapshot

        project = self.project(report.model, report.features)
        client = self.client()
        metadata = {"batch": report.batch, "verdict": report.verdict, **dict(report.links)}
        runs = [(report.batch, DRIFT_TAG, report.snapshots.get("drift"))]
        runs.append((f"{report.batch} · figures", FIGURES_TAG, None))
        added: list[Any] = []
        with self._errors(f"add {report.model} {report.batch}"):
            if report.replaces:
                self._forget(project.id, report.batch)
            try:
                for name, tag, snapshot in runs:
                    if tag == FIGURES_TAG:
                        snapshot = _figures_snapshot(report.figures)
                    if snapshot is None:
                        continue
                    stamped = _stamped(Snapshot, snapshot, report, metadata, [tag, report.verdict])
                    added.append(client.add_run(project.id, stamped, name=name).id)
            except BaseException:
                for snapshot_id in added:
                    with _quietly():
                        client.delete_run(project.id, snapshot_id)
                raise
        page = f"/projects/{project.id}/reports/{added[0]}"
        return StoredReport(page=page, project=str(project.id), runs=tuple(str(a) for a in added))

    def remove(self, stored: StoredReport) -> None:
        """Delete the runs :meth:`add` stored."""
        client = self.client()
        with self._errors(f"remove runs of {stored.page}"):
            for snapshot_id in stored.runs:
                client.delete_run(stored.project, snapshot_id)

    def _forget(self, project_id: Any, batch: str) -> None:
        """Delete the runs an earlier attempt at ``batch`` added (a retried cycle)."""
        client = self.client()
        for snapshot_id in client.list_runs(project_id):
            run = client.get_run(project_id, snapshot_id)
            if run is not None and run.metadata.get("batch") == batch:
                client.delete_run(project_id, snapshot_id)


def _quietly() -> AbstractContextManager[None]:
    """Undo that may fail too (the service is down): the first error is the one reported."""
    return suppress(Exception)


def _stamped(snapshot_type: Any, snapshot: Any, report: KeptReport, metadata: dict, tags: list[str]) -> Any:
    """A copy of ``snapshot`` at the cycle's time (naive UTC, as Evidently stores it) with tags."""
    model = snapshot.to_snapshot_model()
    model.timestamp = report.at.astimezone(UTC).replace(tzinfo=None)
    model.metadata = {**model.metadata, **metadata}
    model.tags = sorted({*model.tags, *tags})
    return snapshot_type.load_model(model)


def _figures_snapshot(figures: Mapping[str, float]) -> Any:
    """A one-row Evidently report whose ``MeanValue`` of each column is one figure."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import MeanValue

    values = {name: float(value) for name, value in figures.items() if value == value}
    frame = pd.DataFrame({name: [value] for name, value in values.items()})
    definition = DataDefinition(numerical_columns=list(values))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = Dataset.from_pandas(frame, data_definition=definition)
        return Report([MeanValue(column=name) for name in values]).run(data, None)


def dashboard_panels(features: Sequence[str], top: int = 8) -> list[Any]:
    """The project's dashboard: drift share, p-values of the features, performance, verdicts."""
    from evidently.sdk.models import PanelMetric
    from evidently.sdk.panels import bar_plot_panel, counter_panel, line_plot_panel

    def mean(column: str, legend: str) -> Any:
        return PanelMetric(
            legend=legend, metric=_MEAN_VALUE, metric_labels={"column": column}, tags=[FIGURES_TAG]
        )

    p_values = [
        PanelMetric(legend=name, metric=_VALUE_DRIFT, metric_labels={"column": name}, tags=[DRIFT_TAG])
        for name in list(features)[:top]
    ] or [PanelMetric(legend="p-value", metric=_VALUE_DRIFT, tags=[DRIFT_TAG])]
    return [
        line_plot_panel(
            "Drift share",
            [PanelMetric(legend="drift share", metric=_DRIFTED_COUNT, metric_labels={"value_type": "share"})],
            description="Share of the features whose drift test rejects, per kept batch",
        ),
        line_plot_panel(
            "Feature p-values",
            p_values,
            description="Each feature's drift test p-value (KS or chi-squared); low is drift",
        ),
        line_plot_panel(
            "Performance against the holdout baseline",
            [
                mean("measured", "measured on labels"),
                mean("estimated", "estimated without labels"),
                mean("baseline", "champion holdout"),
            ],
            description="The model's metric per kept batch",
        ),
        bar_plot_panel(
            "Verdicts",
            [mean(f"verdict_{v}", v) for v in VERDICT_FIGURES],
            description="Per kept batch",
            stacked=True,
        ),
        counter_panel(
            "Batches with a ticket verdict",
            [mean(f"verdict_{v}", v) for v in ("refresh", "rebuild", "data_quality")],
            aggregation="sum",
            size="half",
        ),
    ]
