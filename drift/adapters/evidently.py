"""The drift engine: Evidently reports behind a small interface.

:class:`DriftEngine` is what the monitor flow depends on; :class:`EvidentlyEngine`
is the real one, :class:`drift.stattests.ScipyDriftEngine` a fast one without a
report (evaluation, tests). Both return a plain :class:`DriftMeasurement`.

The Evidently engine forces p-value tests so that the policy can correct them for
multiple testing: ``ks`` for numerical columns and ``chi2_homogeneity`` (registered
with Evidently, see :mod:`drift.stattests` for why not Evidently's ``chisquare``)
for categorical ones. Evidently's default would switch to distances such as
Wasserstein or Jensen–Shannon above 1,000 reference rows, which give no p-value. Evidently 0.7
keeps a column's yes/no only in the report's tests; the measurement carries the
p-values instead and leaves the decision to :mod:`drift.policy`. The report flags
columns at the Bonferroni level ``alpha / m`` (m = features + prediction), the
first step of the policy's Holm procedure, so the report's flags are a subset of
the verdict's. Evidently is imported only when a measurement is made.
"""

from __future__ import annotations

import contextvars
import copy
import functools
import logging
import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from drift.columns import PREDICTION, PROBABILITY, prediction_column
from drift.measurement import ColumnDrift, DriftMeasurement, sample_reference
from drift.metrics import label_classes, measured_performance
from drift.stattests import (
    CATEGORICAL,
    CHI2_HOMOGENEITY,
    NUMERICAL,
    chisquare_test,
    column_test,
    feature_kinds,
    mask_unseen,
    method_for,
    prediction_kind,
)
from zenops.kernel.config import ModelSpec
from zenops.kernel.deferred import FIRST_IMPORT
from zenops.kernel.errors import DataError
from zenops.kernel.offline import stay_offline

__all__ = [
    "EvidentlyEngine",
    "warm_up",
]

if TYPE_CHECKING:
    from evidently import DataDefinition

_VALUE_DRIFT = "evidently:metric_v2:ValueDrift"
log = logging.getLogger(__name__)
# The distribution widgets of the report being run, by column (see share_distributions).
_DISTRIBUTIONS: contextvars.ContextVar[dict[tuple[Any, ...], list[Any]] | None] = contextvars.ContextVar(
    "zenops_evidently_distributions", default=None
)


def warm_up() -> None:
    """Import Evidently once per process, before a report is built with it.

    Evidently's first import is not thread-safe (two threads importing it at once can
    see a partially initialised module), so :meth:`EvidentlyEngine.measure` calls this
    first: under :data:`~zenops.kernel.deferred.FIRST_IMPORT`, the first caller of a
    process imports, the others wait. A cycle that keeps no report never imports it.
    """
    with FIRST_IMPORT:
        import evidently  # noqa: F401
        import evidently.legacy.calculations.stattests  # noqa: F401
        import evidently.metrics  # noqa: F401
        import evidently.presets  # noqa: F401


