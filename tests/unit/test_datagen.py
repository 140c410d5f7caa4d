"""The seeded demo data: determinism, ids, drift phases, bad batches, files, wide frames.

How trained champions fare on it: ``tests/integration/test_demo_data_champions.py``.
"""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency, ks_2samp

from zenops.app.demo.datagen import (
    LOAN,
    MALFORMED_KINDS,
    MODELS,
    PRODUCTION_START,
    DriftSchedule,
    Shift,
    describe_schedule,
    malformed_batch,
    production_stream,
    training_frame,
    wide_frame,
    write_malformed,
    write_stream,
)
from zenops.kernel.errors import ConfigError, NotFoundError, UsageError

NAMES = list(MODELS)
STABLE, COVARIATE, CONCEPT = range(0, 10), range(14, 20), range(20, 30)


@pytest.fixture(scope="module")
def training() -> dict[str, pd.DataFrame]:
    return {name: training_frame(name, rows=10_000, seed=7) for name in NAMES}


@pytest.fixture(scope="module")
def streams() -> dict[str, list]:
    return {name: production_stream(name, days=30, rows_per_day=500, seed=7) for name in NAMES}


def _pooled(batches, days: range) -> pd.DataFrame:
    return pd.concat([b.labelled() for b in batches if b.index in days], ignore_index=True)


def _ks(a: pd.Series, b: pd.Series) -> float:
    return ks_2samp(a.to_numpy(dtype=float), b.to_numpy(dtype=float)).pvalue


def _chi2(a: pd.Series, b: pd.Series) -> float:
    table = pd.crosstab(
        np.r_[np.zeros(len(a)), np.ones(len(b))], np.r_[a.to_numpy(object), b.to_numpy(object)]
    )
    return chi2_contingency(table)[1]


# --- determinism and shape ------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_gives_identical_frames(name: str) -> None:
    pd.testing.assert_frame_equal(training_frame(name, 500, seed=3), training_frame(name, 500, seed=3))
    first, second = production_stream(name, 3, 50, seed=3), production_stream(name, 3, 50, seed=3)
    for a, b in zip(first, second, strict=True):
        pd.testing.assert_frame_equal(a.features, b.features)
        pd.testing.assert_frame_equal(a.labels, b.labels)
    pd.testing.assert_frame_equal(
        malformed_batch(name, "wrong_type", 3), malformed_batch(name, "wrong_type", 3)
    )
    assert malformed_batch(name, "unreadable", 3) == malformed_batch(name, "unreadable", 3)


@pytest.mark.parametrize("name", NAMES)
def test_other_seeds_and_streams_draw_independently(name: str) -> None:
    spec = MODELS[name]
    a, b = training_frame(name, 500, seed=1), training_frame(name, 500, seed=2)
    assert not np.array_equal(a[spec.numerical[0]], b[spec.numerical[0]])
    day = production_stream(name, 1, 500, seed=1)[0].features
    assert not np.array_equal(a[spec.numerical[0]], day[spec.numerical[0]])


def test_a_day_does_not_depend_on_stream_length_or_later_schedule() -> None:
    short = production_stream("loan-default", 2, 100, seed=5)
    long = production_stream("loan-default", 25, 100, seed=5, schedule=DriftSchedule(concept_start=1))
    pd.testing.assert_frame_equal(short[0].features, long[0].features)
    # Concept drift moves labels only: the applicants of day 1 are the same.
    pd.testing.assert_frame_equal(short[1].features, long[1].features)
    assert not short[1].labels.equals(long[1].labels)


@pytest.mark.parametrize("name", NAMES)
def test_columns_and_dtypes_are_documented_and_stable(name: str, training, streams) -> None:
    spec = MODELS[name]
    frame = training[name]
    assert list(frame.columns) == [*spec.feature_columns, spec.target]
    assert frame[spec.timestamp_column].dtype == "datetime64[us]"
    for column in spec.categorical + (spec.id_column,):
        assert pd.api.types.is_string_dtype(frame[column])
    for column in spec.numerical:
        assert pd.api.types.is_numeric_dtype(frame[column])
    for batch in streams[name]:
        assert list(batch.features.columns) == spec.feature_columns
        assert list(batch.labels.columns) == [spec.id_column, spec.target]
        assert batch.features.dtypes.equals(frame[spec.feature_columns].dtypes)
        assert (batch.features[spec.timestamp_column].dt.date == batch.day).all()
    assert frame[spec.timestamp_column].max() < pd.Timestamp(PRODUCTION_START)
    assert frame[spec.timestamp_column].is_monotonic_increasing


