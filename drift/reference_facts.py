"""What the batch checks need of a model's training data, column by column.

Computed once from the training data (:meth:`ReferenceFacts.of`) and kept in the
champion's profile, so a batch is checked without reading the training data again,
with the same results as against the full frame (:mod:`drift.batches`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from drift.columns import PREDICTION, PROBABILITY
from zenops.kernel.config import ModelSpec

__all__ = ["NumberFacts", "ReferenceFacts"]


@dataclass(frozen=True)
class NumberFacts:
    """What the checks need of one numerical training column: its range and distinct values."""

    low: float
    high: float
    distinct: int


@dataclass(frozen=True)
class ReferenceFacts:
    """What the batch checks need of the training data, column by column.

    - ``numbers``: each numerical column's range and count of distinct values (a
      batch column stuck on one value is refused only where training held several);
    - ``categories``: each categorical column's distinct values, in the training
      data's dtype (which gives a batch column its representation).

    :meth:`of` computes them from the training data; a champion's profile keeps them,
    so a batch is checked without reading the training data again, with the same
    results as against the full frame.
    """

    numbers: dict[str, NumberFacts] = field(default_factory=dict)
    categories: dict[str, pd.Series] = field(default_factory=dict)

    @classmethod
    def of(cls, frame: pd.DataFrame, spec: ModelSpec) -> ReferenceFacts:
        numbers = {}
        for column in _numeric_candidates(spec):
            if column not in frame.columns:
                continue
            try:
                known = frame[column].dropna().astype(float)
            except (TypeError, ValueError):  # not numbers in training: nothing to compare with
                continue
            if len(known):
                numbers[column] = NumberFacts(float(known.min()), float(known.max()), int(known.nunique()))
        categories = {
            column: frame[column].dropna().drop_duplicates().reset_index(drop=True)
            for column in spec.features.categorical
            if column in frame.columns
        }
        return cls(numbers, categories)

    def to_dict(self) -> dict:
        """JSON-ready facts (category values as plain values, with their dtype)."""
        return {
            "numbers": {c: [f.low, f.high, f.distinct] for c, f in self.numbers.items()},
            "categories": {
                c: {"dtype": str(v.dtype), "values": [_plain(x) for x in v.tolist()]}
                for c, v in self.categories.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict) -> ReferenceFacts:
        numbers = {c: NumberFacts(float(lo), float(hi), int(n)) for c, (lo, hi, n) in data["numbers"].items()}
        categories = {c: pd.Series(v["values"], dtype=v["dtype"]) for c, v in data["categories"].items()}
        return cls(numbers, categories)


def _numeric_candidates(spec: ModelSpec) -> list[str]:
    """Every column :func:`_check_numbers` may check: numerical features, outputs, a regression target."""
    return list(dict.fromkeys([*spec.features.numerical, spec.target, PREDICTION, PROBABILITY]))


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value