class EvidentlyEngine:
    """Drift, data summary and (with labels) quality reports made with Evidently 0.7.

    - ``include_summary``: write Evidently's data summary beside the HTML drift
      report (``<name>.summary.html``). It is built only when the HTML is written
      (:meth:`DriftMeasurement.save_html`): it costs about as much as the drift
      report, and the verdict does not depend on it.
    """

    name = "evidently"

    def __init__(self, *, include_summary: bool = True) -> None:
        self.include_summary = include_summary

    def measure(
        self,
        reference: pd.DataFrame,
        current: pd.DataFrame,
        spec: ModelSpec,
        *,
        labelled: pd.DataFrame | None = None,
    ) -> DriftMeasurement:
        """Measure one batch.

        ``reference``: the champion's reference rows — its holdout with predictions is
        best (the model did not see it, so its predictions are honest), or its training
        data; it is sampled to ``reference_sample`` rows. Prediction drift is measured
        when both frames carry ``prediction_proba`` (or ``prediction``). ``current``:
        the validated batch. ``labelled``: batch rows joined with their labels (target,
        ``prediction`` and, for binary classification, ``prediction_proba``); when given,
        a quality report is added and the model's metrics are measured.

        Raises :class:`~zenops.kernel.errors.DataError` when the frames cannot be compared.
        """
        stay_offline()
        warm_up()
        register_with_evidently()
        share_distributions()
        reference = sample_reference(reference, spec)
        kinds = feature_kinds(spec)
        for frame, role in ((reference, "reference"), (current, "batch")):
            missing = [c for c in kinds if c not in frame.columns]
            if missing:
                raise DataError(f"{spec.name}: {role} lacks feature columns {', '.join(missing)}")
        current = current.copy()
        unseen: dict[str, int] = {}
        for column, kind in kinds.items():
            if kind == CATEGORICAL:
                current[column], unseen[column] = mask_unseen(reference[column], current[column])
        output = prediction_column(reference, current)
        testable = [c for c in kinds if _has_values(reference[c]) and _has_values(current[c])]
        alpha = spec.drift.alpha
        family = len(testable) + (1 if output else 0)
        threshold = alpha / max(family, 1)

        snapshot = self._drift_report(reference, current, spec, testable, output, threshold)

        def summary() -> Any:
            if not self.include_summary:
                return None
            try:
                return self._summary_report(reference, current, spec, output)
            except DataError as error:  # the verdict stands; the HTML reports go without it
                log.warning("%s; no data summary report", error)
                return None

        scores = _value_drifts(snapshot.dict())
        features = [
            _column(
                column, kind, scores.get(column), reference[column], current[column], unseen.get(column, 0)
            )
            for column, kind in kinds.items()
        ]
        prediction = None
        if output:
            prediction = _column(
                output,
                prediction_kind(spec, output),
                scores.get(output),
                reference[output],
                current[output],
                0,
            )

        labelled = _labelled_only(labelled, spec)
        performance = quality = None
        if labelled is not None and len(labelled) > 0:
            classes = label_classes(spec, reference, labelled)
            performance = measured_performance(labelled, spec, classes=classes)
            quality = self._quality_report(labelled, spec, classes)

        report_json = (
            '{"drift": ' + snapshot.json() + ', "quality": ' + (quality.json() if quality else "null") + "}"
        )
        return DriftMeasurement(
            engine=self.name,
            rows=len(current),
            reference_rows=len(reference),
            features=features,
            prediction=prediction,
            performance=performance,
            labelled_rows=0 if labelled is None else len(labelled),
            report_json=report_json,
            html_writer=_html_writer(snapshot, summary, quality),
        )

    def _drift_report(
        self,
        reference: pd.DataFrame,
        current: pd.DataFrame,
        spec: ModelSpec,
        testable: list[str],
        output: str | None,
        threshold: float,
    ) -> Any:
        from evidently.metrics import ValueDrift
        from evidently.presets import DataDriftPreset

        columns = _compared_columns(spec, output)
        definition = _definition(spec, output)
        metrics: list[Any] = []
        if testable:
            metrics.append(
                DataDriftPreset(
                    columns=testable,
                    num_method=method_for(NUMERICAL),
                    cat_method=method_for(CATEGORICAL),
                    threshold=threshold,
                    drift_share=spec.drift.drift_share_refresh,
                )
            )
        if output and _has_values(reference[output]) and _has_values(current[output]):
            metrics.append(
                ValueDrift(
                    column=output, method=method_for(prediction_kind(spec, output)), threshold=threshold
                )
            )
        return _run(
            metrics,
            current[columns],
            reference[columns],
            definition,
            f"{spec.name}: Evidently could not compare the batch with the reference",
        )

    def _summary_report(
        self, reference: pd.DataFrame, current: pd.DataFrame, spec: ModelSpec, output: str | None
    ) -> Any:
        from evidently.presets import DataSummaryPreset

        columns = _compared_columns(spec, output)
        return _run(
            [DataSummaryPreset(columns=columns)],
            current[columns],
            reference[columns],
            _definition(spec, output),
            f"{spec.name}: Evidently could not summarise the batch",
        )

    def _quality_report(self, labelled: pd.DataFrame, spec: ModelSpec, classes: list[Any] | None) -> Any:
        from evidently import BinaryClassification, DataDefinition, MulticlassClassification, Regression
        from evidently.presets import ClassificationPreset, RegressionPreset

        numerical = list(spec.features.numerical)
        categorical = list(spec.features.categorical)
        columns = [*spec.features.all, spec.target, PREDICTION]
        if spec.task == "regression":
            task: dict[str, Any] = {"regression": [Regression(target=spec.target, prediction=PREDICTION)]}
            numerical += [spec.target, PREDICTION]
            preset: Any = RegressionPreset()
        else:
            categorical += [spec.target, PREDICTION]
            if classes is not None and len(classes) <= 2:
                probas = PROBABILITY if PROBABILITY in labelled.columns else None
                if probas:
                    numerical.append(PROBABILITY)
                    columns.append(PROBABILITY)
                task = {
                    "classification": [
                        BinaryClassification(
                            target=spec.target,
                            prediction_labels=PREDICTION,
                            prediction_probas=probas,
                            pos_label=_plain(classes[-1]),
                        )
                    ]
                }
            else:
                task = {
                    "classification": [
                        MulticlassClassification(target=spec.target, prediction_labels=PREDICTION)
                    ]
                }
            preset = ClassificationPreset()
        definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical, **task)
        return _run(
            [preset],
            labelled[columns],
            None,
            definition,
            f"{spec.name}: Evidently could not measure quality on the labelled rows",
        )


