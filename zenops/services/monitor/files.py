"""The files a monitoring step takes in: label files, files it cannot read, scored rows.

- Label files are read once each (again when their bytes change), whatever their
  names, and checked against the champion's training classes
  (:func:`drift.labels.read_label_file`).
- A file of the batches or labels folder that is neither CSV nor Parquet is
  reported once (hidden files such as ``.gitkeep`` are left out).
- Scored rows of every batch are kept under ``.zenops/monitor/MODEL/scored`` so that
  labels arriving later can be joined to them by id. The monitoring state keeps, with
  each batch's watermark, the batch that scored each id last: a step looks up only the
  ids its labels carry and reads only the scored files they match, so its cost follows
  its labels, not the model's history. A workspace whose scored files predate that
  index has it filled once, from the files of the batches the watermark has passed.
- A kept file records the champion version that scored it. Labels of rows an earlier
  champion scored are measured with the current champion's predictions (its features
  are kept), so a new champion is judged on its own outputs, never on its
  predecessor's; a reason line says so. Rows whose batch brought its own predictions
  are measured as they came.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from drift.columns import PREDICTION, PROBABILITY
from drift.labels import TABLE_SUFFIXES, LabelFile, Matching, canonical_ids, digest, read_label_file
from zenops.kernel.config import ModelSpec
from zenops.kernel.paths import STATE_DIR
from zenops.ports import Changes, FileRecord, ModelState, MonitorState, ScoredBatch
from zenops.services.monitor.wiring import MonitorWorkspace

__all__ = [
    "BATCHES",
    "Intake",
    "LABELS",
    "folder_files",
    "keep_scored",
    "kept_columns",
    "labelled_frame",
    "read_scored",
    "scored_dir",
    "scored_ids",
    "scored_index",
    "scored_version",
    "take_in",
    "unread_files",
]

BATCHES, LABELS = "batches", "labels"
SCORED_BY = b"zenops.scored_by"
"""The kept file's Parquet metadata key: the champion version whose predictions it holds."""

log = logging.getLogger("zenops.monitor")


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


