"""The workspace configuration, ``zenops.yaml``, as validated data.

Every key a user writes is declared here with its type and default; unknown keys
are refused. :func:`load_config` turns any problem into a :class:`ConfigError`
whose one line names the file and the field (``zenops.yaml: models[0].sla: ...``).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError, model_validator

from zenops.kernel.config.base import CONFIG_FILE, Duration, Name, _Strict, parse_duration
from zenops.kernel.config.demand import (
    DEFAULT_SLA_TIERS,
    LEVELS,
    NO_PHASES,
    TICKET_KINDS,
    PhaseTemplate,
    PlanningPolicy,
    Resources,
    SlaTier,
    TeamMember,
    check_templates,
)
from zenops.kernel.config.models import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    DriftPolicy,
    Features,
    ModelSpec,
    PromotionGate,
    TrainerSpec,
)
from zenops.kernel.config.operations import MonitoringSettings, Notifications, Schedules, SlaWatch, Stores
from zenops.kernel.errors import ConfigError, NotFoundError


class ZenopsConfig(_Strict):
    """The whole of ``zenops.yaml``."""

    stores: Stores = Stores()
    sla_tiers: dict[str, SlaTier] = DEFAULT_SLA_TIERS
    models: list[ModelSpec] = []
    team: list[TeamMember] = []
    resources: Resources = Resources()
    planning: PlanningPolicy = PlanningPolicy()
    monitoring: MonitoringSettings = MonitoringSettings()
    schedules: Schedules = Schedules()
    notifications: Notifications = Notifications()
    sla_watch: SlaWatch = SlaWatch()

    @model_validator(mode="after")
    def _references(self) -> ZenopsConfig:
        names = [m.name for m in self.models]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ValueError(f"models[{i}].name: model '{name}' is defined twice")
        for i, model in enumerate(self.models):
            if model.sla not in self.sla_tiers:
                raise ValueError(
                    f"models[{i}].sla: tier '{model.sla}' is not in sla_tiers ({', '.join(self.sla_tiers)})"
                )
        people = [p.name for p in self.team]
        for i, name in enumerate(people):
            if name in people[:i]:
                raise ValueError(f"team[{i}].name: person '{name}' is listed twice")
        check_templates(self.planning, self.team, self.resources)
        return self

    @property
    def stale_after(self) -> timedelta:
        """How old a model's last completed monitoring cycle may be before it is an incident.

        ``monitoring.stale_after``, else three of the longest gaps between two runs of
        ``schedules.monitor`` (3h for the hourly default).
        """
        return self.monitoring.stale_after or 3 * self.schedules.monitor_interval()

    def member(self, name: str, field: str = "by") -> TeamMember:
        """The team member called ``name``; a NotFoundError naming ``field`` when there is none."""
        for person in self.team:
            if person.name == name:
                return person
        known = ", ".join(p.name for p in self.team) or "nobody"
        raise NotFoundError(f"--{field}: '{name}' is not in the team of {CONFIG_FILE} (team: {known})")

    def model(self, name: str) -> ModelSpec:
        """The spec of the model called ``name``."""

        for spec in self.models:
            if spec.name == name:
                return spec
        known = ", ".join(m.name for m in self.models) or "none"
        raise NotFoundError(f"{CONFIG_FILE}: no model named '{name}' (models: {known})")


def _location(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif str(part).startswith("function-") or part in ("timedelta",):
            continue
        else:
            path += f".{part}" if path else str(part)
    return path


def config_error(source: str, error: ValidationError) -> ConfigError:
    """One line naming the file and the first invalid field."""
    first = error.errors()[0]
    where = _location(first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    elif first["type"] == "missing":
        message = "required key is missing"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    prefix = f"{source}: {where}: " if where else f"{source}: "
    return ConfigError(f"{prefix}{message}{more}")


def parse_config(data: Any, source: str = CONFIG_FILE) -> ZenopsConfig:
    """Validate already-parsed YAML data."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the file must hold a mapping of keys, not {type(data).__name__}")
    try:
        return ZenopsConfig.model_validate(data)
    except ValidationError as error:
        raise config_error(source, error) from None


def load_config(path: Path) -> ZenopsConfig:
    """Read and validate ``zenops.yaml``; any problem is a one-line :class:`ConfigError`."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file (run 'zenops init' to create a workspace)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise ConfigError(f"{path}:{where}: {problem}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    if data is None or data == {}:  # an empty file is a mistake, never "no settings"
        raise ConfigError(f"{path}: no models: add one under models: (see zenops init)")
    return parse_config(data, source=str(path))


__all__ = [
    "CLASSIFICATION_METRICS",
    "CONFIG_FILE",
    "DEFAULT_SLA_TIERS",
    "DriftPolicy",
    "Duration",
    "Features",
    "ModelSpec",
    "MonitoringSettings",
    "LEVELS",
    "NO_PHASES",
    "Name",
    "Notifications",
    "PhaseTemplate",
    "PlanningPolicy",
    "PromotionGate",
    "REGRESSION_METRICS",
    "Resources",
    "Schedules",
    "SlaTier",
    "SlaWatch",
    "Stores",
    "TICKET_KINDS",
    "TeamMember",
    "TrainerSpec",
    "ZenopsConfig",
    "config_error",
    "load_config",
    "parse_config",
    "parse_duration",
]
