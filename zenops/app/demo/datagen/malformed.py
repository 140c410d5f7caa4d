"""Bad production batches, one kind of fault each, for the demo and for tests.

Every kind starts from a clean stable-day batch (id, timestamp, features; no
target) and breaks exactly one thing:

==================  ======================================================  ==========================
kind                what is wrong                                           default column
==================  ======================================================  ==========================
missing_column      one feature column is absent                            income / price
extra_column        one column the model does not know is added             broker_code / promo_code
wrong_type          a numerical column holds text ("52k", "8,49")           income / price
all_null_column     one feature column is entirely null                     credit_score / temperature
unseen_category     25% of rows hold a category absent from training        region ("central") /
                                                                            store_type ("kiosk")
empty               the header only, no rows                                –
unreadable          bytes that are neither CSV nor Parquet (returns bytes)  –
==================  ======================================================  ==========================

(Defaults are given as loan-default / demand-forecast.) Frames carry
``attrs["malformed"]`` and ``attrs["column"]`` naming the kind and the column.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from zenops.app.demo.datagen.populations import POPULATIONS, demo_model
from zenops.app.demo.datagen.schedule import PRODUCTION_START
from zenops.app.demo.datagen.stream import (
    MALFORMED,
    MALFORMED_ID_START,
    assemble,
    derived_rng,
    time_of_day,
    write_frame,
)
from zenops.kernel.errors import UsageError

MALFORMED_KINDS = (
    "missing_column",
    "extra_column",
    "wrong_type",
    "all_null_column",
    "unseen_category",
    "empty",
    "unreadable",
)

UNSEEN_SHARE = 0.25
"""Share of rows that get the unseen category in an ``unseen_category`` batch."""

_DEFAULT_COLUMN = {
    "loan-default": {
        "missing_column": "income",
        "extra_column": "broker_code",
        "wrong_type": "income",
        "all_null_column": "credit_score",
        "unseen_category": "region",
    },
    "demand-forecast": {
        "missing_column": "price",
        "extra_column": "promo_code",
        "wrong_type": "price",
        "all_null_column": "temperature",
        "unseen_category": "store_type",
    },
}
_UNSEEN_VALUE = {"region": "central", "store_type": "kiosk"}


def malformed_batch(
    model: str,
    kind: str,
    seed: int = 0,
    rows: int = 200,
    day: date = PRODUCTION_START,
    column: str | None = None,
) -> pd.DataFrame | bytes:
    """A production batch of ``model`` broken in one way, ``kind`` (see :data:`MALFORMED_KINDS`).

    Returns a DataFrame, except for ``unreadable`` which returns raw bytes; write
    either with :func:`write_malformed`. ``column`` overrides the column the fault
    is put in (not used by ``empty`` and ``unreadable``). Ids use counters from
    900000 on, so they never collide with the production batch of the same day.
    """
    spec = demo_model(model)
    if kind not in MALFORMED_KINDS:
        raise UsageError(f"unknown malformed kind '{kind}' (kinds: {', '.join(MALFORMED_KINDS)})")
    rng = derived_rng(seed, model, MALFORMED, day.toordinal(), MALFORMED_KINDS.index(kind))
    if kind == "unreadable":
        # A binary header, NUL bytes and invalid UTF-8: no CSV reader and no Parquet reader accepts it.
        return b"\x89ZENOPS\x00\xff\xfe\r\n" + rng.integers(0, 256, 512, dtype=np.uint8).tobytes()
    frame = _clean_batch(model, rng, rows, day)
    target = column or _DEFAULT_COLUMN[model].get(kind)
    if kind == "empty":
        frame = frame.iloc[0:0]
    elif kind == "missing_column":
        _require(frame, target, kind)
        frame = frame.drop(columns=[target])
    elif kind == "extra_column":
        if target in frame.columns:
            raise UsageError(f"malformed {kind}: column '{target}' already exists")
        codes = rng.integers(100, 1000, len(frame))
        frame[target] = pd.array([f"X{c}" for c in codes], dtype="str")
    elif kind == "wrong_type":
        _require(frame, target, kind, numerical=spec.numerical)
        frame[target] = pd.array([_as_text(v) for v in frame[target].to_numpy(dtype=float)], dtype="str")
    elif kind == "all_null_column":
        _require(frame, target, kind)
        if target in spec.categorical:
            frame[target] = pd.array([None] * len(frame), dtype="str")
        else:
            frame[target] = np.full(len(frame), np.nan)
    elif kind == "unseen_category":
        _require(frame, target, kind, categorical=spec.categorical)
        values = frame[target].to_numpy(dtype=object).copy()
        hit = rng.random(len(frame)) < UNSEEN_SHARE
        values[hit] = _UNSEEN_VALUE.get(target, f"new_{target}")
        frame[target] = pd.array(values, dtype="str")
    frame = frame.reset_index(drop=True)
    frame.attrs.update({"malformed": kind, "column": target if kind != "empty" else None})
    return frame


def write_malformed(
    path: str | Path,
    model: str,
    kind: str,
    seed: int = 0,
    rows: int = 200,
    day: date = PRODUCTION_START,
    column: str | None = None,
) -> Path:
    """Write :func:`malformed_batch` to ``path`` (``.csv`` or ``.parquet`` by suffix).

    ``unreadable`` bytes are written as they are, whatever the suffix; the folder is
    created if needed.
    """
    path = Path(path)
    batch = malformed_batch(model, kind, seed=seed, rows=rows, day=day, column=column)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(batch, bytes):
        path.write_bytes(batch)
        return path
    return write_frame(batch, path)


def _clean_batch(model: str, rng: np.random.Generator, rows: int, day: date) -> pd.DataFrame:
    spec = demo_model(model)
    frame = POPULATIONS[model](rng, rows)
    days = np.full(rows, np.datetime64(day, "D"))
    frame = assemble(spec, frame, days, time_of_day(spec, rng, rows), first_id=MALFORMED_ID_START)
    return frame[spec.feature_columns]


def _require(
    frame: pd.DataFrame,
    column: str | None,
    kind: str,
    numerical: tuple[str, ...] | None = None,
    categorical: tuple[str, ...] | None = None,
) -> None:
    if column not in frame.columns:
        raise UsageError(f"malformed {kind}: no column '{column}' in the batch")
    if numerical is not None and column not in numerical:
        raise UsageError(f"malformed {kind}: column '{column}' is not numerical")
    if categorical is not None and column not in categorical:
        raise UsageError(f"malformed {kind}: column '{column}' is not categorical")


def _as_text(value: float) -> str:
    """A number as people type it into spreadsheets: ``52k`` for thousands, ``8,49`` otherwise."""
    if abs(value) >= 1000:
        return f"{value / 1000:.0f}k"
    return f"{value:.2f}".replace(".", ",")
