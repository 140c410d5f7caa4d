"""The per-column drift tests, computed with scipy.

Both are p-value tests, so the policy can correct them for multiple testing:

- numerical columns: the two-sample Kolmogorov–Smirnov test (``ks``), exactly as
  Evidently 0.7 runs it (``scipy.stats.ks_2samp`` after dropping missing and
  infinite values);
- categorical columns: Pearson's chi-square test of homogeneity on the 2 × k table
  of reference and current category counts (``chi2_homogeneity``). Evidently's own
  ``chisquare`` is a goodness-of-fit test that takes the reference shares as exact:
  its statistic is too large by a factor of about ``1 + current/reference rows``
  when there is no drift (×1.5 for 5,000 rows against 10,000), which made one
  no-drift batch in fourteen flag a column at ``alpha=0.01`` with ten categorical
  columns. The homogeneity test accounts for the reference's own sampling noise.
  :func:`drift.adapters.evidently.register_with_evidently` adds it to Evidently's registry of
  tests so that the report shows the same p-values.

Each test also gives an effect size: the KS statistic (largest gap between the two
empirical distribution functions) for numerical columns and the total variation
distance (half the L1 distance between category shares) for categorical ones. Both
lie in [0, 1] and read as "largest share of probability mass that moved", so one
``min_effect`` threshold fits both.

:class:`ScipyDriftEngine` runs the same tests without a report, about ten times
faster than building an Evidently report (the integration tests check that both engines
give the same p-values); it is used to evaluate the policy over hundreds of cycles
and as a stand-in engine in tests.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from drift.columns import PROBABILITY, prediction_column
from drift.measurement import ColumnDrift, DriftMeasurement
from drift.metrics import label_classes, measured_performance
from zenops.kernel.config import ModelSpec

__all__ = [
    "CATEGORICAL",
    "CHI2_HOMOGENEITY",
    "DriftTestResult",
    "KS",
    "NUMERICAL",
    "ScipyDriftEngine",
    "chisquare_test",
    "column_test",
    "feature_kinds",
    "ks_test",
    "mask_unseen",
    "method_for",
    "prediction_kind",
]

KS = "ks"
CHI2_HOMOGENEITY = "chi2_homogeneity"
NUMERICAL = "numerical"
CATEGORICAL = "categorical"


@dataclass(frozen=True)
class DriftTestResult:
    """A p-value and an effect size in [0, 1]; both NaN when a side has no values."""

    p_value: float
    effect: float


def _clean(values: pd.Series) -> pd.Series:
    """Drop missing and infinite values, as Evidently does before testing."""
    if pd.api.types.is_numeric_dtype(values):
        values = values.replace([-np.inf, np.inf], np.nan)
    return values.dropna()


def ks_test(reference: pd.Series, current: pd.Series) -> DriftTestResult:
    """Two-sided two-sample Kolmogorov–Smirnov test; the effect is the KS statistic."""
    ref, cur = _clean(reference), _clean(current)
    if ref.empty or cur.empty:
        return DriftTestResult(math.nan, math.nan)
    result = stats.ks_2samp(ref.to_numpy(dtype=float), cur.to_numpy(dtype=float))
    return DriftTestResult(float(result.pvalue), float(result.statistic))


def chisquare_test(reference: pd.Series, current: pd.Series) -> DriftTestResult:
    """Chi-square test of homogeneity of the category counts of the two samples.

    The effect is the total variation distance between the two sets of category
    shares. A single category in both samples gives p = 1.
    """
    ref, cur = _clean(reference), _clean(current)
    if ref.empty or cur.empty:
        return DriftTestResult(math.nan, math.nan)
    codes, categories = pd.factorize(pd.concat([ref, cur], ignore_index=True))
    table = np.vstack(
        [
            np.bincount(codes[: len(ref)], minlength=len(categories)),
            np.bincount(codes[len(ref) :], minlength=len(categories)),
        ]
    ).astype(float)
    shares = table / table.sum(axis=1, keepdims=True)
    effect = 0.5 * float(np.abs(shares[0] - shares[1]).sum())
    if len(categories) < 2:
        return DriftTestResult(1.0, effect)
    p_value = stats.chi2_contingency(table, correction=False).pvalue
    return DriftTestResult(float(p_value), effect)


def column_test(kind: str, reference: pd.Series, current: pd.Series) -> DriftTestResult:
    """The test for a column of ``kind``: ``numerical`` → ks, ``categorical`` → chi2_homogeneity."""
    return ks_test(reference, current) if kind == NUMERICAL else chisquare_test(reference, current)


def method_for(kind: str) -> str:
    """The method name (as Evidently's registry knows it) for a column of ``kind``."""
    return KS if kind == NUMERICAL else CHI2_HOMOGENEITY


def feature_kinds(spec: ModelSpec) -> dict[str, str]:
    """Each feature of the model mapped to ``numerical`` or ``categorical``."""
    kinds = {name: NUMERICAL for name in spec.features.numerical}
    kinds.update({name: CATEGORICAL for name in spec.features.categorical})
    return kinds


def prediction_kind(spec: ModelSpec, column: str) -> str:
    """How the prediction column is tested: a probability or a regression output is
    numerical, a predicted class label is categorical."""
    if column == PROBABILITY or spec.task == "regression":
        return NUMERICAL
    return CATEGORICAL


def mask_unseen(reference: pd.Series, current: pd.Series) -> tuple[pd.Series, int]:
    """Blank out categories absent from the reference, for the drift test only.

    Batch validation refuses a batch whose unseen categories exceed the policy's
    tolerance; below it, the few unseen values are treated as missing so that one
    stray value does not make the chi-square test report certain drift. Returns the
    masked column and how many values were masked.
    """
    known = set(_clean(reference).unique())
    unseen = current.notna() & ~current.isin(known)
    count = int(unseen.sum())
    if count == 0:
        return current, 0
    return current.where(~unseen), count


class ScipyDriftEngine:
    """The exact drift engine: the Evidently engine's tests and figures, in scipy, without a report.

    Each column's p-value, effect, unseen count and flag threshold (``alpha / m``, m the
    testable features plus the prediction) are the ones the Evidently engine reports on
    the same frames (the integration tests check the p-values to 1e-9); with
    ``labelled`` rows, the model's metrics are measured as the Evidently engine measures
    them, with the same classes. The reference is used as given: the monitor passes the
    champion's reference sample. ``report_json`` holds the figures, and the HTML is a
    one-table summary; the monitor builds Evidently's reports from the same frames where
    a report is kept (:mod:`zenops.services.monitor.cycle`).
    """

    name = "scipy"

    def measure(
        self,
        reference: pd.DataFrame,
        current: pd.DataFrame,
        spec: ModelSpec,
        *,
        labelled: pd.DataFrame | None = None,
    ) -> DriftMeasurement:
        """Test every feature (and the prediction, when both frames carry it)."""
        kinds = feature_kinds(spec)
        results: dict[str, DriftTestResult] = {}
        unseen: dict[str, int] = {}
        for column, kind in kinds.items():
            cur = current[column]
            if kind == CATEGORICAL:
                cur, unseen[column] = mask_unseen(reference[column], cur)
            results[column] = column_test(kind, reference[column], cur)
        column = prediction_column(reference, current)
        output = None
        if column is not None:
            kind = prediction_kind(spec, column)
            output = (column, kind, column_test(kind, reference[column], current[column]))
        testable = [c for c, r in results.items() if not math.isnan(r.p_value)]
        threshold = spec.drift.alpha / max(len(testable) + (1 if output else 0), 1)
        features = [
            _column_drift(c, kind, results[c], threshold, unseen.get(c, 0)) for c, kind in kinds.items()
        ]
        prediction = None if output is None else _column_drift(*output, threshold, 0)
        if labelled is not None and spec.target in labelled.columns:
            labelled = labelled[labelled[spec.target].notna()]
        performance = None
        if labelled is not None and len(labelled) > 0:
            classes = label_classes(spec, reference, labelled)
            performance = measured_performance(labelled, spec, classes=classes)
        figures = {
            "engine": self.name,
            "rows": len(current),
            "features": [f.to_dict() for f in features],
            "prediction": prediction.to_dict() if prediction else None,
            "performance": performance.to_dict() if performance else None,
        }
        return DriftMeasurement(
            engine=self.name,
            rows=len(current),
            reference_rows=len(reference),
            features=features,
            prediction=prediction,
            performance=performance,
            labelled_rows=0 if labelled is None else len(labelled),
            report_json=json.dumps(figures),
            html_writer=_summary_html_writer(features, prediction),
        )


def _column_drift(
    column: str, kind: str, result: DriftTestResult, threshold: float, unseen: int
) -> ColumnDrift:
    return ColumnDrift(
        column=column,
        kind=kind,
        method=method_for(kind),
        score=result.p_value,
        p_value=result.p_value,
        threshold=threshold,
        effect=result.effect,
        unseen=unseen,
    )


def _summary_html_writer(features: list[ColumnDrift], prediction: ColumnDrift | None):
    rows = [*features, *([prediction] if prediction else [])]

    def write(path: Path) -> list[Path]:
        cells = "".join(
            f"<tr><td>{c.column}</td><td>{c.method}</td><td>{c.p_value:.3g}</td><td>{c.effect:.3f}</td></tr>"
            for c in rows
        )
        html = (
            "<!doctype html><html><body><table><tr><th>column</th><th>method</th>"
            f"<th>p-value</th><th>effect</th></tr>{cells}</table></body></html>"
        )
        path.write_text(html, encoding="utf-8")
        return [path]

    return write
