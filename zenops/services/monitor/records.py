"""What one monitoring step leaves behind: its outcome, MLflow run, ticket and event.

- :class:`BatchOutcome` is one batch's (or one reported file's) result; its
  ``to_dict`` holds the interface's JSON keys, and :func:`summarise` folds a
  model's outcomes into the cycle's object for that model.
- :func:`record_batch` writes the batch's monitoring run through the registry port
  (figures, verdict, the drift engine's snapshot and, when kept, HTML report);
  :func:`forget_run` deletes it again when the batch could not be finished.
- The ticket and event a verdict raises are :mod:`zenops.services.monitor.incidents`'.
- :func:`cycle_markdown` and :func:`cycle_table` are what the Prefect UI shows of a cycle.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drift.kept_reports import KeptReport, StoredReport, report_figures
from drift.measurement import DriftMeasurement
from drift.verdicts import SEVERITY
from registry import lineage
from zenops.kernel import clock
from zenops.kernel.config import ModelSpec
from zenops.kernel.errors import ZenopsError
from zenops.services.monitor.links import batch_links
from zenops.services.monitor.wiring import MonitorWorkspace

log = logging.getLogger("zenops.monitor")


#: The monitoring run's tag holding when (the cycle's clock) its batch was recorded.
MONITORED_AT = "zenops.monitored_at"


@dataclass
class BatchOutcome:
    """What one batch gave; ``to_dict`` holds the interface's JSON keys."""

    model: str
    batch: str
    rows: int
    verdict: str
    reasons: list[str]
    drift_share: float | None = None
    drifted_features: list[dict[str, Any]] = field(default_factory=list)
    performance: dict[str, Any] | None = None
    ticket: int | None = None
    ticket_created: bool = False
    report_uri: str | None = None
    run_id: str | None = None
    champion_version: str | None = None
    consecutive_drift: int = 0
    #: The kept report's page in the report workspace (``/projects/ID/reports/ID``).
    report_page: str | None = None
    stored_report: StoredReport | None = field(default=None, repr=False)
    #: Links that open: the report in the Evidently UI (else its file, said so), the run in MLflow's.
    report_url: str | None = None
    mlflow_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "batch": self.batch,
            "rows": self.rows,
            "drift_share": self.drift_share,
            "drifted_features": self.drifted_features,
            "performance": self.performance,
            "verdict": self.verdict,
            "reasons": self.reasons,
            "ticket": self.ticket,
            "ticket_created": self.ticket_created,
            "report_uri": self.report_uri,
            "run_id": self.run_id,
            "champion_version": self.champion_version,
            "report_page": self.report_page,
            "report_url": self.report_url,
            "mlflow_url": self.mlflow_url,
        }


def summarise(model: str, outcomes: list[BatchOutcome], note: str | None = None) -> dict[str, Any]:
    """One object per model for a cycle: the most severe batch's figures, and every batch."""
    if not outcomes:
        return {
            "model": model,
            "rows": 0,
            "drift_share": None,
            "drifted_features": [],
            "performance": None,
            "verdict": "ok",
            "reasons": [note or "no new batch"],
            "ticket": None,
            "report_uri": None,
            "batches": [],
        }
    worst = max(outcomes, key=lambda o: (SEVERITY.get(o.verdict, 0), o.batch))
    summary = worst.to_dict()
    summary["rows"] = sum(o.rows for o in outcomes)
    summary["batches"] = [o.to_dict() for o in outcomes]
    return summary


def problem_outcome(
    spec: ModelSpec, champion_version: str | None, name: str, reasons: list[str]
) -> BatchOutcome:
    """A ``data_quality`` report about a file that is not a batch (a label file, a file not read)."""
    return BatchOutcome(
        model=spec.name,
        batch=Path(name).name,
        rows=0,
        verdict="data_quality",
        reasons=reasons,
        champion_version=champion_version,
    )


