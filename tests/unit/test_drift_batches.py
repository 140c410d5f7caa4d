"""Batch validation: one test per fault, each naming the file and the column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drift.batches import (
    ALL_NULL,
    DUPLICATE_IDS,
    EMPTY,
    EXTRA_COLUMNS,
    MISSING_COLUMNS,
    UNREADABLE,
    UNSEEN_CATEGORIES,
    WRONG_TYPE,
    BatchCheck,
    check_batch,
    check_frame,
)
from zenops.kernel.config import ModelSpec
from zenops.kernel.errors import DataError

SPEC = ModelSpec.model_validate(
    {
        "name": "loan-default",
        "task": "classification",
        "target": "defaulted",
        "id_column": "loan_id",
        "timestamp_column": "applied_at",
        "features": {"numerical": ["income", "age"], "categorical": ["region", "grade"]},
        "training_data": "data/loan-default/train.parquet",
        "batches": "data/loan-default/batches",
        "labels": "data/loan-default/labels",
        "trainer": {"estimator": "sklearn.linear_model.LogisticRegression"},
    }
)


def reference(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "loan_id": np.arange(rows),
            "applied_at": pd.date_range("2025-01-01", periods=rows, freq="h"),
            "income": rng.normal(50_000, 10_000, rows),
            "age": rng.integers(18, 80, rows),
            "region": rng.choice(["north", "south", "east", "west"], rows),
            "grade": rng.integers(1, 6, rows),
            "defaulted": rng.integers(0, 2, rows),
        }
    )


def batch(rows: int = 200, seed: int = 1) -> pd.DataFrame:
    frame = reference(rows, seed).drop(columns=["defaulted"])
    frame["loan_id"] += 10_000
    return frame


def write(frame: pd.DataFrame, tmp_path: Path, name: str = "2026-01-05.csv") -> Path:
    path = tmp_path / name
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return path


def only_problem(check: BatchCheck, code: str) -> str:
    assert not check.ok
    assert check.frame is None
    assert [p.code for p in check.problems] == [code], check.messages
    return check.problems[0].message


@pytest.mark.parametrize("name", ["2026-01-05.csv", "2026-01-05.parquet"])
def test_a_clean_batch_passes_with_numbers_and_categories_as_in_training(tmp_path, name):
    check = check_batch(write(batch(), tmp_path, name), SPEC, reference())
    assert check.ok, check.messages
    assert check.problems == []
    frame = check.frame
    assert list(frame.columns) == ["loan_id", "applied_at", "income", "age", "region", "grade"]
    assert len(frame) == 200
    assert pd.api.types.is_numeric_dtype(frame["income"])
    assert pd.api.types.is_numeric_dtype(frame["grade"])


def test_a_batch_may_carry_the_target_and_the_model_outputs(tmp_path):
    frame = batch()
    frame["defaulted"] = 0
    frame["prediction"] = 1
    frame["prediction_proba"] = 0.7
    check = check_batch(write(frame, tmp_path), SPEC, reference())
    assert check.ok, check.messages
    assert list(check.frame.columns)[-3:] == ["defaulted", "prediction", "prediction_proba"]


def test_an_empty_target_column_is_dropped_as_if_absent(tmp_path):
    frame = batch()
    frame["defaulted"] = np.nan
    check = check_batch(write(frame, tmp_path), SPEC, reference())
    assert check.ok
    assert "defaulted" not in check.frame.columns


def test_label_names_the_file_in_messages(tmp_path):
    frame = batch().drop(columns=["income"])
    check = check_batch(
        write(frame, tmp_path), SPEC, reference(), label="data/loan-default/batches/2026-01-05.csv"
    )
    assert check.messages == ["data/loan-default/batches/2026-01-05.csv: missing column 'income'"]


@pytest.mark.parametrize(
    "name, content",
    [
        ("2026-01-05.csv", b"\x89ZENOPS\x00\xff\xfe\r\n\x00\x01\x02\xff"),
        ("2026-01-05.parquet", b"PAR1 this is not parquet at all"),
        ("2026-01-05.json", b'{"income": 1}'),
    ],
)
def test_an_unreadable_file_is_a_problem_not_a_crash(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    message = only_problem(check_batch(path, SPEC, reference()), UNREADABLE)
    assert message.startswith(str(path))
    assert "\n" not in message


def test_a_missing_file_is_unreadable(tmp_path):
    message = only_problem(check_batch(tmp_path / "gone.csv", SPEC, reference()), UNREADABLE)
    assert "no such file" in message


@pytest.mark.parametrize("how", ["zero bytes", "header only", "parquet without rows"])
def test_an_empty_batch_is_a_problem(tmp_path, how):
    if how == "zero bytes":
        path = tmp_path / "b.csv"
        path.write_bytes(b"")
    elif how == "header only":
        path = write(batch().iloc[0:0], tmp_path, "b.csv")
    else:
        path = write(batch().iloc[0:0], tmp_path, "b.parquet")
    message = only_problem(check_batch(path, SPEC, reference()), EMPTY)
    assert message.startswith(str(path))


def test_missing_columns_are_named(tmp_path):
    frame = batch().drop(columns=["income", "region"])
    path = write(frame, tmp_path)
    check = check_batch(path, SPEC, reference())
    message = only_problem(check, MISSING_COLUMNS)
    assert message == f"{path}: missing columns 'income', 'region'"
    assert check.problems[0].column == "income"


def test_extra_columns_are_refused_unless_the_policy_allows_them(tmp_path):
    frame = batch()
    frame["broker_code"] = "X1"
    path = write(frame, tmp_path)
    message = only_problem(check_batch(path, SPEC, reference()), EXTRA_COLUMNS)
    assert "'broker_code'" in message
    assert "allow_extra_columns" in message
    lenient = SPEC.drift.model_copy(update={"allow_extra_columns": True})
    check = check_batch(path, SPEC, reference(), policy=lenient)
    assert check.ok
    assert "broker_code" in check.frame.columns
    assert any("broker_code" in note for note in check.notes)


def test_text_in_a_numerical_column_is_a_wrong_type(tmp_path):
    frame = batch()
    frame["income"] = frame["income"].map(lambda v: f"{v / 1000:.0f}k")
    path = write(frame, tmp_path)
    check = check_batch(path, SPEC, reference())
    message = only_problem(check, WRONG_TYPE)
    assert message.startswith(f"{path}: column 'income' has non-numeric values ('")
    assert "k'" in message
    assert check.problems[0].column == "income"


def test_numbers_written_as_text_are_converted(tmp_path):
    frame = batch()
    frame["income"] = frame["income"].round(2).astype(str)
    check = check_batch(write(frame, tmp_path, "b.parquet"), SPEC, reference())
    assert check.ok
    assert pd.api.types.is_float_dtype(check.frame["income"])


def test_an_all_null_column_is_a_problem(tmp_path):
    frame = batch()
    frame["age"] = np.nan
    path = write(frame, tmp_path)
    message = only_problem(check_batch(path, SPEC, reference()), ALL_NULL)
    assert message == f"{path}: column 'age' has no values"


def test_unseen_categories_above_the_tolerance_are_a_problem(tmp_path):
    frame = batch()
    frame.loc[:49, "region"] = "central"  # 25% of rows
    path = write(frame, tmp_path)
    message = only_problem(check_batch(path, SPEC, reference()), UNSEEN_CATEGORIES)
    assert message.startswith(f"{path}: column 'region' has categories not seen in training ('central')")
    assert "25% of rows" in message


def test_a_few_unseen_categories_are_tolerated_and_noted(tmp_path):
    frame = batch(rows=1000)
    frame.loc[:4, "region"] = "central"  # 0.5% of rows, under the 1% tolerance
    check = check_batch(write(frame, tmp_path), SPEC, reference())
    assert check.ok
    assert any("'central'" in note for note in check.notes)


def test_numeric_categories_in_text_match_numeric_training_categories(tmp_path):
    frame = batch()
    frame["grade"] = frame["grade"].astype(str)
    check = check_batch(write(frame, tmp_path, "b.parquet"), SPEC, reference())
    assert check.ok, check.messages
    assert set(check.frame["grade"]) <= set(reference()["grade"])


def test_numeric_categories_match_text_training_categories():
    ref = reference()
    ref["grade"] = ref["grade"].astype(str)
    check = check_frame(batch(), SPEC, ref, source="b.csv")
    assert check.ok, check.messages
    assert set(check.frame["grade"]) <= set(ref["grade"])


def test_repeated_ids_are_a_problem():
    frame = batch()
    frame.loc[1, "loan_id"] = frame.loc[0, "loan_id"]
    message = only_problem(check_frame(frame, SPEC, reference(), source="b.csv"), DUPLICATE_IDS)
    assert message.startswith("b.csv: column 'loan_id' repeats 1 ids")


def test_timestamps_that_do_not_parse_are_a_wrong_type():
    frame = batch()
    frame["applied_at"] = frame["applied_at"].astype(str)
    frame.loc[3, "applied_at"] = "yesterday-ish"
    message = only_problem(check_frame(frame, SPEC, reference(), source="b.csv"), WRONG_TYPE)
    assert message == "b.csv: column 'applied_at' has values that are not times ('yesterday-ish')"


def test_a_probability_outside_zero_and_one_is_a_wrong_type():
    frame = batch()
    frame["prediction_proba"] = 0.5
    frame.loc[0, "prediction_proba"] = 1.5
    message = only_problem(check_frame(frame, SPEC, reference(), source="b.csv"), WRONG_TYPE)
    assert "outside [0, 1]" in message


def test_every_problem_is_reported_at_once():
    frame = batch().drop(columns=["age"])
    frame["income"] = "n/a"
    frame["extra"] = 1
    check = check_frame(frame, SPEC, reference(), source="b.csv")
    assert {p.code for p in check.problems} == {MISSING_COLUMNS, EXTRA_COLUMNS, WRONG_TYPE}


def test_raise_for_problems_gives_a_one_line_data_error():
    check = check_frame(batch().drop(columns=["age"]), SPEC, reference(), source="b.csv")
    with pytest.raises(DataError, match=r"^b.csv: missing column 'age'$"):
        check.raise_for_problems()
    assert check_frame(batch(), SPEC, reference(), source="b.csv").raise_for_problems() is not None


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(content=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".parquet"]))
def test_arbitrary_bytes_never_crash_the_check(tmp_path, content, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(content)
    check = check_batch(path, SPEC, reference(50))
    assert isinstance(check, BatchCheck)
    assert not check.ok
    assert all(p.message.startswith(str(path)) for p in check.problems)