@pytest.mark.parametrize("name", NAMES)
def test_ids_are_unique_across_training_stream_and_malformed(name: str, training, streams) -> None:
    spec = MODELS[name]
    ids = [training[name][spec.id_column]]
    ids += [b.features[spec.id_column] for b in streams[name]]
    ids.append(malformed_batch(name, "extra_column", rows=300)[spec.id_column])
    every = pd.concat(ids, ignore_index=True)
    assert every.is_unique
    for batch in streams[name]:
        assert batch.features[spec.id_column].tolist() == batch.labels[spec.id_column].tolist()


def test_targets_are_realistic(training) -> None:
    assert 0.10 <= training["loan-default"]["defaulted"].mean() <= 0.20
    assert set(training["loan-default"]["defaulted"].unique()) == {0, 1}
    units = training["demand-forecast"]["units_sold"]
    assert units.min() >= 0 and units.dtype == np.int64 and 20 < units.mean() < 100


# --- drift phases ---------------------------------------------------------------------------


def test_schedule_levels_ramp_and_hold() -> None:
    schedule = DriftSchedule(covariate_start=10, covariate_ramp_days=5, concept_start=20)
    assert [schedule.covariate_level(d) for d in (9, 10, 12, 14, 29)] == [0.0, 0.2, 0.6, 1.0, 1.0]
    assert [schedule.concept_level(d) for d in (19, 20, 29)] == [0.0, 1.0, 1.0]
    assert [schedule.phase(d) for d in (0, 10, 20)] == ["stable", "covariate", "concept"]
    stable = DriftSchedule.stable()
    assert all(stable.phase(d) == "stable" for d in range(100))
    with pytest.raises(ConfigError, match="covariate_ramp_days"):
        DriftSchedule(covariate_ramp_days=0)


def test_stable_days_match_training(training, streams) -> None:
    # 10 000 training rows against 5 000 stable rows: the same process, so no test fires.
    for name, numerical, categorical in (
        ("loan-default", ("income", "loan_amount", "credit_score", "debt_to_income"), ("region", "purpose")),
        (
            "demand-forecast",
            ("price", "temperature", "lag_7_units", "promo_depth"),
            ("store_type", "weekday"),
        ),
    ):
        stable = _pooled(streams[name], STABLE)
        for column in numerical:
            assert _ks(training[name][column], stable[column]) > 0.001, (name, column)
        for column in categorical:
            assert _chi2(training[name][column], stable[column]) > 0.001, (name, column)


def test_covariate_drift_moves_the_documented_columns(training, streams) -> None:
    loan_train, loan = training["loan-default"], _pooled(streams["loan-default"], COVARIATE)
    assert 0.68 < loan["income"].median() / loan_train["income"].median() < 0.83
    assert 1.15 < loan["loan_amount"].median() / loan_train["loan_amount"].median() < 1.50
    assert 0.36 < (loan["region"] == "west").mean() < 0.44
    assert _ks(loan_train["income"], loan["income"]) < 1e-6
    assert _ks(loan_train["credit_score"], loan["credit_score"]) > 0.001
    assert _chi2(loan_train["purpose"], loan["purpose"]) > 0.001

    demand_train, demand = training["demand-forecast"], _pooled(streams["demand-forecast"], COVARIATE)
    assert 1.12 < demand["price"].median() / demand_train["price"].median() < 1.28
    assert 0.40 < (demand["promo_depth"] > 0).mean() < 0.50
    assert 5.0 < demand["temperature"].mean() - demand_train["temperature"].mean() < 7.0
    assert 0.35 < (demand["store_type"] == "outlet").mean() < 0.45
    assert _chi2(demand_train["weekday"], demand["weekday"]) > 0.001


def test_describe_schedule_tells_what_when_and_how_much() -> None:
    text = describe_schedule(DriftSchedule(), model="loan-default", days=30)
    assert "day 10 (2024-07-11)" in text and "day 20 (2024-07-21)" in text
    assert "income median falls by 25%" in text and "debt_to_income" in text
    assert "3 days later" in text and "demand-forecast" not in text
    half = describe_schedule(DriftSchedule(covariate_magnitude=0.5, concept_start=None))
    assert "0.5 times its full size" in half and "Concept" not in half and "demand-forecast" in half
    assert "after the end of the 15-day stream" in describe_schedule(days=15)


