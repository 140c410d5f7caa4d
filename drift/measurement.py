"""What a drift engine measured on one batch, as plain data.

These dataclasses carry no reference to Evidently or NannyML, so the policy, the
monitor flow and the tests can use them without importing either.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from drift.metrics import MeasuredPerformance
from zenops.kernel.config import ModelSpec

__all__ = [
    "ColumnDrift",
    "DriftEngine",
    "DriftMeasurement",
    "HtmlWriter",
]

HtmlWriter = Callable[[Path], list[Path]]


@dataclass(frozen=True)
class ColumnDrift:
    """The drift test of one column.

    - ``method``: the test's name in Evidently's registry (``ks``, ``chi2_homogeneity``).
    - ``score``: the engine's drift score for the column.
    - ``p_value``: the score when the method is a p-value test (both forced methods
      are), else None; a NaN p-value means the column could not be tested.
    - ``threshold``: the per-column threshold the report used to flag the column
      (the policy makes its own decision from the p-values).
    - ``effect``: KS statistic (numerical) or total variation distance
      (categorical), in [0, 1].
    - ``unseen``: values of categories absent from the reference, left out of the test.
    """

    column: str
    kind: str
    method: str
    score: float
    p_value: float | None
    threshold: float
    effect: float
    unseen: int = 0

    @property
    def tested(self) -> bool:
        """Whether the column carries a usable p-value."""
        return self.p_value is not None and not math.isnan(self.p_value)

    def to_dict(self) -> dict[str, Any]:
        """The figures as JSON-ready values (NaN becomes None)."""
        return {
            "column": self.column,
            "kind": self.kind,
            "method": self.method,
            "score": _finite(self.score),
            "p_value": _finite(self.p_value),
            "threshold": self.threshold,
            "effect": _finite(self.effect),
            "unseen": self.unseen,
        }


@dataclass
class DriftMeasurement:
    """Everything one engine call measured on one batch.

    ``report_json`` is the engine's full report as JSON text (Evidently's snapshot
    for the Evidently engine); :meth:`save_html` writes the human-readable report;
    ``snapshots`` holds the report objects themselves.
    """

    engine: str
    rows: int
    reference_rows: int
    features: list[ColumnDrift]
    prediction: ColumnDrift | None = None
    performance: MeasuredPerformance | None = None
    labelled_rows: int = 0
    report_json: str = "{}"
    html_writer: HtmlWriter | None = field(default=None, repr=False, compare=False)
    #: The engine's own report objects by name (``drift``, and ``quality`` with labels):
    #: what a report workspace stores (Evidently snapshots for the Evidently engine).
    snapshots: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def p_values(self) -> dict[str, float]:
        """Each feature's p-value (NaN when it could not be tested)."""
        return {f.column: math.nan if f.p_value is None else f.p_value for f in self.features}

    def save_html(self, path: str | Path) -> list[Path]:
        """Write the HTML report to ``path`` and return the files written.

        The Evidently engine writes the drift report at ``path``, its data summary
        next to it (``<name>.summary.html``, built now) and, when labelled rows were
        given, the quality report (``<name>.quality.html``).
        """
        if self.html_writer is None:
            raise ValueError(f"the {self.engine} engine kept no report to write")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return self.html_writer(path)

    def to_dict(self) -> dict[str, Any]:
        """The figures (without the report) as JSON-ready values."""
        return {
            "engine": self.engine,
            "rows": self.rows,
            "reference_rows": self.reference_rows,
            "features": [f.to_dict() for f in self.features],
            "prediction": self.prediction.to_dict() if self.prediction else None,
            "labelled_rows": self.labelled_rows,
            "performance": self.performance.to_dict() if self.performance else None,
        }


def _finite(value: float | None) -> float | None:
    if value is None or math.isnan(value):
        return None
    return float(value)


class DriftEngine(Protocol):
    """Measures drift of one batch against the champion's reference rows."""

    name: str

    def measure(
        self,
        reference: pd.DataFrame,
        current: pd.DataFrame,
        spec: ModelSpec,
        *,
        labelled: pd.DataFrame | None = None,
    ) -> DriftMeasurement:
        """Compare ``current`` with ``reference`` (and measure quality on ``labelled``)."""
        ...


def sample_reference(frame: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """At most ``spec.drift.reference_sample`` rows of ``frame``, sampled with ``spec.seed``.

    The same training data and spec always give the same sample, so a verdict can be
    reproduced.
    """
    limit = spec.drift.reference_sample
    if len(frame) <= limit:
        return frame
    return frame.sample(n=limit, random_state=spec.seed).sort_index()
