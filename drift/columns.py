"""Names of the columns the model's outputs travel in, in batches and reference frames.

A batch (or a reference frame) may carry the champion's outputs next to the
features:

- ``prediction``: the predicted class label (classification) or value (regression);
- ``prediction_proba``: for binary classification, the predicted probability of
  the positive class, ``predict_proba(X)[:, -1]`` — the greater label in sorted
  order, scikit-learn's convention.

The names are the training module's, so a holdout frame with predictions made at
training time can serve as the reference as it is. The target column is named by
the model's spec.
"""

from __future__ import annotations

import pandas as pd

#: The columns a champion's predictions are written to, beside the features.
PREDICTION = "prediction"
PROBABILITY = "prediction_proba"

__all__ = [
    "OUTPUT_COLUMNS",
    "PREDICTION",
    "PROBABILITY",
    "prediction_column",
]

OUTPUT_COLUMNS = (PREDICTION, PROBABILITY)


def prediction_column(reference: pd.DataFrame, current: pd.DataFrame) -> str | None:
    """The model output to test for prediction drift: the probability when both frames
    carry it, else the prediction when both carry it, else None."""
    for column in (PROBABILITY, PREDICTION):
        if column in reference.columns and column in current.columns:
            return column
    return None
