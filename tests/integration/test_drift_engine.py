"""The Evidently drift engine on small seeded frames (real Evidently, offline)."""

from __future__ import annotations

import contextlib
import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from drift.adapters.evidently import EvidentlyEngine
from drift.assess import assess
from drift.measurement import sample_reference
from drift.policy import OK, REFRESH, WARN
from drift.stattests import CHI2_HOMOGENEITY, KS, ScipyDriftEngine, chisquare_test
from zenops.kernel.config import ModelSpec
from zenops.kernel.errors import DataError

NUMERICAL = [f"n{i}" for i in range(4)]
CATEGORICAL = [f"c{i}" for i in range(3)]


def spec(task: str = "classification", **drift) -> ModelSpec:
    return ModelSpec.model_validate(
        {
            "name": "loan-default",
            "task": task,
            "target": "y",
            "id_column": "id",
            "timestamp_column": "ts",
            "features": {"numerical": NUMERICAL, "categorical": CATEGORICAL},
            "training_data": "t.parquet",
            "batches": "b",
            "labels": "l",
            "trainer": {"estimator": "sklearn.linear_model.LogisticRegression"},
            "drift": drift,
        }
    )


def frame(
    rows: int, seed: int, shift: float = 0.0, mix: float = 0.0, task: str = "classification"
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {name: rng.normal(shift if i < 2 else 0.0, 1.0, rows) for i, name in enumerate(NUMERICAL)}
    probs = np.array([0.5 - mix, 0.3, 0.2 + mix])
    for name in CATEGORICAL:
        data[name] = pd.array(rng.choice(["a", "b", "c"], rows, p=probs), dtype="str")
    out = pd.DataFrame(data)
    score = out["n0"] + 0.5 * out["n2"] + (out["c0"] == "a").to_numpy() - 0.5
    if task == "classification":
        proba = 1 / (1 + np.exp(-score))
        out["y"] = (rng.uniform(size=rows) < proba).astype(int)
        out["prediction"] = (proba > 0.5).astype(int)
        out["prediction_proba"] = proba
    else:
        out["y"] = score + rng.normal(0, 1, rows)
        out["prediction"] = score
    return out


@pytest.fixture(scope="module")
def engine() -> EvidentlyEngine:
    return EvidentlyEngine()


def test_a_batch_from_the_same_distribution_shows_no_drift(engine):
    model = spec()
    measurement = engine.measure(frame(3000, 1), frame(1000, 2).drop(columns="y"), model)
    assert [f.column for f in measurement.features] == NUMERICAL + CATEGORICAL
    assert {f.method for f in measurement.features} == {KS, CHI2_HOMOGENEITY}
    assert all(f.tested for f in measurement.features)
    verdict = assess(measurement, model)
    assert verdict.status == OK, verdict.reasons
    assert verdict.drifted_features == []
    assert not verdict.prediction_drift


def test_a_shifted_batch_is_detected_and_a_persistent_shift_asks_for_a_refresh(engine):
    model = spec()
    reference = frame(3000, 1)
    first = engine.measure(reference, frame(1000, 3, shift=0.5, mix=0.15).drop(columns="y"), model)
    verdict = assess(first, model)
    assert verdict.status == WARN
    assert {name for name, _ in verdict.drifted_features} == {"n0", "n1", *CATEGORICAL}
    assert verdict.prediction_drift
    assert first.prediction is not None and first.prediction.column == "prediction_proba"
    shifted = {f.column: f for f in first.features}
    assert shifted["n0"].p_value < 1e-10 and shifted["n0"].effect > 0.1
    second = engine.measure(reference, frame(1000, 4, shift=0.5, mix=0.15).drop(columns="y"), model)
    assert assess(second, model, previous_drift_cycles=verdict.consecutive_drift).status == REFRESH


def test_the_snapshot_json_and_the_html_reports_are_written(engine, tmp_path):
    model = spec()
    current = frame(800, 5, shift=0.3)
    measurement = engine.measure(
        frame(2000, 1), current.drop(columns="y"), model, labelled=current.iloc[:300]
    )
    report = json.loads(measurement.report_json)
    drift_metrics = [m["metric_name"] for m in report["drift"]["metrics"]]
    assert any(name.startswith("ValueDrift(column=n0,method=ks") for name in drift_metrics)
    assert any(name.startswith("ValueDrift(column=c0,method=chi2_homogeneity") for name in drift_metrics)
    assert any(name.startswith("ValueDrift(column=prediction_proba") for name in drift_metrics)
    assert report["drift"]["tests"], "the report carries Evidently's tests"
    assert any(m["metric_name"].startswith("RocAuc") for m in report["quality"]["metrics"])
    written = measurement.save_html(tmp_path / "reports" / "loan-default-2026-01-05.html")
    assert [p.name for p in written] == [
        "loan-default-2026-01-05.html",
        "loan-default-2026-01-05.summary.html",
        "loan-default-2026-01-05.quality.html",
    ]
    assert all(p.stat().st_size > 10_000 for p in written)
    assert "Row count" in written[1].read_text()  # the data summary, built for the HTML
    assert measurement.labelled_rows == 300
    assert measurement.performance.metric == "roc_auc"
    assert 0.5 < measurement.performance.value < 1.0


def test_the_data_summary_is_built_only_for_the_html_and_its_failure_leaves_the_drift_report(
    tmp_path, monkeypatch, caplog
):
    built: list[int] = []

    def failing_summary(self, reference, current, spec, output):
        built.append(len(current))
        raise DataError("loan-default: Evidently could not summarise the batch (injected)")

    monkeypatch.setattr(EvidentlyEngine, "_summary_report", failing_summary)
    current = frame(800, 5, shift=0.3).drop(columns="y")
    measurement = EvidentlyEngine().measure(frame(2000, 1), current, spec())
    assert built == []
    assert "Row count" not in measurement.report_json
    (written,) = measurement.save_html(tmp_path / "report.html")
    assert built == [800]
    assert written.name == "report.html" and "Row count" not in written.read_text()
    assert "no data summary report" in caplog.text


def test_the_data_summary_builds_each_columns_chart_once_and_shows_what_evidently_shows(engine):
    from evidently.legacy.utils import visualizations
    from evidently.metrics import column_statistics

    from drift.adapters import evidently as adapter

    model = spec()
    reference, current = frame(2000, 1), frame(800, 5, shift=0.3).drop(columns="y")
    engine.measure(reference, current, model)  # installs the sharing, as every measurement does
    charts: list[str] = []
    build = visualizations.plot_distr_with_perc_button

    def counted(**kwargs):
        charts.append(kwargs.get("xaxis_name", ""))
        return build(**kwargs)

    def summary() -> str:
        charts.clear()
        report = engine._summary_report(reference, current, model, "prediction_proba")
        widgets = json.dumps([w.dict() for w in report._widgets], sort_keys=True, default=str)
        return re.sub(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", "ID", widgets)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(column_statistics, "plot_distr_with_perc_button", counted)
        shared, shared_charts = summary(), len(charts)
        patch.setattr(adapter, "_one_distribution_per_column", contextlib.nullcontext)
        own, own_charts = summary(), len(charts)
    columns = len(NUMERICAL) + len(CATEGORICAL) + 1
    assert shared_charts == columns, "one chart per column"
    assert own_charts > 2 * columns, "Evidently alone builds a chart per statistic"
    assert shared == own, "the same widgets, titles and data; only the ids differ"


def test_regression_quality_and_prediction_drift(engine):
    model = spec("regression")
    current = frame(600, 6, task="regression")
    measurement = engine.measure(frame(2000, 1, task="regression"), current, model, labelled=current)
    assert measurement.prediction.column == "prediction"
    assert measurement.prediction.method == KS
    assert measurement.performance.metric == "rmse"
    assert "RMSE" in measurement.report_json


def test_evidently_and_scipy_give_the_same_p_values():
    model = spec()
    evidently = EvidentlyEngine(include_summary=False)
    scipy_engine = ScipyDriftEngine()
    for seed, shift in ((10, 0.0), (11, 0.05), (12, 0.3)):
        reference, current = frame(2500, seed), frame(900, seed + 100, shift=shift, mix=shift / 3)
        real = evidently.measure(reference, current, model)
        fast = scipy_engine.measure(reference, current, model)
        for a, b in zip([*real.features, real.prediction], [*fast.features, fast.prediction], strict=True):
            assert (a.column, a.method) == (b.column, b.method)
            assert a.p_value == pytest.approx(b.p_value, rel=1e-9, abs=1e-300)
            assert a.effect == pytest.approx(b.effect)


def test_the_report_flags_columns_at_the_bonferroni_level():
    model = spec(alpha=0.02)
    measurement = EvidentlyEngine(include_summary=False).measure(frame(1000, 1), frame(500, 2), model)
    family = len(NUMERICAL) + len(CATEGORICAL) + 1
    assert [f.threshold for f in measurement.features] == pytest.approx([0.02 / family] * (family - 1))


def test_evidentlys_own_chisquare_is_too_quick_to_flag_drift_without_drift():
    from evidently.legacy.calculations.stattests.chisquare_stattest import _chi_stat_test

    rng = np.random.default_rng(0)
    trials = 400
    theirs = ours = 0
    for _ in range(trials):
        ref = pd.Series(rng.choice(list("abcd"), 2000, p=[0.4, 0.3, 0.2, 0.1]))
        cur = pd.Series(rng.choice(list("abcd"), 2000, p=[0.4, 0.3, 0.2, 0.1]))
        theirs += _chi_stat_test(ref, cur, None, 0.01)[0] < 0.01
        ours += chisquare_test(ref, cur).p_value < 0.01
    assert theirs / trials > 0.04  # goodness of fit against a noisy reference: ~5× too many
    assert ours / trials < 0.025


def test_unseen_categories_within_tolerance_are_left_out_of_the_test(engine):
    model = spec()
    current = frame(1000, 2)
    current.loc[:4, "c0"] = "zz"
    measurement = engine.measure(frame(2000, 1), current, model)
    c0 = next(f for f in measurement.features if f.column == "c0")
    assert c0.unseen == 5
    assert c0.p_value > 0.001


def test_a_column_with_no_values_is_reported_untested_not_fatal():
    model = spec()
    current = frame(500, 2)
    current["n3"] = np.nan
    measurement = EvidentlyEngine(include_summary=False).measure(frame(1000, 1), current, model)
    n3 = next(f for f in measurement.features if f.column == "n3")
    assert not n3.tested and math.isnan(n3.p_value)
    assert "n3" in " ".join(assess(measurement, model).reasons)


def test_a_missing_feature_is_a_data_error(engine):
    with pytest.raises(DataError, match="batch lacks feature columns n1"):
        engine.measure(frame(500, 1), frame(200, 2).drop(columns="n1"), spec())


def test_evidently_failures_become_data_errors(engine):
    current = frame(200, 2)
    current["n0"] = "text"
    with pytest.raises(DataError, match="Evidently could not compare"):
        engine.measure(frame(500, 1), current, spec())


def test_the_reference_is_sampled_reproducibly():
    model = spec(reference_sample=500)
    reference = frame(2000, 1)
    first, second = sample_reference(reference, model), sample_reference(reference, model)
    assert len(first) == 500
    assert first.index.equals(second.index)
    assert sample_reference(reference.iloc[:400], model) is not None
    assert len(sample_reference(reference.iloc[:400], model)) == 400
