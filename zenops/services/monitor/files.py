"""The files a monitoring step takes in: label files, files it cannot read, scored rows.

- Label files are read once each (again when their bytes change), whatever their
  names, and checked against the champion's training classes
  (:func:`drift.labels.read_label_file`).
- A file of the batches or labels folder that is neither CSV nor Parquet is
  reported once (hidden files such as ``.gitkeep`` are left out).
- Scored rows of every batch are kept under ``.zenops/monitor/MODEL/scored`` so that
  labels arriving later can be joined to them by id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from drift.columns import PREDICTION, PROBABILITY
from drift.labels import TABLE_SUFFIXES, LabelFile, Matching, canonical_ids, digest, read_label_file
from zenops.kernel.config import ModelSpec
from zenops.kernel.paths import STATE_DIR
from zenops.ports import FileRecord
from zenops.services.monitor.wiring import MonitorWorkspace

__all__ = [
    "BATCHES",
    "Intake",
    "LABELS",
    "folder_files",
    "keep_scored",
    "kept_columns",
    "labelled_frame",
    "scored_dir",
    "scored_index",
    "take_in",
    "unread_files",
]

BATCHES, LABELS = "batches", "labels"


@dataclass
class Intake:
    """What one step found: label files to use, refused ones, files monitoring does not read.

    ``problems`` are (file, one-line message) pairs, each a ``data_quality`` report;
    ``records`` are stored with the step's watermark so each file is handled once
    (``label_records`` only when the step's labels are stored too).
    """

    labels: list[LabelFile] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    records: list[FileRecord] = field(default_factory=list)
    label_records: list[FileRecord] = field(default_factory=list)


def folder_files(folder: Path) -> list[Path]:
    """The files of ``folder`` in name order, hidden ones (``.gitkeep``, ``.DS_Store``) left out."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def unread_files(
    workspace: MonitorWorkspace, spec: ModelSpec, seen: dict[tuple[str, str], FileRecord]
) -> Intake:
    """Files of the batches and labels folders that monitoring does not read and has not reported."""
    intake = Intake()
    for kind, folder in ((BATCHES, spec.batches), (LABELS, spec.labels)):
        for path in folder_files(workspace.path(folder)):
            if path.suffix.lower() in TABLE_SUFFIXES or (kind, path.name) in seen:
                continue
            name = _relative(workspace, path)
            message = f"{name}: not a .csv or .parquet file, so monitoring does not read it"
            intake.problems.append((name, message))
            intake.records.append(FileRecord(kind, path.name, None, "ignored", note=message))
    return intake


def take_in(
    workspace: MonitorWorkspace,
    spec: ModelSpec,
    classes: list[Any] | None,
    seen: dict[tuple[str, str], FileRecord],
    digests: dict[tuple[Path, int, int], str] | None = None,
) -> Intake:
    """The unread files, and every label file not read yet (or changed since it was read).

    ``digests`` keeps each file's md5 by (path, mtime, size) across the steps of one
    cycle, so an unchanged label file is hashed once per cycle, not once per batch.
    """
    intake = unread_files(workspace, spec, seen)
    digests = {} if digests is None else digests
    for path in folder_files(workspace.path(spec.labels)):
        if path.suffix.lower() not in TABLE_SUFFIXES:
            continue
        stat = path.stat()
        key = (path, stat.st_mtime_ns, stat.st_size)
        found = digests.get(key) or digests.setdefault(key, digest(path))
        before = seen.get((LABELS, path.name))
        if before is not None and before.digest == found:
            continue
        file = read_label_file(path, spec, classes, _relative(workspace, path), found)
        if file.ok:
            intake.labels.append(file)
            rows = 0 if file.frame is None else len(file.frame)
            intake.label_records.append(FileRecord(LABELS, path.name, file.digest, "read", rows))
        else:
            intake.problems.append((file.name, file.problem or f"{file.name}: refused"))
            intake.records.append(FileRecord(LABELS, path.name, file.digest, "refused", note=file.problem))
    return intake


def scored_dir(workspace: MonitorWorkspace, model: str) -> Path:
    return workspace.root / STATE_DIR / "monitor" / model / "scored"


def kept_columns(spec: ModelSpec, scored: pd.DataFrame) -> pd.DataFrame:
    """The columns kept of a scored batch: id, features and the model's outputs."""
    columns = [
        c for c in (spec.id_column, *spec.features.all, PREDICTION, PROBABILITY) if c in scored.columns
    ]
    return scored[columns]


def keep_scored(workspace: MonitorWorkspace, spec: ModelSpec, batch: Path, scored: pd.DataFrame) -> None:
    """Keep the scored rows so labels arriving later can be joined to them."""
    folder = scored_dir(workspace, spec.name)
    folder.mkdir(parents=True, exist_ok=True)
    kept_columns(spec, scored).to_parquet(folder / f"{batch.stem}.parquet", index=False)


def scored_index(
    workspace: MonitorWorkspace, spec: ModelSpec, current: tuple[str, pd.DataFrame]
) -> dict[str, str]:
    """Every scored id → the batch (file stem) that scored it last, the ``current`` batch included."""
    index: dict[str, str] = {}
    stem, frame = current
    for path in sorted(scored_dir(workspace, spec.name).glob("*.parquet")):
        if path.stem == stem:
            continue
        ids = pd.read_parquet(path, columns=[spec.id_column])[spec.id_column]
        index.update(dict.fromkeys(canonical_ids(ids), path.stem))
    index.update(dict.fromkeys(canonical_ids(frame[spec.id_column]), stem))
    return index


def labelled_frame(
    workspace: MonitorWorkspace, spec: ModelSpec, matching: Matching, current: tuple[str, pd.DataFrame]
) -> pd.DataFrame | None:
    """The scored rows measured at this step, joined with their labels (None: none matched)."""
    if matching.matched.empty:
        return None
    parts = []
    stem, frame = current
    for batch, group in matching.matched.groupby("batch", sort=True):
        if batch == stem:
            scored = kept_columns(spec, frame)
        else:
            scored = pd.read_parquet(scored_dir(workspace, spec.name) / f"{batch}.parquet")
        keys = canonical_ids(scored[spec.id_column])
        targets = dict(zip(group["id"], group["target"], strict=True))
        rows = scored[keys.isin(targets)].copy()
        rows[spec.target] = keys[keys.isin(targets)].map(targets).to_numpy()
        parts.append(rows)
    joined = pd.concat(parts, ignore_index=True)
    joined[spec.target] = joined[spec.target].infer_objects()
    return joined if len(joined) else None


def _relative(workspace: MonitorWorkspace, path: Path) -> str:
    try:
        return str(path.relative_to(workspace.root))
    except ValueError:
        return str(path)
