"""Training populations, daily production batches with delayed labels, and their files."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from zenops.app.demo.datagen.populations import POPULATIONS, DemoModel, demo_model
from zenops.app.demo.datagen.schedule import PRODUCTION_START, DriftSchedule
from zenops.kernel.errors import UsageError

TRAINING_START = date(2024, 1, 1)
"""First day of the default training period (it ends the day before ``PRODUCTION_START``)."""

# Ids are PREFIX + YYYYMMDD + a 6-digit counter within the day: training and production
# rows of different days never share an id, and counters from MALFORMED_ID_START up are
# kept for malformed batches.
MAX_ROWS_PER_DAY = 900_000
MALFORMED_ID_START = 900_000

_MODEL_KEY = {"loan-default": 1, "demand-forecast": 2}
TRAINING, PRODUCTION, MALFORMED, WIDE = 0, 1, 2, 3


def derived_rng(seed: int, model: str | None, purpose: int, *keys: int) -> np.random.Generator:
    """An independent generator for one model, one purpose and one day, derived from ``seed``."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UsageError(f"seed must be a non-negative integer, not {seed!r}")
    model_key = _MODEL_KEY[model] if model is not None else 0
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(model_key, purpose, *keys)))


@dataclass(frozen=True)
class DailyBatch:
    """One production day: the batch the model scores and the labels that follow it.

    ``features`` holds id, timestamp and features (no target); ``labels`` holds id and
    target for the same rows, which arrive ``label_delay_days`` after ``day``.
    ``covariate_level`` and ``concept_level`` record the drift the day was drawn with.
    """

    day: date
    index: int
    features: pd.DataFrame = field(repr=False)
    labels: pd.DataFrame = field(repr=False)
    label_delay_days: int
    covariate_level: float
    concept_level: float

    @property
    def labels_arrive(self) -> date:
        """The day this batch's labels become available."""
        return self.day + timedelta(days=self.label_delay_days)

    def labelled(self) -> pd.DataFrame:
        """Features and target together, as fresh training data."""
        id_column = self.labels.columns[0]
        return self.features.merge(self.labels, on=id_column, how="left", validate="one_to_one")


def training_frame(
    model: str,
    rows: int = 10_000,
    seed: int = 0,
    start: date = TRAINING_START,
    end: date = PRODUCTION_START,
) -> pd.DataFrame:
    """The historical training population of ``model``: id, timestamp, features and target.

    Timestamps are spread evenly over the days from ``start`` up to (not including)
    ``end``, the first production day. The process is the one of a stable production
    day, so a drift detector comparing the two should stay quiet.
    """
    spec = demo_model(model)
    n_days = (end - start).days
    if n_days < 1:
        raise UsageError(f"training period is empty: start {start} is not before end {end}")
    _check_rows(rows, n_days * MAX_ROWS_PER_DAY)
    rng = derived_rng(seed, model, TRAINING)
    frame = POPULATIONS[model](rng, rows)
    day_offsets = rng.integers(0, n_days, rows)
    days = np.datetime64(start, "D") + day_offsets.astype("timedelta64[D]")
    return assemble(spec, frame, days, time_of_day(spec, rng, rows))


def production_stream(
    model: str,
    days: int = 30,
    rows_per_day: int = 500,
    seed: int = 0,
    schedule: DriftSchedule | None = None,
    start: date = PRODUCTION_START,
) -> list[DailyBatch]:
    """``days`` daily production batches of ``model`` from ``start``, drifting as ``schedule`` says.

    ``schedule`` defaults to :class:`DriftSchedule()` (stable 10 days, covariate drift
    ramping over days 10–14, concept drift from day 20, labels 3 days late); use
    :meth:`DriftSchedule.stable` for none. Each day draws from its own generator,
    keyed by seed, model and date, so a day's rows do not depend on how many days are
    asked for, and the same day under another schedule holds the same rows, moved.
    """
    spec = demo_model(model)
    schedule = schedule if schedule is not None else DriftSchedule()
    if days < 0:
        raise UsageError(f"days must be >= 0, not {days}")
    _check_rows(rows_per_day, MAX_ROWS_PER_DAY)
    batches = []
    for index in range(days):
        day = start + timedelta(days=index)
        covariate, concept = schedule.covariate_level(index), schedule.concept_level(index)
        rng = derived_rng(seed, model, PRODUCTION, day.toordinal())
        frame = POPULATIONS[model](rng, rows_per_day, covariate, concept, kind=schedule.covariate_kind)
        day_values = np.full(rows_per_day, np.datetime64(day, "D"))
        frame = assemble(spec, frame, day_values, time_of_day(spec, rng, rows_per_day))
        batches.append(
            DailyBatch(
                day=day,
                index=index,
                features=frame[spec.feature_columns].reset_index(drop=True),
                labels=frame[[spec.id_column, spec.target]].reset_index(drop=True),
                label_delay_days=schedule.label_delay_days,
                covariate_level=covariate,
                concept_level=concept,
            )
        )
    return batches


@dataclass(frozen=True)
class StreamFiles:
    """The files :func:`write_stream` wrote, each list in name (= time) order."""

    batches: list[Path]
    labels: list[Path]


