"""A generic wide table with known, optional shifts, for measuring drift detectors.

The *shape* of every column (its distribution family, parameters and category
probabilities) is fixed by the column's position alone; ``seed`` only draws the
sample. Two frames with different seeds and no shift therefore come from the same
distribution (any alarm between them is a false alarm), and a frame with a
:class:`Shift` differs from the reference in exactly the columns listed in its
``attrs["shifted_columns"]`` (the detections a detector should make).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from zenops.app.demo.datagen.stream import WIDE, derived_rng
from zenops.kernel.errors import UsageError

_SHAPE_SEED = 20_240_701
_FAMILIES = ("normal", "lognormal", "gamma", "uniform")
_LETTERS = "ABCDEFGH"


@dataclass(frozen=True)
class Shift:
    """One change to apply to a :func:`wide_frame`.

    - ``kind="mean"``: numerical columns move by ``size`` population standard deviations.
    - ``kind="scale"``: numerical columns spread around their population mean by a
      factor ``1 + size`` (``size=0.5``: 50% wider; ``-0.3``: 30% narrower).
    - ``kind="mix"``: categorical columns move a probability mass of ``size``
      (the total-variation distance) from their most to their least frequent
      category, capped at what the most frequent one has.

    ``columns`` is a number (the first that many columns of the right type, in
    order) or a tuple of column names.
    """

    kind: Literal["mean", "scale", "mix"]
    size: float
    columns: int | tuple[str, ...] = 1

    def __post_init__(self) -> None:
        if self.kind not in ("mean", "scale", "mix"):
            raise UsageError(f"shift kind must be 'mean', 'scale' or 'mix', not '{self.kind}'")
        if self.kind == "scale" and self.size <= -1:
            raise UsageError("a scale shift needs size > -1")
        if self.kind == "mix" and not 0 <= self.size <= 1:
            raise UsageError("a mix shift needs 0 <= size <= 1")


def wide_columns(n_numerical: int = 15, n_categorical: int = 5) -> tuple[list[str], list[str]]:
    """The numerical and categorical column names of a :func:`wide_frame`."""
    return [f"num_{i:02d}" for i in range(n_numerical)], [f"cat_{i:02d}" for i in range(n_categorical)]


def wide_frame(
    rows: int = 10_000,
    n_numerical: int = 15,
    n_categorical: int = 5,
    seed: int = 0,
    shift: Shift | Sequence[Shift] | None = None,
) -> pd.DataFrame:
    """``rows`` × (``n_numerical`` + ``n_categorical``) features, optionally shifted.

    Numerical column ``i`` is normal, lognormal, gamma or uniform (by ``i % 4``) with
    fixed parameters; categorical column ``i`` has ``3 + i % 6`` levels ``A``, ``B``, …
    with fixed, unequal probabilities. There are no id, timestamp or target columns.
    ``attrs["shifted_columns"]`` lists the columns a shift changed.
    """
    if rows < 0 or n_numerical < 0 or n_categorical < 0:
        raise UsageError("rows, n_numerical and n_categorical must be >= 0")
    shifts = [shift] if isinstance(shift, Shift) else list(shift or [])
    numerical, categorical = wide_columns(n_numerical, n_categorical)
    moves = _resolve(shifts, numerical, categorical)
    rng = derived_rng(seed, None, WIDE)
    data: dict[str, np.ndarray | pd.api.extensions.ExtensionArray] = {}
    for i, name in enumerate(numerical):
        values, mean, sd = _numerical(i, rng, rows)
        for kind, size in moves.get(name, []):
            values = values + size * sd if kind == "mean" else mean + (values - mean) * (1 + size)
        data[name] = values
    for i, name in enumerate(categorical):
        probs = _category_probs(i)
        for _, size in moves.get(name, []):
            probs = _move_mass(probs, size)
        uniform = rng.random(rows)
        index = np.minimum(np.searchsorted(np.cumsum(probs), uniform, side="right"), len(probs) - 1)
        data[name] = pd.array(np.asarray(list(_LETTERS[: len(probs)]), dtype=object)[index], dtype="str")
    frame = pd.DataFrame(data, columns=[*numerical, *categorical])
    frame.attrs["shifted_columns"] = [c for c in frame.columns if moves.get(c)]
    return frame


def _resolve(
    shifts: list[Shift], numerical: list[str], categorical: list[str]
) -> dict[str, list[tuple[str, float]]]:
    moves: dict[str, list[tuple[str, float]]] = {}
    for shift in shifts:
        pool = categorical if shift.kind == "mix" else numerical
        if isinstance(shift.columns, int):
            if not 0 <= shift.columns <= len(pool):
                raise UsageError(f"a {shift.kind} shift of {shift.columns} columns needs that many columns")
            names = pool[: shift.columns]
        else:
            names = list(shift.columns)
            wrong = [c for c in names if c not in pool]
            if wrong:
                kind = "categorical" if shift.kind == "mix" else "numerical"
                raise UsageError(f"a {shift.kind} shift needs {kind} columns; not: {', '.join(wrong)}")
        if shift.size != 0:
            for name in names:
                moves.setdefault(name, []).append((shift.kind, shift.size))
    return moves


def _numerical(i: int, rng: np.random.Generator, rows: int) -> tuple[np.ndarray, float, float]:
    """Column ``i``'s sample, with its population mean and standard deviation."""
    shape = np.random.default_rng([_SHAPE_SEED, 0, i])
    family = _FAMILIES[i % len(_FAMILIES)]
    if family == "normal":
        mu, sigma = shape.uniform(-50, 50), shape.uniform(1, 20)
        return rng.normal(mu, sigma, rows), mu, sigma
    if family == "lognormal":
        mu, sigma = shape.uniform(0, 5), shape.uniform(0.2, 0.8)
        mean = np.exp(mu + sigma**2 / 2)
        return rng.lognormal(mu, sigma, rows), mean, mean * np.sqrt(np.exp(sigma**2) - 1)
    if family == "gamma":
        k, theta = shape.uniform(1, 6), shape.uniform(0.5, 10)
        return rng.gamma(k, theta, rows), k * theta, np.sqrt(k) * theta
    low = shape.uniform(-100, 100)
    high = low + shape.uniform(1, 100)
    return rng.uniform(low, high, rows), (low + high) / 2, (high - low) / np.sqrt(12)


def _category_probs(i: int) -> np.ndarray:
    shape = np.random.default_rng([_SHAPE_SEED, 1, i])
    probs = np.sort(shape.dirichlet(np.full(3 + i % 6, 3.0)))[::-1]
    return probs / probs.sum()


def _move_mass(probs: np.ndarray, size: float) -> np.ndarray:
    moved = min(size, probs[0])
    probs = probs.copy()
    probs[0] -= moved
    probs[-1] += moved
    return probs