# --- malformed batches ----------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", MALFORMED_KINDS)
def test_malformed_kinds_are_what_they_say(name: str, kind: str, training, tmp_path) -> None:
    spec = MODELS[name]
    batch = malformed_batch(name, kind, seed=1)
    if kind == "unreadable":
        assert isinstance(batch, bytes)
        path = write_malformed(tmp_path / "bad.csv", name, kind, seed=1)
        with pytest.raises((UnicodeDecodeError, pd.errors.ParserError, ValueError)):
            pd.read_csv(path)
        with pytest.raises(Exception):  # noqa: B017 - pyarrow raises its own error type
            pd.read_parquet(io.BytesIO(batch))
        return
    column = batch.attrs["column"]
    path = write_malformed(tmp_path / "bad.csv", name, kind, seed=1)
    back = pd.read_csv(path)
    for frame in (batch, back):
        if kind == "missing_column":
            assert column in spec.features and column not in frame.columns
        elif kind == "extra_column":
            assert column not in spec.feature_columns and column in frame.columns
        elif kind == "wrong_type":
            assert column in spec.numerical and pd.api.types.is_string_dtype(frame[column])
            assert pd.to_numeric(frame[column], errors="coerce").isna().all()
        elif kind == "all_null_column":
            assert frame[column].isna().all() and len(frame) == 200
        elif kind == "unseen_category":
            unseen = set(frame[column]) - set(training[name][column])
            assert len(unseen) == 1 and 0.15 < frame[column].isin(unseen).mean() < 0.35
        elif kind == "empty":
            assert len(frame) == 0 and list(frame.columns) == spec.feature_columns
    if kind not in ("missing_column", "extra_column"):
        assert list(back.columns) == spec.feature_columns


def test_malformed_refuses_what_it_cannot_do() -> None:
    with pytest.raises(UsageError, match="unknown malformed kind"):
        malformed_batch("loan-default", "upside_down")
    with pytest.raises(UsageError, match="not numerical"):
        malformed_batch("loan-default", "wrong_type", column="region")
    with pytest.raises(NotFoundError, match="no demo model"):
        training_frame("churn", 10)


# --- files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_stream_writes_batches_and_labels_in_time_order(fmt: str, tmp_path) -> None:
    spec = LOAN
    batches = production_stream("loan-default", 6, 40, seed=2, schedule=DriftSchedule(label_delay_days=2))
    files = write_stream(batches, tmp_path / "batches", tmp_path / "labels", fmt=fmt)
    names = sorted(p.name for p in (tmp_path / "batches").iterdir())
    assert names == [f"{b.day.isoformat()}.{fmt}" for b in batches] == [p.name for p in files.batches]
    assert [p.name for p in files.labels] == [f"{b.labels_arrive.isoformat()}.{fmt}" for b in batches]
    assert files.labels[0].name == "2024-07-03." + fmt

    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    features = pd.concat([read(p) for p in files.batches], ignore_index=True)
    labels = pd.concat([read(p) for p in files.labels], ignore_index=True)
    assert features[spec.id_column].is_unique
    assert set(features[spec.id_column]) == set(labels[spec.id_column])
    assert list(labels.columns) == [spec.id_column, spec.target]
    stamps = pd.to_datetime(features[spec.timestamp_column])
    assert stamps.is_monotonic_increasing
    expected = pd.concat([b.features for b in batches], ignore_index=True)
    assert (stamps == expected[spec.timestamp_column]).all()
    if fmt == "parquet":
        pd.testing.assert_frame_equal(features, expected)


def test_write_stream_through_a_day_writes_only_what_has_arrived(tmp_path) -> None:
    batches = production_stream("demand-forecast", 5, 20, seed=2)  # labels 3 days late
    files = write_stream(batches, tmp_path / "b", tmp_path / "l", through=date(2024, 7, 4))
    assert [p.name for p in files.batches] == [f"2024-07-0{d}.csv" for d in (1, 2, 3, 4)]
    assert [p.name for p in files.labels] == ["2024-07-04.csv"]
    assert (tmp_path / "b" / "2024-07-01.csv").read_text().splitlines()[1].split(",")[1] == "2024-07-01"


# --- wide frames ----------------------------------------------------------------------------


def test_wide_frame_without_shift_is_one_distribution() -> None:
    reference, current = wide_frame(seed=0), wide_frame(seed=1)
    assert reference.shape == (10_000, 20) and current.attrs["shifted_columns"] == []
    pvalues = [
        _ks(reference[c], current[c]) if c.startswith("num") else _chi2(reference[c], current[c])
        for c in reference.columns
    ]
    assert sum(p < 0.01 for p in pvalues) <= 2


