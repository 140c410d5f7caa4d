"""Evidently's reports of a batch already monitored, built again from its versioned inputs.

A cycle builds Evidently's reports only for the batches whose report it keeps
(``monitoring.html_reports``); the verdict of every batch comes from the exact tests.
Any batch can have its reports later, with the same numbers: both inputs are kept and
versioned — the reference sample is the champion profile of the version that judged the
batch (hash-checked, :mod:`zenops.services.champion_profile`), and the batch's scored
rows are kept under ``.zenops/monitor/MODEL/scored/``. The drift and data summary reports
are therefore the ones the cycle would have kept; the quality report is measured on the
labels stored for the batch's rows now (more may have arrived since the cycle).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from drift.labels import MATCHED, canonical_ids, restore_value
from registry import lineage
from zenops.kernel.config import ModelSpec
from zenops.kernel.errors import NotFoundError
from zenops.kernel.paths import STATE_DIR
from zenops.services.champion_profile import champion_profile
from zenops.services.monitor.files import kept_columns, scored_dir
from zenops.services.monitor.wiring import MonitorWorkspace

__all__ = ["rebuild_report"]


def rebuild_report(
    workspace: MonitorWorkspace, spec: ModelSpec, batch: str | None = None, folder: Path | None = None
) -> dict[str, Any]:
    """Write the reports of ``batch`` (a file name or stem; default: the newest monitored batch).

    Returns ``model``, ``batch``, ``champion_version``, ``profile`` (its hash),
    ``rows``, ``labelled_rows``, ``drift`` (each column's p-value, as the verdict had it)
    and ``files``. An unknown batch, or one that was refused and so has no scored rows,
    is a NotFoundError naming it.
    """
    name, tags = _monitored(workspace, spec, batch)
    stem = Path(name).stem
    scored_file = scored_dir(workspace, spec.name) / f"{stem}.parquet"
    if not scored_file.is_file():
        raise NotFoundError(
            f"{spec.name}: batch {name} has no scored rows ({scored_file} is missing): "
            f"its verdict was {tags.get('zenops.verdict', 'not recorded')}, so there is nothing to report on"
        )
    version = tags.get("zenops.champion.version") or ""
    info = workspace.registry().version(spec.name, version)
    profile = champion_profile(workspace, spec, info)
    scored = pd.read_parquet(scored_file)
    labelled = _labelled(workspace, spec, stem, scored)
    report = workspace.report_engine().measure(profile.reference, scored, spec, labelled=labelled)
    folder = folder or workspace.root / STATE_DIR / "reports" / spec.name / stem
    folder.mkdir(parents=True, exist_ok=True)
    snapshot = folder / "snapshot.json"
    snapshot.write_text(report.report_json, encoding="utf-8")
    files = [snapshot, *report.save_html(folder / "report.html")]
    return {
        "model": spec.name,
        "batch": name,
        "champion_version": version,
        "profile": profile.sha256,
        "rows": report.rows,
        "labelled_rows": report.labelled_rows,
        "drift": {c.column: c.p_value for c in report.features},
        "files": [str(path) for path in files],
    }


def _monitored(workspace: MonitorWorkspace, spec: ModelSpec, batch: str | None) -> tuple[str, dict[str, str]]:
    """The batch's name and its monitoring run's tags (the newest run for the batch)."""
    runs = workspace.registry().runs_with_tags(spec.name, {lineage.RUN_KIND: "monitoring"})
    by_batch: dict[str, dict[str, str]] = {}
    for _, tags in runs:  # oldest first: a batch's newest run wins
        if tags.get("zenops.batch"):
            by_batch[tags["zenops.batch"]] = tags
    if not by_batch:
        raise NotFoundError(f"{spec.name}: no batch has been monitored yet; run 'zenops monitor {spec.name}'")
    if batch is None:
        scored = [
            n for n in by_batch if (scored_dir(workspace, spec.name) / f"{Path(n).stem}.parquet").is_file()
        ]
        name = max(scored or by_batch)
        return name, by_batch[name]
    for name, tags in by_batch.items():
        if batch in (name, Path(name).stem):
            return name, tags
    known = ", ".join(sorted(by_batch)[-3:])
    raise NotFoundError(f"{spec.name}: no monitored batch named '{batch}' (the latest: {known})")


def _labelled(
    workspace: MonitorWorkspace, spec: ModelSpec, stem: str, scored: pd.DataFrame
) -> pd.DataFrame | None:
    """The batch's scored rows whose labels are stored as matched to it, with their target."""
    keys = canonical_ids(scored[spec.id_column])
    stored = workspace.monitor_state().labels(spec.name, ids=keys.dropna().tolist())
    targets = {r.row_id: restore_value(r.target) for r in stored if r.status == MATCHED and r.batch == stem}
    if not targets:
        return None
    labelled = kept_columns(spec, scored)[keys.isin(targets)].copy()
    labelled[spec.target] = keys[keys.isin(targets)].map(targets).to_numpy()
    labelled[spec.target] = labelled[spec.target].infer_objects()
    return labelled if len(labelled) else None