def wants_html(
    policy: str,
    outcome: BatchOutcome,
    previous_verdict: str | None,
    cadence: str,
    last_report: datetime | None,
    now: datetime,
) -> bool:
    """Whether this batch's HTML report is stored (see ``monitoring.html_reports``).

    Besides the policy, ``cadence`` (``monitoring.report_cadence``) keeps the first batch
    recorded in each UTC day or ISO week since ``last_report`` (when the last kept
    report was recorded); ``now`` is when this batch is recorded. ``never`` keeps none.
    """
    if policy == "never":
        return False
    if cadence != "none" and _new_period(cadence, last_report, now):
        return True
    if policy == "always":
        return True
    if policy == "on_alert":
        return outcome.verdict != "ok"
    if policy == "on_change":
        return previous_verdict is None or previous_verdict != outcome.verdict or outcome.ticket_created
    return False


def _new_period(cadence: str, last: datetime | None, now: datetime) -> bool:
    """Whether ``now`` falls in another day (or ISO week) than ``last``, both read in UTC."""
    if last is None:
        return True
    then, this = last.astimezone(UTC), now.astimezone(UTC)
    if cadence == "daily":
        return this.date() != then.date()
    return this.isocalendar()[:2] != then.isocalendar()[:2]


def record_batch(
    workspace: MonitorWorkspace,
    spec: ModelSpec,
    outcome: BatchOutcome,
    measurement: DriftMeasurement | None,
    report: DriftMeasurement | None = None,
) -> None:
    """A monitoring run per batch, linked to the champion, with figures and the drift report.

    The run's metrics are the verdict's measurement; ``report``, when the batch's report
    is kept, is Evidently's on the same frames: its snapshot and HTML files are stored
    (else the measurement's figures are the snapshot). Sets the outcome's ``run_id`` and
    ``report_uri`` once the run is complete.
    """
    registry = workspace.registry()
    identity = {lineage.RUN_KIND: "monitoring", "zenops.batch": outcome.batch}
    # The watermark has not passed this batch, so a run already logged for it comes from
    # an attempt that did not finish (a crash, a store that failed before the ticket was
    # stored): it is replaced, so each processed batch has exactly one monitoring run.
    stale = registry.runs_tagged(spec.name, identity) if "'" not in outcome.batch else []
    for run in stale:
        registry.delete_run(run)
    tags = {
        lineage.MODEL: spec.name,
        **identity,
        "zenops.champion.version": outcome.champion_version or "",
        "zenops.verdict": outcome.verdict,
        MONITORED_AT: clock.now().isoformat(),
    }
    verdict = {"verdict": outcome.verdict, "reasons": outcome.reasons, "outcome": outcome.to_dict()}
    run_id, report_uri = registry.log_monitoring_run(
        spec.name,
        f"monitor {spec.name} {outcome.batch}",
        tags,
        run_metrics(outcome, measurement),
        verdict,
        snapshot=report.report_json if report is not None else _figures(measurement),
        html=report.save_html if report is not None else None,
    )
    outcome.run_id, outcome.report_uri = run_id, report_uri
    if report is not None:
        try:
            outcome.stored_report = keep_in_workspace(workspace, spec, outcome, report, retry=bool(stale))
        except BaseException:
            forget_run(workspace, outcome)
            raise
        if outcome.stored_report is not None:
            outcome.report_page = outcome.stored_report.page
    outcome.report_url, outcome.mlflow_url = batch_links(
        workspace, spec.name, run_id, outcome.report_page, report_uri, kept=report is not None
    )


def keep_in_workspace(
    workspace: MonitorWorkspace, spec: ModelSpec, outcome: BatchOutcome, report: DriftMeasurement, retry: bool
) -> StoredReport | None:
    """Add the kept report to the report workspace (the model's Evidently project); its page there."""
    reports = workspace.report_workspace()
    if reports is None:
        return None
    kept = KeptReport(
        model=spec.name,
        batch=outcome.batch,
        at=clock.now(),
        verdict=outcome.verdict,
        snapshots=report.snapshots,
        figures=report_figures(outcome.verdict, outcome.drift_share, outcome.performance),
        features=[c.column for c in report.features],
        links={"mlflow_run": outcome.run_id or ""},
        replaces=retry,
    )
    return reports.add(kept)


def _figures(measurement: DriftMeasurement | None) -> str | None:
    return None if measurement is None else measurement.report_json