def write_stream(
    batches: Iterable[DailyBatch],
    batches_dir: str | Path,
    labels_dir: str | Path,
    fmt: str = "csv",
    through: date | None = None,
    label_name: Callable[[date], str] | None = None,
    since: date | None = None,
) -> StreamFiles:
    """Write each batch as ``batches_dir/YYYY-MM-DD.<fmt>`` and its labels to ``labels_dir``.

    Label files hold the labels that *arrive* on one day (batch day + label delay),
    so a replay that copies everything up to "today" sees exactly what would have
    arrived by then. They are named ``YYYY-MM-DD.<fmt>`` by that day, or
    ``label_name(day).<fmt>`` (monitoring joins labels by id, whatever the names).
    With ``through``, only files of days on or before it are written; with ``since``,
    only those of days on or after it (a replay day by day writes each file once).
    Existing files of the same name are replaced; folders are created.
    """
    if fmt not in ("csv", "parquet"):
        raise UsageError(f"fmt must be 'csv' or 'parquet', not '{fmt}'")
    batches_dir, labels_dir = Path(batches_dir), Path(labels_dir)
    batches_dir.mkdir(parents=True, exist_ok=True)
    labels_dir.mkdir(parents=True, exist_ok=True)
    batch_paths: list[Path] = []
    arriving: dict[date, list[pd.DataFrame]] = {}

    def wanted(day: date) -> bool:
        return (through is None or day <= through) and (since is None or day >= since)

    for batch in sorted(batches, key=lambda b: b.day):
        if wanted(batch.day):
            path = batches_dir / f"{batch.day.isoformat()}.{fmt}"
            write_frame(batch.features, path)
            batch_paths.append(path)
        if wanted(batch.labels_arrive):
            arriving.setdefault(batch.labels_arrive, []).append(batch.labels)
    label_paths = []
    for day in sorted(arriving):
        stem = label_name(day) if label_name is not None else day.isoformat()
        path = labels_dir / f"{stem}.{fmt}"
        write_frame(pd.concat(arriving[day], ignore_index=True), path)
        label_paths.append(path)
    return StreamFiles(batches=batch_paths, labels=label_paths)


def write_frame(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as CSV or Parquet by the file's suffix; timestamps as ISO 8601 in CSV.

    Date-only timestamp columns are written as ``YYYY-MM-DD``, others as
    ``YYYY-MM-DDTHH:MM:SS``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix == ".csv":
        out = frame.copy()
        for column in out.columns:
            if pd.api.types.is_datetime64_any_dtype(out[column]):
                values = out[column]
                date_only = bool((values.dropna() == values.dropna().dt.normalize()).all())
                out[column] = values.dt.strftime("%Y-%m-%d" if date_only else "%Y-%m-%dT%H:%M:%S")
        out.to_csv(path, index=False)
    else:
        raise UsageError(f"{path}: write a .csv or a .parquet file, not '{path.suffix}'")
    return path


def make_ids(prefix: str, days: np.ndarray, first: int = 1) -> np.ndarray:
    """Ids ``PREFIX + YYYYMMDD + counter`` for rows in time order; the counter restarts each day."""
    day_strings = np.datetime_as_string(days.astype("datetime64[D]"), unit="D")
    counters = np.empty(len(days), dtype=np.int64)
    if len(days):
        new_day = np.r_[True, days[1:] != days[:-1]]
        run_start = np.maximum.accumulate(np.where(new_day, np.arange(len(days)), 0))
        counters = np.arange(len(days)) - run_start + first
    return np.array(
        [f"{prefix}{d.replace('-', '')}{c:06d}" for d, c in zip(day_strings, counters, strict=True)],
        dtype=object,
    )


def assemble(
    spec: DemoModel, frame: pd.DataFrame, days: np.ndarray, seconds: np.ndarray, first_id: int = 1
) -> pd.DataFrame:
    """Add timestamps and ids, in time order, with the columns in their documented order."""
    stamps = days.astype("datetime64[D]").astype("datetime64[s]") + seconds.astype("timedelta64[s]")
    order = np.argsort(stamps, kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    stamps = stamps[order]
    frame.insert(0, spec.timestamp_column, pd.Series(stamps.astype("datetime64[us]")))
    ids = make_ids(spec.id_prefix, stamps.astype("datetime64[D]"), first=first_id)
    frame.insert(0, spec.id_column, pd.array(ids, dtype="str"))
    return frame[[*spec.feature_columns, spec.target]]


def time_of_day(spec: DemoModel, rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds after midnight: loan applications come in office hours; demand records are daily."""
    draws = rng.normal(13.5 * 3600, 3 * 3600, n)
    if spec.timestamp_column != "applied_at":
        return np.zeros(n, dtype=np.int64)
    return np.clip(np.round(draws), 0, 86_399).astype(np.int64)


def _check_rows(rows: int, limit: int) -> None:
    if not isinstance(rows, (int, np.integer)) or rows < 0 or rows > limit:
        raise UsageError(f"rows must be an integer from 0 to {limit}, not {rows!r}")
