"""A drift engine that needs no Evidently: the :class:`zenops.ports.DriftEngine` port, stubbed.

:class:`StubDriftEngine` calls a numerical column drifted when its mean moved more than
one reference standard deviation (p-value 1e-12, effect 0.5; else 0.5 and 0.01), leaves
categorical columns quiet, and fails, as an engine does on values it cannot test, on a
numerical column holding a non-finite value. Each measurement is kept in ``measured``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from drift.measurement import ColumnDrift, DriftMeasurement
from zenops.kernel.config import ModelSpec

DRIFTED_P, QUIET_P = 1e-12, 0.5


class StubDriftEngine:
    """Mean-shift drift on numerical columns; a non-finite value is an engine failure."""

    name = "stub"

    def __init__(self) -> None:
        self.measured: list[DriftMeasurement] = []

    def measure(
        self,
        reference: pd.DataFrame,
        current: pd.DataFrame,
        spec: ModelSpec,
        *,
        labelled: pd.DataFrame | None = None,
    ) -> DriftMeasurement:
        features = [self._numerical(reference, current, c) for c in spec.features.numerical]
        features += [
            ColumnDrift(c, "cat", "stub", QUIET_P, QUIET_P, 0.05, 0.01) for c in spec.features.categorical
        ]
        measurement = DriftMeasurement(
            engine=self.name,
            rows=len(current),
            reference_rows=len(reference),
            features=features,
            labelled_rows=0 if labelled is None else len(labelled),
            report_json='{"engine": "stub"}',
            html_writer=_html,
        )
        self.measured.append(measurement)
        return measurement

    @staticmethod
    def _numerical(reference: pd.DataFrame, current: pd.DataFrame, column: str) -> ColumnDrift:
        values = current[column].to_numpy(dtype=float)
        if not np.isfinite(values).all():
            raise ValueError(f"cannot test {column}: input contains infinity")
        spread = float(reference[column].std()) or 1.0
        moved = abs(float(values.mean()) - float(reference[column].mean())) / spread > 1.0
        p = DRIFTED_P if moved else QUIET_P
        return ColumnDrift(column, "num", "stub", p, p, 0.05, 0.5 if moved else 0.01)


def _html(path: Path) -> list[Path]:
    path.write_text("<html>stub report</html>", encoding="utf-8")
    return [path]