def run_metrics(outcome: BatchOutcome, measurement: DriftMeasurement | None) -> dict[str, float]:
    """The monitoring run's metrics: rows, drift share, the performance figure, each column's test."""
    metrics: dict[str, float] = {"rows": float(outcome.rows)}
    if outcome.drift_share is not None:
        metrics["drift_share"] = outcome.drift_share
    if outcome.performance and outcome.performance.get("value") is not None:
        metrics[f"{outcome.performance['kind']}_{outcome.performance['metric']}"] = float(
            outcome.performance["value"]
        )
    if measurement is not None:
        for column in measurement.features:
            if column.p_value is not None and column.p_value == column.p_value:
                metrics[f"drift_p.{column.column}"] = float(column.p_value)
            if column.effect == column.effect:
                metrics[f"drift_effect.{column.column}"] = float(column.effect)
    return metrics


def forget_run(workspace: MonitorWorkspace, outcome: BatchOutcome) -> None:
    """Delete the MLflow run (and the kept report's runs) of a batch that could not be finished.

    The run is written first (the ticket links to it); when what follows fails, the
    batch is not done, so its run goes too: a failed cycle leaves no record of its
    own behind. A run that cannot be deleted (the store is down) is replaced when
    the batch is processed again.
    """
    stored, outcome.stored_report = outcome.stored_report, None
    reports = workspace.report_workspace()
    if stored is not None and reports is not None:
        try:
            reports.remove(stored)
        except ZenopsError as error:
            log.warning(
                "%s: could not remove the kept report of %s (%s)", outcome.model, outcome.batch, error
            )
    if outcome.run_id is None:
        return
    try:
        workspace.registry().delete_run(outcome.run_id)
    except ZenopsError as error:
        log.warning(
            "%s: could not delete the run of unfinished batch %s (%s)", outcome.model, outcome.batch, error
        )


def cycle_markdown(summary: dict[str, Any]) -> str:
    """The per-model Prefect artifact: verdict, top drifted features, performance, report, ticket."""
    lines = [f"# {summary['model']}: {summary['verdict']}", ""]
    lines += [f"- {reason}" for reason in summary.get("reasons", [])]
    perf = summary.get("performance")
    if perf:
        baseline = perf.get("baseline")
        base = f" (holdout {baseline:.4f})" if isinstance(baseline, float) else ""
        lines += ["", f"**Performance** ({perf['kind']}): {perf['metric']} {perf['value']:.4f}{base}"]
    if summary.get("drift_share") is not None:
        lines += ["", f"**Drift share**: {summary['drift_share']:.0%} of features, {summary['rows']} rows"]
    features = summary.get("drifted_features") or []
    if features:
        lines += ["", "| drifted feature | p-value |", "|---|---|"]
        lines += [f"| {f['feature']} | {f['p_value']:.2e} |" for f in features[:10]]
    kept = [b for b in summary.get("batches") or [] if b.get("report_page")]
    if not summary.get("report_page") and kept:  # the worst batch's report was not kept: the latest one
        lines += ["", f"Evidently report (batch {kept[-1]['batch']}): {kept[-1]['report_url']}"]
    elif summary.get("report_url") or summary.get("report_uri"):
        lines += ["", f"Evidently report: {summary.get('report_url') or summary.get('report_uri')}"]
    if summary.get("mlflow_url"):
        lines += ["", f"MLflow run: {summary['mlflow_url']}"]
    if summary.get("ticket"):
        lines += ["", f"Ticket: #{summary['ticket']}"]
    return "\n".join(lines) + "\n"


def cycle_table(results: list[dict[str, Any]], failed: list[str]) -> list[dict[str, Any]]:
    """The ``monitor-cycle`` table: one row per model, a failed model's row says so."""
    rows = [
        {
            "model": r["model"],
            "rows": r["rows"],
            "verdict": r["verdict"],
            "drift_share": None if r["drift_share"] is None else round(r["drift_share"], 3),
            "ticket": r["ticket"],
        }
        for r in results
    ]
    return rows + [
        {"model": name, "rows": None, "verdict": "failed", "drift_share": None, "ticket": None}
        for name in failed
    ]
