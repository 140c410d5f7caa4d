"""Registered model versions as the cores and services see them, and the alias names.

The MLflow adapter builds these from MLflow's own objects; nothing here talks to MLflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS_CHAMPION = "previous-champion"


@dataclass(frozen=True)
class ModelVersionInfo:
    """A registered model version with the run it came from."""

    model: str
    version: str
    run_id: str
    aliases: tuple[str, ...]
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    #: When the version was registered (None where the registry does not say).
    created: datetime | None = None

    @property
    def uri(self) -> str:
        return f"models:/{self.model}/{self.version}"


def experiment_name(model: str) -> str:
    return f"zenops/{model}"


@dataclass(frozen=True)
class RunSummary:
    """One run as a listing shows it: when it started, its tags and its latest metrics."""

    run_id: str
    started: datetime
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class LoggedTraining:
    """What a logged and registered training run produced."""

    model: str
    version: str
    run_id: str
    alias: str | None


@dataclass(frozen=True)
class RunFacts:
    """A run as a candidate's checks see it: its experiment's name, tags and parameters."""

    run_id: str
    experiment: str | None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