def _compared_columns(spec: ModelSpec, output: str | None) -> list[str]:
    """The features, and the model's output when both frames carry it."""
    return [*spec.features.all, *([output] if output else [])]


def _definition(spec: ModelSpec, output: str | None) -> DataDefinition:
    from evidently import DataDefinition

    numerical = list(spec.features.numerical)
    categorical = list(spec.features.categorical)
    if output:
        (numerical if prediction_kind(spec, output) == NUMERICAL else categorical).append(output)
    return DataDefinition(numerical_columns=numerical, categorical_columns=categorical)


def _run(
    metrics: list[Any],
    current: pd.DataFrame,
    reference: pd.DataFrame | None,
    definition: DataDefinition,
    failure: str,
) -> Any:
    """Run an Evidently report quietly; its exceptions become a DataError."""
    from evidently import Dataset, Report

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            current_data = Dataset.from_pandas(current, data_definition=definition)
            reference_data = (
                Dataset.from_pandas(reference, data_definition=definition) if reference is not None else None
            )
            with _one_distribution_per_column():
                return Report(metrics, include_tests=True).run(current_data, reference_data)
    except Exception as error:  # Evidently raises bare ValueError/KeyError/TypeError on bad data
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{failure} ({first})") from error


def _value_drifts(snapshot: dict[str, Any]) -> dict[str, tuple[str, float, float]]:
    """Column → (method, score, threshold) from a snapshot's ValueDrift metrics."""
    found: dict[str, tuple[str, float, float]] = {}
    for metric in snapshot.get("metrics", []):
        config = metric.get("config", {})
        if config.get("type") != _VALUE_DRIFT:
            continue
        found[config["column"]] = (
            config.get("method"),
            float(metric["value"]),
            float(config.get("threshold")),
        )
    return found