def test_wide_frame_shifts_exactly_the_named_columns() -> None:
    reference = wide_frame(seed=0)
    shifted = wide_frame(
        seed=1,
        shift=[Shift("mean", 0.2, columns=2), Shift("scale", 0.5, ("num_05",)), Shift("mix", 0.1, 1)],
    )
    assert shifted.attrs["shifted_columns"] == ["num_00", "num_01", "num_05", "cat_00"]
    for column in ("num_00", "num_01", "num_05"):
        assert _ks(reference[column], shifted[column]) < 1e-6
    assert 1.4 < shifted["num_05"].std() / reference["num_05"].std() < 1.6
    moved = (
        reference["cat_00"].value_counts(normalize=True) - shifted["cat_00"].value_counts(normalize=True)
    ).abs()
    assert 0.08 < moved.sum() / 2 < 0.12
    unshifted = wide_frame(seed=1)
    pd.testing.assert_series_equal(unshifted["num_02"], shifted["num_02"])


@pytest.mark.parametrize("name", NAMES)
def test_spec_fields_make_a_valid_model_entry(name: str) -> None:
    from zenops.kernel.config import ModelSpec

    fields = MODELS[name].spec_fields()
    spec = ModelSpec.model_validate(
        {
            **fields,
            "training_data": f"data/{name}/train.csv",
            "batches": f"data/{name}/batches",
            "labels": f"data/{name}/labels",
            "trainer": {"estimator": "sklearn.ensemble.HistGradientBoostingRegressor"},
        }
    )
    assert spec.columns == [*MODELS[name].feature_columns, MODELS[name].target]


# --- covariate kinds: a shift the champion handles, one it does not -------------------------


def _kind_days(name: str, kind: str, days: range, seed: int = 7) -> pd.DataFrame:
    schedule = DriftSchedule(
        covariate_start=0, covariate_ramp_days=1, concept_start=None, covariate_kind=kind
    )
    batches = production_stream(name, days=days.stop, rows_per_day=500, seed=seed, schedule=schedule)
    return _pooled(batches, days)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", ["within", "beyond"])
def test_covariate_kinds_move_the_same_rows(name: str, kind: str) -> None:
    spec = MODELS[name]
    moved = _kind_days(name, kind, range(0, 2))
    standard = _pooled(production_stream(name, days=2, rows_per_day=500, seed=7), range(0, 2))
    stable = _pooled(production_stream(name, 2, 500, seed=7, schedule=DriftSchedule.stable()), range(0, 2))
    pd.testing.assert_series_equal(moved[spec.id_column], stable[spec.id_column])
    pd.testing.assert_series_equal(moved[spec.timestamp_column], standard[spec.timestamp_column])
    assert not moved[spec.features].equals(stable[spec.features])
    with pytest.raises(ConfigError, match="covariate_kind"):
        DriftSchedule(covariate_kind="sideways")


@pytest.mark.parametrize(
    ("name", "moved", "kept"),
    [
        ("loan-default", {"region", "purpose", "home_ownership", "credit_score"}, {"age", "debt_to_income"}),
        ("demand-forecast", {"region", "temperature", "promo_depth", "price"}, {"store_type", "weekday"}),
    ],
)
def test_within_and_beyond_move_their_documented_columns(name: str, moved: set, kept: set, training) -> None:
    train = training[name]
    within, beyond = _kind_days(name, "within", range(0, 4)), _kind_days(name, "beyond", range(0, 4))
    spec = MODELS[name]

    def p_value(frame: pd.DataFrame, column: str) -> float:
        test = _chi2 if column in spec.categorical else _ks
        return test(train[column], frame[column])

    documented = {
        "within": {
            c for c in moved if c in ("region", "purpose", "home_ownership", "temperature", "promo_depth")
        },
        "beyond": {c for c in moved if c in ("credit_score", "price")},
    }
    for kind, frame in (("within", within), ("beyond", beyond)):
        for column in documented[kind]:
            assert p_value(frame, column) < 1e-6, (kind, column)
        for column in kept:
            assert p_value(frame, column) > 1e-3, (kind, column)


def test_write_stream_since_a_day_writes_only_that_day_onwards(tmp_path) -> None:
    batches = production_stream("demand-forecast", 5, 20, seed=2)  # labels 3 days late
    day = date(2024, 7, 4)
    files = write_stream(batches, tmp_path / "b", tmp_path / "l", through=day, since=day)
    assert [p.name for p in files.batches] == ["2024-07-04.csv"]
    assert [p.name for p in files.labels] == ["2024-07-04.csv"]
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["2024-07-04.csv"]
