"""The champion a refresh starts from, and what it was built from: data, trainer, parameters.

The champion is read down to its run (tags and parameters); its training data is
restored at the recorded DVC version and md5-checked; the retraining spec takes the
champion's trainer, parameters, seed and holdout share when ``zenops.yaml`` no longer
says the same.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

import pandas as pd

from registry.candidates import recorded_features
from registry.lineage import Lineage
from registry.versions import CHAMPION
from zenops.kernel.config import Features, ModelSpec, TrainerSpec
from zenops.kernel.errors import NotFoundError
from zenops.ports import ModelRegistry
from zenops.services.refresh.context import RefreshPorts

__all__ = ["ChampionRef", "current_champion", "read_champion", "refresh_spec", "rehydrate"]


@dataclass(frozen=True)
class ChampionRef:
    """The champion a refresh starts from: its version, run tags and parameters."""

    model: str
    version: str
    run_id: str
    tags: dict[str, str]
    params: dict[str, str]
    metrics: dict[str, float]

    @property
    def lineage(self) -> Lineage:
        """What the champion was built from; a missing lineage tag is a LineageError naming it."""
        return Lineage.from_tags(self.tags, f"{self.model} version {self.version} (run {self.run_id})")


def read_champion(ports: RefreshPorts, spec: ModelSpec) -> ChampionRef:
    """``models:/NAME@champion`` down to its run, tags and parameters (lineage is read on re-hydration).

    A model never registered, or without a champion, is a :class:`NotFoundError` whose one
    line says to train it first.
    """
    registry = ports.registry
    info = registry.alias(spec.name, CHAMPION) if registry.is_registered(spec.name) else None
    if info is None:
        raise NotFoundError(f"model '{spec.name}' has no champion to refresh: run 'zenops train {spec.name}'")
    return ChampionRef(
        spec.name, info.version, info.run_id, dict(info.tags), dict(info.params), dict(info.metrics)
    )


def current_champion(registry: ModelRegistry, model: str) -> str | None:
    """The version holding ``champion`` now."""
    return registry.aliases(model).get(CHAMPION)


def rehydrate(ports: RefreshPorts, champion: ChampionRef) -> pd.DataFrame:
    """The champion's exact training data, restored through the data store and md5-checked.

    A revision missing from git, content that cannot be restored, or content whose md5
    differs from the recorded one is a :class:`~zenops.kernel.errors.LineageError`.
    """
    return ports.data.read_frame(champion.lineage.data)


def refresh_spec(spec: ModelSpec, champion: ChampionRef) -> tuple[ModelSpec, str | None]:
    """The spec to retrain with: the champion's trainer, parameters, features, seed and holdout share.

    When ``zenops.yaml`` still says what the champion was trained with, that is the
    spec as it is; otherwise the recorded trainer, parameters and features (a rebuilt
    candidate's may differ) win, and a note says so.
    """
    recorded = {k.removeprefix("trainer."): v for k, v in champion.params.items() if k.startswith("trainer.")}
    configured = {k: str(v)[:6000] for k, v in spec.trainer.params.items()}
    update: dict[str, Any] = {}
    notes = []
    if champion.lineage.trainer != spec.trainer.reference or recorded != configured:
        reference = champion.lineage.trainer
        params = {k: _literal(v) for k, v in recorded.items()}
        kind = "entry_point" if ":" in reference else "estimator"
        update["trainer"] = TrainerSpec(**{kind: reference, "params": params})
        notes.append(
            f"zenops.yaml's trainer ({spec.trainer.reference} {configured}) differs from the champion's "
            f"({reference} {recorded}); the refresh retrains with the champion's"
        )
    where = f"{spec.name} version {champion.version} (run {champion.run_id})"
    features = recorded_features(champion.tags, spec.features.all, where)
    if features is not None and (features[0], features[1]) != (
        spec.features.numerical,
        spec.features.categorical,
    ):
        update["features"] = Features(numerical=features[0], categorical=features[1])
        notes.append(
            f"features {', '.join([*features[0], *features[1]])} as recorded with the champion "
            f"(zenops.yaml: {', '.join(spec.features.all)})"
        )
    for name, cast in (("seed", int), ("holdout_fraction", float)):
        if name in champion.params:
            value = cast(_literal(champion.params[name]))
            if value != getattr(spec, name):
                update[name] = value
                notes.append(
                    f"{name} {value} as recorded with the champion (zenops.yaml: {getattr(spec, name)})"
                )
    if not update:
        return spec, None
    return spec.model_copy(update=update), "; ".join(notes)


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
