from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from zenops.kernel.config import parse_config
from zenops.kernel.errors import ConfigError, DataError, NotFoundError
from zenops.kernel.tabular import check_training_frame, read_table
from zenops.services.train.fitting import build_pipeline, split_holdout, train_and_evaluate
from zenops.workspace import example_config


@pytest.fixture(scope="module")
def config():
    return parse_config(yaml.safe_load(example_config()))


def frame(rows: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {
            "loan_id": [f"L{i:05d}" for i in range(rows)],
            "applied_at": pd.date_range("2025-01-01", periods=rows, freq="h"),
            "income": rng.normal(50_000, 12_000, rows),
            "loan_amount": rng.normal(15_000, 5_000, rows),
            "age": rng.integers(21, 70, rows),
            "credit_score": rng.normal(650, 60, rows),
            "debt_to_income": rng.random(rows),
            "employment_years": rng.integers(0, 30, rows),
            "region": rng.choice(["north", "south", "east", "west"], rows),
            "purpose": rng.choice(["car", "home"], rows),
            "home_ownership": rng.choice(["rent", "own"], rows),
        }
    )
    data["defaulted"] = (rng.random(rows) < 1 / (1 + np.exp(-(4 * data.debt_to_income - 3)))).astype(int)
    return data


def test_the_pipeline_fits_and_evaluates_on_a_seeded_holdout(config) -> None:
    spec = config.model("loan-default")
    first = train_and_evaluate(spec, frame())
    second = train_and_evaluate(spec, frame())
    assert set(first.metrics) == {"accuracy", "f1", "roc_auc", "log_loss"}
    assert first.metrics == second.metrics
    assert 0.5 < first.metrics["roc_auc"] <= 1
    assert len(first.holdout) == 120 and "prediction_proba" in first.holdout


def test_the_holdout_split_depends_on_the_seed(config) -> None:
    spec = config.model("loan-default")
    _, a = split_holdout(frame(), spec)
    _, b = split_holdout(frame(), spec.model_copy(update={"seed": 1}))
    assert set(a.index) != set(b.index)


def test_an_estimator_that_cannot_be_imported_names_the_field(config) -> None:
    spec = config.model("loan-default")
    bad = spec.model_copy(
        update={"trainer": spec.trainer.model_copy(update={"estimator": "sklearn.nothing.Here"})}
    )
    with pytest.raises(ConfigError, match="trainer.estimator: cannot import 'sklearn.nothing.Here'"):
        build_pipeline(bad)


def test_unknown_estimator_params_name_the_field(config) -> None:
    spec = config.model("loan-default")
    bad = spec.model_copy(update={"trainer": spec.trainer.model_copy(update={"params": {"depth_of_sea": 3}})})
    with pytest.raises(ConfigError, match="trainer.params"):
        build_pipeline(bad)


def test_a_configured_column_missing_from_the_data_is_a_config_error(config) -> None:
    spec = config.model("loan-default")
    with pytest.raises(ConfigError, match="features.numerical: column 'income' is not in train.parquet"):
        check_training_frame(frame().drop(columns=["income"]), spec, "train.parquet", "zenops.yaml")


def test_a_numerical_column_of_text_is_a_data_error(config) -> None:
    spec = config.model("loan-default")
    data = frame()
    data["income"] = "12k"
    with pytest.raises(DataError, match="train.parquet: column 'income' must be numerical"):
        check_training_frame(data, spec, "train.parquet", "zenops.yaml")


def test_a_target_with_gaps_or_one_class_is_a_data_error(config) -> None:
    spec = config.model("loan-default")
    data = frame().astype({"defaulted": float})
    data.loc[3, "defaulted"] = np.nan
    with pytest.raises(DataError, match="'defaulted' \\(target\\) has 1 empty values"):
        check_training_frame(data, spec, "t.csv", "zenops.yaml")
    with pytest.raises(DataError, match="single class"):
        check_training_frame(frame().assign(defaulted=0), spec, "t.csv", "zenops.yaml")


def test_reading_bad_files(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such file"):
        read_table(tmp_path / "none.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty.csv: the file is empty"):
        read_table(empty)
    header = tmp_path / "header.csv"
    header.write_text("a,b\n")
    with pytest.raises(DataError, match="header.csv: the file has no rows"):
        read_table(header)
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"\x00\x01not parquet")
    with pytest.raises(DataError, match="garbage.parquet: unreadable"):
        read_table(garbage)
    other = tmp_path / "table.xlsx"
    other.write_bytes(b"x")
    with pytest.raises(DataError, match="not a .csv or .parquet"):
        read_table(other)
