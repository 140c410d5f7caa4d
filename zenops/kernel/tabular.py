"""Reading tabular files and checking them against a model's spec.

Shared by training and monitoring: one reader for CSV and Parquet, and checks
whose one-line errors name the file and the column.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from zenops.kernel.config import ModelSpec
from zenops.kernel.errors import ConfigError, DataError, NotFoundError


def read_table(path: Path, label: str | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet file; any failure is a DataError naming the file."""
    name = label or str(path)
    if not path.is_file():
        raise NotFoundError(f"{name}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix == ".csv":
            frame = pd.read_csv(path)
        else:
            raise DataError(f"{name}: not a .csv or .parquet file")
    except pd.errors.EmptyDataError:
        raise DataError(f"{name}: the file is empty") from None
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{name}: unreadable ({first})") from None
    if frame.empty:
        raise DataError(f"{name}: the file has no rows")
    return frame


def require_columns(present: Iterable[str], spec: ModelSpec, name: str, config_name: str) -> None:
    """Every column the spec names is in ``present`` (the data ``name``'s columns), else a
    configuration error naming the field and the column."""
    present = set(present)
    roles = {
        "id_column": [spec.id_column],
        "timestamp_column": [spec.timestamp_column],
        "target": [spec.target],
        "features.numerical": spec.features.numerical,
        "features.categorical": spec.features.categorical,
    }
    for role, columns in roles.items():
        for column in columns:
            if column not in present:
                raise ConfigError(
                    f"{config_name}: model '{spec.name}' {role}: column '{column}' is not in {name}"
                )


def check_training_frame(frame: pd.DataFrame, spec: ModelSpec, name: str, config_name: str) -> pd.DataFrame:
    """Check that training data has every column of the spec with usable types.

    A column named in the configuration but absent from the data is a
    configuration error naming both; a wrong type or a null target is a data error.
    """
    require_columns(frame.columns, spec, name, config_name)
    for column in spec.features.numerical:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            sample = frame[column].dropna().astype(str).head(1).tolist()
            raise DataError(f"{name}: column '{column}' must be numerical, found values like {sample}")
    if frame[spec.target].isna().any():
        raise DataError(
            f"{name}: column '{spec.target}' (target) has {int(frame[spec.target].isna().sum())} empty values"
        )
    if spec.task == "classification" and frame[spec.target].nunique() < 2:
        raise DataError(
            f"{name}: column '{spec.target}' (target) has a single class; classification needs two"
        )
    if spec.task == "regression" and not pd.api.types.is_numeric_dtype(frame[spec.target]):
        raise DataError(f"{name}: column '{spec.target}' (target) must be numerical for regression")
    for column in spec.features.all:
        if frame[column].isna().all():
            raise DataError(f"{name}: column '{column}' has no values")
    return frame
