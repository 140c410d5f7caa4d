"""Delayed ground-truth labels: read by id, whatever the label files are named.

A label file holds the model's id column and target (other columns are ignored).
Monitoring reads every label file it has not read yet (a changed file is read
again), joins its rows by id with the rows it has scored, and keeps the rows that
match nothing yet: they *wait* until their batch is scored, for at most the
model's ``labels.wait``; past that they are reported once. One label counts per
id: a later label of an id replaces an earlier one, and the replacement is noted.

Pure pandas: the rules of reading and matching, no store. The monitoring state
(:mod:`zenops.adapters.monitor_state`) keeps what was read and what waits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zenops.kernel.config import ModelSpec
from zenops.kernel.errors import ZenopsError
from zenops.kernel.tabular import read_table

__all__ = [
    "EXPIRED",
    "LabelFile",
    "LabelRow",
    "MATCHED",
    "Matching",
    "TABLE_SUFFIXES",
    "WAITING",
    "canonical_ids",
    "digest",
    "label_value",
    "match_labels",
    "read_label_file",
    "restore_value",
]

TABLE_SUFFIXES = (".csv", ".parquet")
WAITING, MATCHED, EXPIRED = "waiting", "matched", "expired"
_EXAMPLES = 3


@dataclass(frozen=True)
class LabelRow:
    """One labelled id as stored: ``target`` as :func:`label_value` text, ``batch`` the
    scored batch (file stem) it matched, ``status`` waiting, matched or expired."""

    row_id: str
    target: str
    source: str
    arrived: datetime
    batch: str | None
    status: str


@dataclass
class LabelFile:
    """One label file as read: its rows by canonical id, or the one-line problem that refused it.

    ``frame`` has the columns ``id`` (canonical text), ``target`` (the value as
    given) and ``raw_id`` (the id as given); ``repeated`` counts ids the file itself
    labels more than once (its last row of each wins).
    """

    name: str
    digest: str
    frame: pd.DataFrame | None = None
    problem: str | None = None
    column: str | None = None
    repeated: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None


def digest(path: Path) -> str:
    """The md5 of a file's bytes: a label file that changes is read again."""
    md5 = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            md5.update(block)
    return md5.hexdigest()


def canonical_ids(values: pd.Series) -> pd.Series:
    """Ids as text that compares across CSV and Parquet: ``7``, ``7.0`` and ``"7"`` are one id."""
    return values.map(_id_text, na_action="ignore").astype(object)


