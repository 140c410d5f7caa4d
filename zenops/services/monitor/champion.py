"""The champion as monitoring needs it: model, exact training data, reference and estimator.

Loading a champion costs seconds (its training data restored at its DVC version, the
model loaded, a label-free estimator fitted), so its profile is kept in the workspace's
``profiles`` by model, version, run and spec: once per process and model store, and a
new champion or a changed spec is loaded afresh.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd

from drift.columns import PREDICTION
from drift.estimates import PerformanceEstimate
from drift.measurement import sample_reference
from drift.metrics import MeasuredPerformance, measured_performance
from registry.lineage import Lineage
from registry.versions import CHAMPION, ModelVersionInfo
from zenops.kernel.config import ModelSpec
from zenops.kernel.errors import DataError
from zenops.ports import Estimator
from zenops.services.monitor.wiring import MonitorWorkspace
from zenops.services.train.fitting import predict_frame, split_holdout

log = logging.getLogger("zenops.monitor")

__all__ = ["Champion", "estimate", "load_champion", "score_batch"]


@dataclass
class Champion:
    """What monitoring needs of the current champion, loaded once per version."""

    info: ModelVersionInfo
    model: Any
    training: pd.DataFrame  # the exact training data, restored at its DVC version
    reference: pd.DataFrame  # its seeded holdout (sampled when large), with predictions
    holdout: pd.DataFrame  # the holdout it was evaluated on, with predictions
    baseline: MeasuredPerformance
    estimator: Estimator | None
    classes: list[Any] | None = None  # the training data's classes (classification)


def load_champion(workspace: MonitorWorkspace, spec: ModelSpec) -> Champion | None:
    """The champion's profile, from the workspace's cache or loaded now; None without a champion."""
    registry = workspace.registry()
    info = registry.alias(spec.name, CHAMPION)
    if info is None:
        return None
    key = ("champion", spec.name, info.version, info.run_id, spec.model_dump_json())
    cached = workspace.profiles.get(key)
    if cached is not None:
        return cached
    champion = _load(workspace, spec, info)
    workspace.profiles[key] = champion
    return champion


def _load(workspace: MonitorWorkspace, spec: ModelSpec, info: ModelVersionInfo) -> Champion:
    trail = Lineage.from_tags(info.tags, f"{spec.name} version {info.version}")
    training = workspace.data_store().read_frame(trail.data)
    model = workspace.registry().load_version(spec.name, info.version)
    # The reference is the champion's seeded holdout, rebuilt from the exact training
    # data: rows of that data the model did not fit, so its predictions are honest and
    # prediction drift compares like with like.
    _, holdout = split_holdout(training, spec)
    holdout = pd.concat([holdout, predict_frame(model, holdout, spec)], axis=1)
    reference = sample_reference(holdout, spec)
    # The baseline with its sampling error, so a drop is judged against both noises.
    baseline = measured_performance(holdout, spec)
    estimator = workspace.estimator_factory()(holdout, spec)
    if estimator is not None and not estimator.check.passed:
        log.warning(
            "%s version %s: its label-free estimate is not trusted: %s",
            spec.name,
            info.version,
            estimator.check.reason,
        )
    classes = None
    if spec.task == "classification":
        classes = sorted(training[spec.target].dropna().unique().tolist())
    return Champion(info, model, training, reference, holdout, baseline, estimator, classes)


def score_batch(champion: Champion, frame: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """The batch with the champion's predictions, unless it carries its own."""
    if PREDICTION in frame.columns:
        return frame
    return pd.concat([frame, predict_frame(champion.model, frame, spec)], axis=1)


def estimate(champion: Champion, scored: pd.DataFrame) -> PerformanceEstimate | None:
    """The label-free estimate, or None when there is no estimator or it fails on this batch."""
    if champion.estimator is None:
        return None
    try:
        return champion.estimator.estimate(scored)
    except DataError as error:
        log.warning("%s: no performance estimate for this batch (%s)", champion.info.name, error)
        return None
