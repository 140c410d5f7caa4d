"""The champion as monitoring needs it: its profile, and its model when a batch is scored.

A cycle reads the champion's profile (:mod:`zenops.services.champion_profile`: reference
sample, baseline, classes, check facts, fitted estimator, model) in one read,
hash-checked. The model is unpickled only when a batch without its own predictions is
scored, and the estimator (NannyML) only when a batch has no labels to measure. A process
that runs many cycles (``zenops serve``, the demo) keeps each champion in the workspace's
``profiles`` by model, version, run and spec: a new champion or a changed spec is loaded
afresh.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from drift.batches import ReferenceFacts
from drift.columns import PREDICTION
from drift.estimates import PerformanceEstimate
from drift.metrics import MeasuredPerformance
from registry.versions import CHAMPION, ModelVersionInfo
from zenops.kernel.config import ModelSpec
from zenops.kernel.errors import DataError
from zenops.ports import Estimator, ModelRegistry
from zenops.services.champion_profile import ChampionProfile, champion_profile
from zenops.services.monitor.wiring import MonitorWorkspace
from zenops.services.train.fitting import predict_frame

log = logging.getLogger("zenops.monitor")

__all__ = ["Champion", "estimate", "load_champion", "score_batch"]


@dataclass
class Champion:
    """What monitoring needs of the current champion, loaded once per version."""

    info: ModelVersionInfo
    profile: ChampionProfile
    registry: ModelRegistry | None = field(default=None, repr=False)
    _model: Any = field(default=None, repr=False)

    @property
    def reference(self) -> pd.DataFrame:
        """Its seeded holdout (sampled when large), with the model's predictions."""
        return self.profile.reference

    @property
    def baseline(self) -> MeasuredPerformance:
        return self.profile.baseline

    @property
    def facts(self) -> ReferenceFacts:
        """What the batch checks need of its training data."""
        return self.profile.facts

    @property
    def classes(self) -> list[Any] | None:
        """The training data's classes (classification)."""
        return self.profile.classes

    @property
    def estimator(self) -> Estimator | None:
        return self.profile.estimator

    @property
    def model(self) -> Any:
        """The champion's model: its profile's copy, else loaded from the registry on first use."""
        if self._model is None:
            self._model = self.profile.fitted_model
        if self._model is None:
            assert self.registry is not None, "a champion without a registry cannot load its model"
            self._model = self.registry.load_version(self.info.model, self.info.version)
        return self._model


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
    profile = champion_profile(workspace, spec, info)
    check = profile.check
    if check is not None and not check.passed:
        log.warning(
            "%s version %s: its label-free estimate is not trusted: %s", spec.name, info.version, check.reason
        )
    champion = Champion(info, profile, registry)
    workspace.profiles[key] = champion
    return champion


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