def _id_text(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def label_value(value: Any) -> str:
    """A target value as stored text (restored by :func:`restore_value`)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return f"b:{int(value)}"
    if isinstance(value, int):
        return f"i:{value}"
    if isinstance(value, float):
        return f"f:{value!r}"
    return f"s:{value}"


def restore_value(text: str) -> Any:
    """The target value :func:`label_value` stored."""
    kind, _, rest = text.partition(":")
    if kind == "b":
        return bool(int(rest))
    if kind == "i":
        return int(rest)
    if kind == "f":
        return float(rest)
    return rest


def read_label_file(
    path: Path, spec: ModelSpec, classes: list[Any] | None, name: str, found: str | None = None
) -> LabelFile:
    """Read and check one label file; never raises on a bad file.

    Refused, with one line naming the file and the column: an unreadable file, a
    missing id or target column, ids without values, a regression target that is
    not a number, a classification target outside ``classes`` (the training data's
    classes). An empty file is read as no labels. ``found``: the file's md5 when the
    caller has it already.
    """
    found = found or digest(path)
    try:
        frame = read_table(path, label=name)
    except ZenopsError as error:
        if str(error).endswith(("the file is empty", "the file has no rows")):
            empty = pd.DataFrame({"id": [], "raw_id": [], "target": []})
            return LabelFile(name, found, frame=empty, notes=[f"{name}: no label rows"])
        return LabelFile(name, found, problem=str(error))
    except Exception as error:  # any reader failure on arbitrary bytes is a bad file, not a crash
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        return LabelFile(name, found, problem=f"{name}: unreadable ({first})")
    frame.columns = [str(c) for c in frame.columns]
    for role, column in (("id column", spec.id_column), ("target", spec.target)):
        if column not in frame.columns:
            return LabelFile(
                name, found, problem=f"{name}: label file lacks the {role} '{column}'", column=column
            )
    ids, target = frame[spec.id_column], frame[spec.target]
    if ids.isna().any():
        return LabelFile(
            name,
            found,
            problem=f"{name}: column '{spec.id_column}' has {int(ids.isna().sum())} rows without an id",
            column=spec.id_column,
        )
    labelled = target.notna()
    ids, target = ids[labelled], target[labelled]
    problem = _target_problem(target, spec, classes, name)
    if problem:
        return LabelFile(name, found, problem=problem, column=spec.target)
    if spec.task == "regression":
        target = pd.to_numeric(target).astype(float)
    elif classes is not None:
        target = _as_classes(target, classes)
    out = pd.DataFrame(
        {"id": canonical_ids(ids).to_numpy(), "raw_id": ids.to_numpy(), "target": target.to_numpy()}
    )
    repeated = int(out["id"].duplicated().sum())
    out = out.drop_duplicates("id", keep="last").reset_index(drop=True)
    notes = []
    if repeated:
        notes.append(
            f"{name}: {repeated} ids labelled more than once in the file; the last label of each counts"
        )
    return LabelFile(name, found, frame=out, repeated=repeated, notes=notes)


def _target_problem(target: pd.Series, spec: ModelSpec, classes: list[Any] | None, name: str) -> str | None:
    if spec.task == "regression":
        converted = pd.to_numeric(target, errors="coerce")
        bad = target[converted.isna() | ~np.isfinite(converted.astype(float).fillna(0.0))]
        if len(bad):
            return f"{name}: column '{spec.target}' has values that are not finite numbers ({_examples(bad)})"
        return None
    if classes is None:
        return None
    known = {_id_text(c) for c in classes}
    bad = target[~target.map(_id_text).isin(known)]
    if len(bad):
        shown = ", ".join(repr(c) for c in classes)
        return (
            f"{name}: column '{spec.target}' has values outside the training classes {shown} "
            f"({_examples(bad)})"
        )
    return None


def _as_classes(target: pd.Series, classes: list[Any]) -> pd.Series:
    """Targets in the training data's representation (``"1"`` in a CSV is the class ``1``)."""
    by_text = {_id_text(c): c for c in classes}
    return target.map(lambda v: by_text[_id_text(v)]).astype(object).infer_objects()


def _examples(values: pd.Series) -> str:
    unique = pd.unique(values.astype(str))[:_EXAMPLES]
    shown = ", ".join(f"'{v}'" for v in unique)
    return shown + (", …" if values.astype(str).nunique() > _EXAMPLES else "")


@dataclass
class Matching:
    """What one step's labels give.

    ``matched``: the ids measured at this step, with ``target`` and the ``batch``
    (scored file stem) they matched; ``rows``: the label rows to store;
    ``notes``: what the record should say (relabelled ids, repeats);
    ``expired``: per label file, the ids that waited past ``labels.wait``.
    """

    matched: pd.DataFrame
    rows: list[LabelRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    expired: dict[str, list[str]] = field(default_factory=dict)


def match_labels(
    arrivals: Sequence[LabelFile],
    stored: dict[str, LabelRow],
    waiting: Sequence[LabelRow],
    scored: dict[str, str],
    *,
    now: datetime,
    wait: timedelta,
) -> Matching:
    """Join new and waiting labels with the scored ids, by id only.

    ``arrivals``: label files read at this step, in the order they were read (a
    later file's label of an id wins); ``stored``: the stored rows of the arrivals'
    ids; ``waiting``: every stored waiting row; ``scored``: scored id → batch.
    An id already measured is not measured again: a new label replaces its stored
    one and the replacement is noted. A waiting row older than ``wait`` expires.
    """
    notes: list[str] = []
    frames = [f.frame.assign(source=f.name) for f in arrivals if f.frame is not None and len(f.frame)]
    for file in arrivals:
        notes.extend(file.notes)
    new = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["id", "target", "source"])
    across = new["id"].duplicated(keep="last")
    if across.any():
        notes.append(
            f"labels: {int(across.sum())} ids labelled in more than one new file; the later label counts"
        )
    new = new[~across]
    rows: list[LabelRow] = []
    matched: list[tuple[str, Any, str]] = []
    relabelled: dict[str, int] = {}
    for row_id, target, source in zip(new["id"], new["target"], new["source"], strict=True):
        before = stored.get(row_id)
        value = label_value(target)
        if before is not None and before.status == MATCHED:
            if before.target != value or before.source != source:
                relabelled[source] = relabelled.get(source, 0) + 1
            rows.append(replace(before, target=value, source=source))
        elif row_id in scored:
            matched.append((row_id, target, scored[row_id]))
            rows.append(LabelRow(row_id, value, source, now, scored[row_id], MATCHED))
        else:
            rows.append(LabelRow(row_id, value, source, now, None, WAITING))
    for source, count in sorted(relabelled.items()):
        notes.append(
            f"labels: {source} labels again {count} ids already measured; the later label is kept, "
            "not counted twice"
        )
    arriving = set(new["id"])
    expired: dict[str, list[str]] = {}
    for row in waiting:
        if row.row_id in arriving:
            continue
        if row.row_id in scored:
            matched.append((row.row_id, restore_value(row.target), scored[row.row_id]))
            rows.append(replace(row, batch=scored[row.row_id], status=MATCHED))
        elif row.arrived + wait <= now:
            expired.setdefault(row.source, []).append(row.row_id)
            rows.append(replace(row, status=EXPIRED))
    frame = pd.DataFrame(matched, columns=["id", "target", "batch"])
    return Matching(matched=frame, rows=rows, notes=notes, expired=expired)
