"""A label-free performance estimate as plain data, and which estimator a model's metric has.

The NannyML adapter (:mod:`drift.adapters.nannyml`) produces these; the policy and the
monitor read them without importing NannyML.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from zenops.kernel.config import ModelSpec

CBPE_METRICS = ("roc_auc", "accuracy", "f1")
DLE_METRICS = ("rmse", "mae")


@dataclass(frozen=True)
class PerformanceEstimate:
    """The model's metric estimated on a batch without labels.

    ``lower``/``upper`` are NannyML's confidence band (± 3 sampling errors);
    ``standard_error`` is its sampling error for a batch of this size.
    ``trusted`` is False when the estimate should not decide a verdict (the
    estimator failed its calibration check on the reference, or the batch lies
    outside the reference's support); ``distrust`` then says why, in one line.
    """

    metric: str
    value: float
    lower: float | None
    upper: float | None
    standard_error: float | None
    method: str
    rows: int
    trusted: bool = True
    distrust: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return asdict(self)


def estimation_method(spec: ModelSpec, classes: int = 2) -> str | None:
    """``CBPE`` or ``DLE`` when the model's metric can be estimated, else None."""
    metric = spec.metric_name
    if spec.task == "classification":
        return "CBPE" if metric in CBPE_METRICS and classes <= 2 else None
    return "DLE" if metric in DLE_METRICS else None
