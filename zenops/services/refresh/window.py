"""The labelled production rows a refresh adds, and the recent window it holds out for the comparison.

Production rows are the batch files in ``batches`` that pass the monitor's checks,
joined on the id column with the label files in ``labels`` (by id whatever the file
names, the later label wins: the label rule monitoring uses); ids already in the
champion's data are not added again. The most recent labelled days
(``promotion.window_days``, else the holdout share of the rows) are the comparison
window, which the challenger never trains on. The refreshed training set is the
champion's data plus the rows before the window (``promotion.train_window_days`` may
keep only recent rows).

All but :func:`production_rows`, which reads the two folders, are pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from drift.batches import check_batch
from drift.labels import TABLE_SUFFIXES, canonical_ids, read_label_file
from zenops.kernel.config import ModelSpec
from zenops.kernel.errors import DataError
from zenops.services.monitor.files import folder_files
from zenops.services.refresh.context import RefreshPorts

__all__ = [
    "WindowSplit",
    "candidate_window",
    "hold_out",
    "production_rows",
    "refreshed_training_set",
    "split_window",
    "timestamps",
]


@dataclass
class WindowSplit:
    """Labelled production rows split at the comparison window.

    ``train`` may join the training set; ``compare`` is the window (the challenger
    never trains on it); ``start``/``end`` are its first and last day.
    """

    train: pd.DataFrame
    compare: pd.DataFrame
    start: date | None
    end: date | None
    #: Why no row can be compared on, when none can (the gate's reason).
    why_empty: str = "no labelled production rows since the champion's data"

    @property
    def days(self) -> int:
        return 0 if self.start is None or self.end is None else (self.end - self.start).days + 1

    def describe(self) -> dict[str, Any]:
        return {
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "days": self.days,
            "rows": len(self.compare),
        }


def timestamps(values: pd.Series) -> pd.Series:
    """A timestamp column as naive UTC datetimes (aware values converted, naive read as UTC)."""
    parsed = pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
    return parsed.dt.tz_convert(None)


def _table_files(folder: Path) -> list[Path]:
    """The CSV and Parquet files of ``folder`` in name order, as monitoring takes them."""
    return [p for p in folder_files(folder) if p.suffix.lower() in TABLE_SUFFIXES]


def production_rows(
    ports: RefreshPorts, spec: ModelSpec, reference: pd.DataFrame
) -> tuple[pd.DataFrame, list[str]]:
    """Labelled production rows: valid batches joined with the label files on the id column.

    Batches failing the monitor's checks are skipped (a note names each); ids already
    in ``reference`` (the champion's data) are left out. Returns the rows (id,
    timestamp, features, target) in time order, and the notes.
    """
    notes: list[str] = []
    frames = _batch_frames(ports, spec, reference, notes)
    labels = _label_frames(ports, spec, reference, notes)
    if not frames or not labels:
        columns = [spec.id_column, spec.timestamp_column, *spec.features.all, spec.target]
        return pd.DataFrame(columns=columns), notes
    return _joined(spec, frames, labels, reference), notes


def _batch_frames(
    ports: RefreshPorts, spec: ModelSpec, reference: pd.DataFrame, notes: list[str]
) -> list[pd.DataFrame]:
    root = ports.workspace.root
    columns = [spec.id_column, spec.timestamp_column, *spec.features.all]
    frames = []
    for path in _table_files(ports.workspace.path(spec.batches)):
        name = str(path.relative_to(root))
        check = check_batch(path, spec, reference, label=name)
        if not check.ok or check.frame is None:
            notes.append(f"skipped batch {name}: {check.messages[0] if check.messages else 'invalid'}")
            continue
        frames.append(check.frame[columns])
    return frames


def _label_frames(
    ports: RefreshPorts, spec: ModelSpec, reference: pd.DataFrame, notes: list[str]
) -> list[pd.DataFrame]:
    classes = None
    if spec.task == "classification" and spec.target in reference.columns:
        classes = sorted(reference[spec.target].dropna().unique().tolist())
    labels = []
    for path in _table_files(ports.workspace.path(spec.labels)):
        file = read_label_file(path, spec, classes, str(path.relative_to(ports.workspace.root)))
        if not file.ok or file.frame is None:
            notes.append(f"skipped label file {file.problem}")
            continue
        labels.append(file.frame[["id", "target"]])
    return labels


def _joined(
    spec: ModelSpec, frames: list[pd.DataFrame], labels: list[pd.DataFrame], reference: pd.DataFrame
) -> pd.DataFrame:
    """Batches and labels joined by id (the later label wins), known ids out, in time order."""
    batches = pd.concat(frames, ignore_index=True).drop_duplicates(spec.id_column, keep="last")
    targets = pd.concat(labels, ignore_index=True).drop_duplicates("id", keep="last")
    batches["id"] = canonical_ids(batches[spec.id_column])
    rows = batches.merge(targets.rename(columns={"target": spec.target}), on="id", how="inner")
    rows = rows.drop(columns=["id"])
    rows[spec.id_column] = rows[spec.id_column].astype(str)
    known = set(reference[spec.id_column].astype(str)) if spec.id_column in reference.columns else set()
    rows = rows[~rows[spec.id_column].isin(known)].copy()
    rows[spec.timestamp_column] = timestamps(rows[spec.timestamp_column])
    rows = rows.dropna(subset=[spec.timestamp_column])
    return rows.sort_values(spec.timestamp_column, kind="stable").reset_index(drop=True)


def hold_out(spec: ModelSpec, rows: pd.DataFrame) -> WindowSplit:
    """The step: :func:`split_window` of the gathered rows."""
    return split_window(rows, spec)


def split_window(rows: pd.DataFrame, spec: ModelSpec) -> WindowSplit:
    """Hold out the most recent labelled window (``promotion.window_days``; see the config)."""
    if rows.empty:
        return WindowSplit(rows, rows.iloc[0:0], None, None)
    day = timestamps(rows[spec.timestamp_column]).dt.normalize()
    days = sorted(day.unique())
    window_days = spec.promotion.window_days
    if window_days is not None:
        start = days[-1] - pd.Timedelta(days=window_days - 1)
    else:
        counts = day.value_counts()
        wanted, held, start = spec.holdout_fraction * len(rows), 0, days[-1]
        for candidate in reversed(days):
            held += int(counts[candidate])
            start = candidate
            if held >= wanted:
                break
    inside = day >= start
    return WindowSplit(
        train=rows[~inside].reset_index(drop=True),
        compare=rows[inside].reset_index(drop=True),
        start=pd.Timestamp(start).date(),
        end=pd.Timestamp(days[-1]).date(),
    )


def candidate_window(rows: pd.DataFrame, spec: ModelSpec, trained_until: Any) -> WindowSplit:
    """The labelled rows a candidate never saw that are newer than its training data's newest row.

    ``rows`` are production rows whose ids the candidate's data does not hold;
    ``trained_until`` is the newest timestamp of that data (None: every row counts). With
    ``promotion.window_days``, only the most recent that many days are kept. Nothing is
    trained on the rows, so the whole window is compared on.
    """
    since = ""
    if trained_until is not None and not pd.isna(trained_until):
        rows = rows[timestamps(rows[spec.timestamp_column]) > pd.Timestamp(trained_until)]
        since = f" (its newest row is of {pd.Timestamp(trained_until):%Y-%m-%d %H:%M})"
    if rows.empty:
        why = f"no labelled production rows newer than the candidate's training data{since}"
        return WindowSplit(rows, rows.iloc[0:0], None, None, why_empty=why)
    day = timestamps(rows[spec.timestamp_column]).dt.normalize()
    days = sorted(day.unique())
    start = days[0]
    if spec.promotion.window_days is not None:
        start = max(start, days[-1] - pd.Timedelta(days=spec.promotion.window_days - 1))
    return WindowSplit(
        train=rows.iloc[0:0],
        compare=rows[day >= start].reset_index(drop=True),
        start=pd.Timestamp(start).date(),
        end=pd.Timestamp(days[-1]).date(),
    )


def refreshed_training_set(champion_data: pd.DataFrame, split: WindowSplit, spec: ModelSpec) -> pd.DataFrame:
    """The champion's data plus the production rows before the window, in the champion's columns.

    Ids repeated keep their latest row. With ``promotion.train_window_days``, only
    rows from that many days before the window's start are kept.
    """
    columns = list(champion_data.columns)
    for column in spec.columns:
        if column not in columns:
            columns.append(column)
    old = champion_data.reindex(columns=columns).copy()
    old[spec.timestamp_column] = timestamps(old[spec.timestamp_column])
    new = split.train.reindex(columns=columns)
    frame = pd.concat([old, new], ignore_index=True) if len(new) else old
    frame[spec.id_column] = frame[spec.id_column].astype(str)
    frame = frame.drop_duplicates(spec.id_column, keep="last")
    keep_days = spec.promotion.train_window_days
    if keep_days is not None and split.start is not None:
        since = pd.Timestamp(split.start) - pd.Timedelta(days=keep_days)
        frame = frame[frame[spec.timestamp_column] >= since]
    if frame.empty:
        raise DataError(
            f"model '{spec.name}': the refreshed training set is empty "
            f"(promotion.train_window_days {keep_days} before {split.start})"
        )
    return frame.sort_values(spec.timestamp_column, kind="stable").reset_index(drop=True)