def _column(
    column: str,
    kind: str,
    measured: tuple[str, float, float] | None,
    reference: pd.Series,
    current: pd.Series,
    unseen: int,
) -> ColumnDrift:
    effect = column_test(kind, reference, current).effect
    if measured is None:
        return ColumnDrift(column, kind, method_for(kind), math.nan, math.nan, math.nan, effect, unseen)
    method, score, threshold = measured
    p_value = score if method in (method_for(NUMERICAL), method_for(CATEGORICAL)) else None
    return ColumnDrift(column, kind, method, score, p_value, threshold, effect, unseen)


def _labelled_only(labelled: pd.DataFrame | None, spec: ModelSpec) -> pd.DataFrame | None:
    """The rows that carry the target (all rows when the column is absent: measuring then names it)."""
    if labelled is None or spec.target not in labelled.columns:
        return labelled
    return labelled[labelled[spec.target].notna()]


def _has_values(values: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(values):
        return bool(np.isfinite(values.to_numpy(dtype=float, na_value=np.nan)).any())
    return bool(values.notna().any())


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _html_writer(drift_snapshot: Any, summary: Callable[[], Any | None], quality_snapshot: Any | None):
    """Writes the drift report, the data summary (made now, by ``summary``) and the quality report."""

    def write(path: Path) -> list[Path]:
        written = [path]
        suffix = path.suffix or ".html"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            drift_snapshot.save_html(str(path))
            for name, snapshot in (("summary", summary()), ("quality", quality_snapshot)):
                if snapshot is not None:
                    extra = path.with_name(f"{path.stem}.{name}{suffix}")
                    snapshot.save_html(str(extra))
                    written.append(extra)
        return written

    return write


@functools.cache
def register_with_evidently() -> None:
    """Add ``chi2_homogeneity`` to Evidently's registry of drift tests (once per process).

    Evidently documents custom tests as a ``StatTest`` registered with
    ``register_stattest``; the report then runs :func:`chisquare_test` for
    categorical columns and shows its p-value.
    """
    from evidently.legacy.calculations.stattests import StatTest, register_stattest
    from evidently.legacy.core import ColumnType

    def run(reference: pd.Series, current: pd.Series, feature_type: object, threshold: float):
        p_value = chisquare_test(reference, current).p_value
        return p_value, bool(p_value < threshold)

    test = StatTest(
        name=CHI2_HOMOGENEITY,
        display_name="chi-square homogeneity p_value",
        allowed_feature_types=[ColumnType.Categorical],
        default_threshold=0.05,
    )
    register_stattest(test, default_impl=run)


@functools.cache
def share_distributions() -> None:
    """Build each column's distribution chart once per report (once per process).

    Evidently's data summary gives every statistic of a column (minimum, maximum, mean,
    quantiles, …) its own widget, and each builds the same chart of the column's
    distribution anew with plotly: about five identical charts per column, most of the
    summary's cost. While a report runs (:func:`_one_distribution_per_column`), the
    first chart of a column is kept and the column's other statistics get a copy with
    their own title and widget id: the report's widgets are the same, built once.
    """
    from evidently.metrics import column_statistics

    evidently_distribution = column_statistics.distribution

    def distribution(title: str, current: Any, reference: Any) -> list[Any]:
        charts = _DISTRIBUTIONS.get()
        if charts is None:
            return evidently_distribution(title, current, reference)
        key = (current.type, current.data.name, None if reference is None else reference.data.name)
        built = charts.get(key)
        if built is None:
            charts[key] = built = evidently_distribution(title, current, reference)
            return built
        return [_retitled(widget, title) for widget in built]

    column_statistics.distribution = distribution


def _retitled(widget: Any, title: str) -> Any:
    """A copy of a chart widget under another title, with its own id and data."""
    new_id = type(widget).__fields__["id"].default_factory()
    return widget.copy(update={"title": title, "id": new_id, "params": copy.deepcopy(widget.params)})


@contextmanager
def _one_distribution_per_column() -> Iterator[None]:
    token = _DISTRIBUTIONS.set({})
    try:
        yield
    finally:
        _DISTRIBUTIONS.reset(token)
