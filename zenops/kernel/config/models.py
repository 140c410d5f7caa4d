"""Configuration of one model: its columns, trainer, drift policy and promotion gate."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from zenops.kernel.config.base import Duration, Name, _Strict, parse_duration


class Features(_Strict):
    numerical: list[str] = []
    categorical: list[str] = []

    @property
    def all(self) -> list[str]:
        return [*self.numerical, *self.categorical]


class TrainerSpec(_Strict):
    """An estimator by import path with parameters, or a ``module:function`` entry point.

    The entry point is called as ``function(train: DataFrame, spec: ModelSpec,
    params: dict) -> fitted estimator`` and must return an object with ``predict``
    (and ``predict_proba`` for classification).
    """

    estimator: str | None = None
    entry_point: str | None = None
    params: dict[str, Any] = {}

    @model_validator(mode="after")
    def _one_of(self) -> TrainerSpec:
        if (self.estimator is None) == (self.entry_point is None):
            raise ValueError("give exactly one of 'estimator' or 'entry_point'")
        if self.estimator and "." not in self.estimator:
            raise ValueError(
                f"estimator '{self.estimator}' is not an import path such as sklearn.linear_model.Ridge"
            )
        if self.entry_point and ":" not in self.entry_point:
            raise ValueError(f"entry_point '{self.entry_point}' is not of the form module:function")
        return self

    @property
    def reference(self) -> str:
        """What the ``zenops.trainer`` tag records."""
        return self.estimator or self.entry_point or ""


class DriftPolicy(_Strict):
    """Thresholds that turn a monitoring report into a verdict (rules in ``drift/policy.py``).

    - ``alpha``: family-wise false-alarm rate per batch; the per-column drift tests
      (and the prediction's) are corrected for multiple testing with Holm's procedure
      at this level. Also the one-sided level at which a performance drop must be
      significant against its standard error.
    - ``min_rows``: a batch with fewer rows is not tested for drift (``warn`` only).
    - ``drift_share_warn`` / ``drift_share_refresh``: share of features that must
      drift for a ``warn`` / a ``refresh``. The default warn share, 0, warns as soon
      as one feature drifts: after the Holm correction that happens on at most
      ``alpha`` of the batches without drift, and a strong shift of a single feature
      among many deserves a look.
    - ``persistence``: consecutive drifting batches needed before ``refresh``.
    - ``performance_drop_refresh`` / ``performance_drop_rebuild``: relative drop of
      the model's metric against its holdout baseline that asks for a refresh / a
      rebuild. Measured on labels, both apply at once; an estimate (no labels) asks
      for a refresh at most — a rebuild waits for labels to confirm the drop.
    - ``reference_sample``: rows sampled (seeded) from large training data.
    - ``min_effect`` (default 0.05): a significant column counts as drifted only if
      its effect size — the KS statistic for numerical columns, the total variation
      distance for categorical ones, both in [0, 1]: the largest share of probability
      mass that moved — is at least this. Significance alone grows with the batch: at
      50,000 rows a shift of 0.05 standard deviations is certain and harmless. Below
      a few thousand rows the Holm-corrected test already needs a larger effect, so
      the floor changes nothing there (``benchmarks/README.md``, "The policy"); 0 turns
      it off.
    - ``performance_first`` (default true): when the batch has a trustworthy
      performance reading — measured on at least ``min_labelled_rows`` labels, or a
      trusted estimate — and it shows no significant drop, drift gives ``warn`` at
      most; drift alone asks for a refresh (``persistence``) only without such a
      reading. False: drift escalates whatever the performance says.
    - ``min_labelled_rows`` (default 100): fewer labelled rows are reported but not
      judged; the estimate (if any) is used instead.
    - ``unseen_category_tolerance`` (default 0.01): a batch is refused as a data
      problem when more than this share of a categorical column's values are
      categories absent from the training data; below it, those values are left out
      of the drift test.
    - ``allow_extra_columns`` (default false): columns the model does not know make
      the batch a data problem (a renamed column shows up as one missing and one
      extra); set true to ignore them instead.
    """

    alpha: float = Field(0.01, gt=0, lt=1)
    min_rows: int = Field(200, ge=1)
    drift_share_warn: float = Field(0.0, ge=0, le=1)
    drift_share_refresh: float = Field(0.25, ge=0, le=1)
    persistence: int = Field(2, ge=1)
    performance_drop_refresh: float = Field(0.05, ge=0, le=1)
    performance_drop_rebuild: float = Field(0.15, ge=0, le=1)
    reference_sample: int = Field(10_000, ge=100)
    min_effect: float = Field(0.05, ge=0, le=1)
    min_labelled_rows: int = Field(100, ge=1)
    unseen_category_tolerance: float = Field(0.01, ge=0, le=1)
    allow_extra_columns: bool = False
    performance_first: bool = True


class PromotionGate(_Strict):
    """How much better a challenger must be to replace the champion (rules in ``registry/comparison.py``).

    - ``margin`` (default 0): the relative improvement of the model's metric the
      challenger must show, e.g. 0.02 = 2% better than the champion.
    - ``confidence`` (default 0.95): the two-sided level of the paired bootstrap
      interval of the relative improvement; the challenger is promoted only when the
      interval's lower bound is above ``margin``.
    - ``window_days`` (default none): the comparison window, held out from the
      challenger's training: the most recent this many days of labelled production
      rows. None: the most recent whole days that hold at least the model's
      ``holdout_fraction`` of the labelled production rows.
    - ``train_window_days`` (default none = all): the refreshed training set keeps
      only rows (the champion's data and production rows alike) from this many days
      before the comparison window.
    - ``min_rows`` (default 200): fewer labelled rows in the comparison window hand
      the refresh back instead of promoting on too little evidence.
    - ``resamples`` (default 1000): paired bootstrap resamples (seeded by the model's ``seed``).
    - ``require_paired_test`` (default false): also require the paired test
      (McNemar on classification errors, Wilcoxon signed-rank on absolute regression
      errors) to favour the challenger at level ``1 - confidence``.
    - ``training_slots`` (default 2): trainings that may run at once across all
      models (the Prefect global concurrency limit ``zenops-training``); the limit is
      the smallest value any model of the workspace sets.
    - ``approval`` (default ``none``): ``required`` makes a challenger or candidate that
      passes the gate wait for a person: an ``approval`` ticket opens (its SLA tier's
      ``approval`` time) and ``zenops approve MODEL VERSION --by NAME`` promotes it
      (``zenops reject`` turns it down); ``none`` promotes at once.
    """

    margin: float = Field(0.0, ge=0)
    confidence: float = Field(0.95, gt=0, lt=1)
    window_days: int | None = Field(None, ge=1)
    train_window_days: int | None = Field(None, ge=1)
    min_rows: int = Field(200, ge=1)
    resamples: int = Field(1000, ge=100, le=100_000)
    require_paired_test: bool = False
    training_slots: int = Field(2, ge=1, le=64)
    approval: Literal["none", "required"] = "none"


CLASSIFICATION_METRICS = ("roc_auc", "accuracy", "f1", "log_loss")
REGRESSION_METRICS = ("rmse", "mae", "r2")


class ModelSpec(_Strict):
    """One deployed model: its data, trainer, policy and who cares about it."""

    name: Name
    task: Literal["classification", "regression"]
    target: str
    id_column: str
    timestamp_column: str
    features: Features
    training_data: str
    batches: str
    labels: str
    label_wait: Duration = timedelta(days=7)
    trainer: TrainerSpec
    metric: str | None = None
    sla: str = "silver"
    value: int = Field(5, ge=1, le=10)
    sponsor: str | None = None
    owner: str | None = None
    holdout_fraction: float = Field(0.2, gt=0, lt=1)
    seed: int = 0
    drift: DriftPolicy = DriftPolicy()
    promotion: PromotionGate = PromotionGate()

    @model_validator(mode="before")
    @classmethod
    def _label_folder(cls, data: Any) -> Any:
        """``labels`` is a folder, or ``{path: FOLDER, wait: 7d}`` with how long labels wait."""
        if isinstance(data, dict) and isinstance(data.get("labels"), dict):
            data = dict(data)
            folder = dict(data.pop("labels"))
            unknown = sorted(set(folder) - {"path", "wait"})
            if unknown:
                raise ValueError(f"labels: unknown key {', '.join(unknown)} (expected path, wait)")
            if "path" not in folder:
                raise ValueError("labels: path is required (the folder where label files arrive)")
            data["labels"] = folder["path"]
            if "wait" in folder:
                try:
                    data["label_wait"] = parse_duration(folder["wait"])
                except (ValueError, TypeError) as error:
                    raise ValueError(f"labels.wait: {error}") from None
        return data

    @field_validator("training_data")
    @classmethod
    def _tabular_file(cls, value: str) -> str:
        if Path(value).suffix.lower() not in (".csv", ".parquet"):
            raise ValueError(f"'{value}' is neither a .csv nor a .parquet file")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        allowed = CLASSIFICATION_METRICS if self.task == "classification" else REGRESSION_METRICS
        if self.metric is not None and self.metric not in allowed:
            raise ValueError(f"metric '{self.metric}' is not one of {', '.join(allowed)} for {self.task}")
        if not self.features.all:
            raise ValueError("features: at least one numerical or categorical column is needed")
        seen: set[str] = set()
        for column in self.features.all:
            if column in seen:
                raise ValueError(f"features: column '{column}' is listed twice")
            seen.add(column)
        for role in ("target", "id_column", "timestamp_column"):
            if getattr(self, role) in seen:
                raise ValueError(f"{role}: column '{getattr(self, role)}' is also listed as a feature")
        return self

    @property
    def metric_name(self) -> str:
        """The model's metric, defaulting to roc_auc (classification) or rmse (regression)."""
        return self.metric or ("roc_auc" if self.task == "classification" else "rmse")

    @property
    def columns(self) -> list[str]:
        """Every column the model's data must have."""
        return [self.id_column, self.timestamp_column, *self.features.all, self.target]