def keep_scored(
    workspace: MonitorWorkspace, spec: ModelSpec, batch: Path, scored: pd.DataFrame, version: str | None
) -> ScoredBatch:
    """Keep the scored rows so labels arriving later can be joined to them.

    ``version``: the champion version that scored them (None: the batch brought its
    own predictions), recorded in the file's metadata. Returns the batch's ids, which
    the caller stores with the batch's watermark (:class:`~zenops.ports.Changes`
    ``scored``): until then no label is joined to the file, so a step that fails after
    this leaves no claim that the batch was scored.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = scored_dir(workspace, spec.name)
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(kept_columns(spec, scored), preserve_index=False)
    if version is not None:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), SCORED_BY: version.encode()})
    pq.write_table(table, folder / f"{batch.stem}.parquet")
    return ScoredBatch(batch.stem, scored_ids(spec, scored))


def scored_version(workspace: MonitorWorkspace, spec: ModelSpec, batch: str) -> str | None:
    """The champion version that scored the kept rows of ``batch`` (None: not recorded, or the
    batch's own predictions)."""
    import pyarrow.parquet as pq

    metadata = pq.read_schema(scored_dir(workspace, spec.name) / f"{batch}.parquet").metadata or {}
    found = metadata.get(SCORED_BY)
    return found.decode() if found else None


def scored_ids(spec: ModelSpec, scored: pd.DataFrame) -> tuple[str, ...]:
    """The canonical ids of a scored frame, once each, in row order (rows without an id left out)."""
    return tuple(dict.fromkeys(canonical_ids(scored[spec.id_column]).dropna()))


def read_scored(
    workspace: MonitorWorkspace, spec: ModelSpec, batch: str, columns: list[str] | None = None
) -> pd.DataFrame:
    """The scored rows kept of ``batch`` (a file stem): every read of a kept file goes through here."""
    return pd.read_parquet(scored_dir(workspace, spec.name) / f"{batch}.parquet", columns=columns)


def scored_index(
    workspace: MonitorWorkspace,
    spec: ModelSpec,
    states: MonitorState,
    state: ModelState,
    ids: list[str],
    current: tuple[str, pd.DataFrame],
) -> dict[str, str]:
    """Each of ``ids`` scored → the batch (file stem) that scored it last, the ``current`` batch included.

    The stored batches are looked up by id (:meth:`~zenops.ports.MonitorState.scored`);
    one whose kept file is gone scores nothing. ``state``: the stored watermark (in a
    workspace made before the index, the first step indexes the batches it passed).
    """
    _fill_index(workspace, spec, states, state)
    stem, frame = current
    found = {i: b for i, b in states.scored(spec.name, ids).items() if b != stem}
    folder = scored_dir(workspace, spec.name)
    kept = {b for b in set(found.values()) if (folder / f"{b}.parquet").is_file()}
    index = {i: b for i, b in found.items() if b in kept}
    index.update(dict.fromkeys(scored_ids(spec, frame), stem))
    return index


def _fill_index(
    workspace: MonitorWorkspace, spec: ModelSpec, states: MonitorState, state: ModelState
) -> None:
    """Index the scored files of a workspace made before the index, once, with its watermark.

    Only the files of batches the watermark has passed are taken: a later one is left
    by a step that did not finish, and is written again when its batch is.
    """
    if state.last_batch is None or states.has_scored(spec.name):
        return
    passed = [
        path.stem
        for path in sorted(scored_dir(workspace, spec.name).glob("*.parquet"))
        if _passed(path.stem, state.last_batch)
    ]
    if not passed:
        return
    batches = [
        ScoredBatch(stem, scored_ids(spec, read_scored(workspace, spec, stem, [spec.id_column])))
        for stem in passed
    ]
    states.advance(state, Changes(scored=batches))
    log.info("%s: indexed the ids of %d scored batches kept before the index", spec.name, len(batches))


def _passed(stem: str, watermark: str) -> bool:
    """Whether the batch of file stem ``stem`` sorts at or before the watermark's batch.

    Its name is the stem and a table suffix, and ``.CSV`` sorts before every other one
    (``.csv``, ``.parquet``, in any case): every batch the watermark passed is taken, and
    a later one only when the watermark's batch has the same stem, so the same file.
    """
    return f"{stem}.CSV" <= watermark


@dataclass(frozen=True)
class Rescoring:
    """The current champion's version and how it scores rows (features in, kept columns out)."""

    version: str
    score: Callable[[pd.DataFrame], pd.DataFrame]


def labelled_frame(
    workspace: MonitorWorkspace,
    spec: ModelSpec,
    matching: Matching,
    current: tuple[str, pd.DataFrame],
    rescoring: Rescoring | None = None,
) -> tuple[pd.DataFrame | None, list[str]]:
    """The scored rows measured at this step, joined with their labels (None: none matched), and
    a reason line per earlier batch whose rows an earlier champion scored: with ``rescoring``
    they are measured with the current champion's predictions."""
    if matching.matched.empty:
        return None, []
    parts, notes = [], []
    stem, frame = current
    for batch, group in matching.matched.groupby("batch", sort=True):
        scored = kept_columns(spec, frame) if batch == stem else read_scored(workspace, spec, batch)
        keys = canonical_ids(scored[spec.id_column])
        targets = dict(zip(group["id"], group["target"], strict=True))
        rows = scored[keys.isin(targets)].copy()
        if batch != stem and rescoring is not None:
            before = scored_version(workspace, spec, batch)
            if before is not None and before != rescoring.version:
                rows = rescoring.score(rows.drop(columns=[PREDICTION, PROBABILITY], errors="ignore"))
                notes.append(
                    f"{len(rows)} labelled rows of batch {batch}, scored by version {before}, are measured "
                    f"with the predictions of the champion, version {rescoring.version}"
                )
        rows[spec.target] = keys[keys.isin(targets)].map(targets).to_numpy()
        parts.append(rows)
    joined = pd.concat(parts, ignore_index=True)
    joined[spec.target] = joined[spec.target].infer_objects()
    return (joined if len(joined) else None), notes


def _relative(workspace: MonitorWorkspace, path: Path) -> str:
    try:
        return str(path.relative_to(workspace.root))
    except ValueError:
        return str(path)
