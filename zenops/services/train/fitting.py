"""Building, fitting and evaluating a model from its spec (scikit-learn only).

The default trainer is a pipeline: per-type preprocessing of the spec's features
(median imputation for numerical columns; most-frequent imputation and one-hot
encoding, unknown categories ignored, for categorical ones) followed by an
estimator given by import path and parameters. A ``module:function`` entry point
replaces the whole pipeline.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from drift.columns import PREDICTION, PROBABILITY
from zenops.kernel.config import ModelSpec, TrainerSpec
from zenops.kernel.errors import ConfigError, TrainingError


def import_object(reference: str, where: str) -> Any:
    """Import ``package.module.Name`` or ``package.module:function``."""
    if ":" in reference:
        module_name, _, attribute = reference.partition(":")
    else:
        module_name, _, attribute = reference.rpartition(".")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attribute)
    except (ImportError, AttributeError, ValueError) as error:
        raise ConfigError(f"{where}: cannot import '{reference}' ({error})") from None


def build_pipeline(spec: ModelSpec, where: str = "trainer"):  # -> sklearn Pipeline
    """The scikit-learn pipeline the spec describes, unfitted."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    trainer: TrainerSpec = spec.trainer
    estimator_class = import_object(trainer.estimator or "", f"{where}.estimator")
    try:
        estimator = estimator_class(**trainer.params)
    except TypeError as error:
        raise ConfigError(f"{where}.params: {error}") from None
    transformers = []
    if spec.features.numerical:
        transformers.append(("numerical", SimpleImputer(strategy="median"), spec.features.numerical))
    if spec.features.categorical:
        categorical = Pipeline(
            [
                ("impute", SimpleImputer(strategy="most_frequent")),
                ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
            ]
        )
        transformers.append(("categorical", categorical, spec.features.categorical))
    return Pipeline([("features", ColumnTransformer(transformers)), ("estimator", estimator)])


def split_holdout(frame: pd.DataFrame, spec: ModelSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded train/holdout split (stratified for classification)."""
    from sklearn.model_selection import train_test_split

    stratify = frame[spec.target] if spec.task == "classification" else None
    train, holdout = train_test_split(
        frame, test_size=spec.holdout_fraction, random_state=spec.seed, stratify=stratify
    )
    return train.sort_index(), holdout.sort_index()


def predict_frame(model: Any, frame: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """Predictions (and the positive-class probability) for ``frame``'s features."""
    features = frame[spec.features.all]
    out = pd.DataFrame(index=frame.index)
    out[PREDICTION] = model.predict(features)
    if spec.task == "classification" and hasattr(model, "predict_proba"):
        out[PROBABILITY] = model.predict_proba(features)[:, -1]
    return out


def metrics(y_true: Any, predictions: pd.DataFrame, spec: ModelSpec) -> dict[str, float]:
    """Every metric of the model's task, the spec's metric among them."""
    from sklearn import metrics as m

    y_true = np.asarray(y_true)
    y_pred = predictions[PREDICTION].to_numpy()
    if spec.task == "classification":
        scores: dict[str, float] = {
            "accuracy": float(m.accuracy_score(y_true, y_pred)),
            "f1": float(m.f1_score(y_true, y_pred, zero_division=0)),
        }
        if PROBABILITY in predictions and len(np.unique(y_true)) > 1:
            proba = predictions[PROBABILITY].to_numpy()
            scores["roc_auc"] = float(m.roc_auc_score(y_true, proba))
            scores["log_loss"] = float(m.log_loss(y_true, np.clip(proba, 1e-7, 1 - 1e-7), labels=[0, 1]))
        return scores
    return {
        "rmse": float(math.sqrt(m.mean_squared_error(y_true, y_pred))),
        "mae": float(m.mean_absolute_error(y_true, y_pred)),
        "r2": float(m.r2_score(y_true, y_pred)),
    }


@dataclass
class TrainingResult:
    """A fitted model, its holdout metrics and the holdout with predictions."""

    model: Any
    metrics: dict[str, float]
    holdout: pd.DataFrame
    train_rows: int


def fit(spec: ModelSpec, train: pd.DataFrame, where: str = "trainer") -> Any:
    """Fit the spec's trainer on ``train``."""
    try:
        if spec.trainer.entry_point:
            function = import_object(spec.trainer.entry_point, f"{where}.entry_point")
            model = function(train, spec, dict(spec.trainer.params))
            if not hasattr(model, "predict"):
                raise TrainingError(
                    f"{spec.trainer.entry_point} returned {type(model).__name__}, which cannot predict"
                )
            return model
        pipeline = build_pipeline(spec, where)
        pipeline.fit(train[spec.features.all], train[spec.target])
        return pipeline
    except (ConfigError, TrainingError):
        raise
    except (ValueError, TypeError) as error:
        first = str(error).splitlines()[0]
        raise TrainingError(f"model '{spec.name}': training failed: {first}") from None


def train_and_evaluate(spec: ModelSpec, frame: pd.DataFrame, where: str = "trainer") -> TrainingResult:
    """Split, fit on the training part, evaluate on the seeded holdout."""
    train, holdout = split_holdout(frame, spec)
    model = fit(spec, train, where)
    predictions = predict_frame(model, holdout, spec)
    holdout = pd.concat([holdout, predictions], axis=1)
    return TrainingResult(model, metrics(holdout[spec.target], predictions, spec), holdout, len(train))
