"""The deployments of zenops: what runs unattended, when, and on which event.

One definition serves both ways of running unattended:

- ``prefect.yaml`` (at the project's root) declares the same deployments for a
  work pool and ``prefect deploy --all``; a test keeps it equal to these
  definitions at the default schedules;
- ``zenops serve`` builds them from the workspace's ``schedules:`` and serves
  them in one process (:func:`serve`).

Deployments (``FLOW/NAME``):

- ``monitor-models/monitor``: a monitoring cycle, on ``schedules.monitor`` (hourly);
  one run at a time (a run due while one is running is cancelled, not queued);
- ``plan-demand/plan``: the team's plan, on ``schedules.plan`` (daily);
- ``sla-watch/sla-watch``: escalate tickets near or past due, and open an incident
  for each model whose monitoring went stale, on ``schedules.sla_watch``; and, through
  a proactive trigger, as soon as no ``monitor-models`` run completed within
  ``monitoring.stale_after`` (the watch on the watcher: the monitor's expected
  ``prefect.flow-run.Completed`` event did not arrive);
- ``refresh-model/refresh``: started by the ``zenops.model.degraded`` event that
  monitoring emits when a ``refresh`` or ``rebuild`` verdict opens a ticket (the
  model, and the refresh ticket if it is one, taken from the event), at most once
  per model and verdict within ``schedules.refresh_debounce``; runnable by hand with
  a model. A rebuild verdict is tried with a refresh first, the cheap fix: the
  comparison promotes the challenger or hands the model back with a dossier;
- ``evaluate-candidate/evaluate-candidate``: started by the ``zenops.candidate.registered``
  event zenops emits for a version tagged ``zenops.candidate`` (from a registry
  webhook, or the monitor cycle), at most once per model and version within
  ``schedules.refresh_debounce``; runnable by hand with a model and a version;
- ``train-model/train`` and ``rollback-model/rollback``: by hand, with a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from zenops.kernel.config import Schedules, ZenopsConfig

DEGRADED = "zenops.model.degraded"
CANDIDATE = "zenops.candidate.registered"
MONITOR_COMPLETED = "prefect.flow-run.Completed"


@dataclass(frozen=True)
class Definition:
    """One deployment: its flow (a module path), schedule, trigger and fixed parameters."""

    name: str
    entrypoint: str
    description: str
    cron: str | None = None
    trigger: dict[str, Any] | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    one_at_a_time: bool = False

    @property
    def flow_name(self) -> str:
        return {
            "flows.monitor.monitor_models": "monitor-models",
            "flows.plan.plan_demand": "plan-demand",
            "flows.sla_watch.sla_watch": "sla-watch",
            "flows.refresh.refresh_model": "refresh-model",
            "flows.refresh.rollback_flow": "rollback-model",
            "flows.train.train_model": "train-model",
            "flows.candidate.evaluate_candidate": "evaluate-candidate",
        }[self.entrypoint]

    @property
    def full_name(self) -> str:
        """``flow-name/deployment-name``, as ``prefect deployment run`` takes it."""
        return f"{self.flow_name}/{self.name}"


def refresh_trigger(debounce: timedelta) -> dict[str, Any]:
    """The event trigger of the refresh deployment, as ``prefect.yaml`` writes it."""
    return {
        "type": "event",
        "name": "zenops: refresh a degraded model",
        "description": "Runs refresh-model/refresh when monitoring finds a model degraded.",
        "enabled": True,
        "match": {"prefect.resource.id": "zenops.model.*"},
        "expect": [DEGRADED],
        "for_each": ["prefect.resource.id", "zenops.verdict"],
        "posture": "Reactive",
        "threshold": 1,
        "within": int(debounce.total_seconds()),
        "parameters": {
            "model": "{{ event.payload.model }}",
            "ticket": "{{ event.payload.refresh_ticket }}",
            "on_event": True,
        },
    }


def candidate_trigger(debounce: timedelta) -> dict[str, Any]:
    """The event trigger of the candidate deployment, as ``prefect.yaml`` writes it."""
    return {
        "type": "event",
        "name": "zenops: evaluate a candidate",
        "description": "Runs evaluate-candidate when a version tagged zenops.candidate is registered.",
        "enabled": True,
        "match": {"prefect.resource.id": "zenops.model.*"},
        "expect": [CANDIDATE],
        "for_each": ["prefect.resource.id", "zenops.version"],
        "posture": "Reactive",
        "threshold": 1,
        "within": int(debounce.total_seconds()),
        "parameters": {
            "model": "{{ event.payload.model }}",
            "version": "{{ event.payload.version }}",
            "ticket": "{{ event.payload.ticket }}",
            "on_event": True,
        },
    }


def stale_trigger(stale_after: timedelta) -> dict[str, Any]:
    """The proactive trigger of the SLA watch: no monitor run completed within ``stale_after``."""
    return {
        "type": "event",
        "name": "zenops: monitoring went quiet",
        "description": "Runs sla-watch when no monitor-models run completed within monitoring.stale_after.",
        "enabled": True,
        "match": {"prefect.resource.id": "prefect.flow-run.*"},
        "match_related": {"prefect.resource.role": "flow", "prefect.resource.name": "monitor-models"},
        "expect": [MONITOR_COMPLETED],
        "posture": "Proactive",
        "threshold": 1,
        "within": int(stale_after.total_seconds()),
    }


def definitions(schedules: Schedules | None = None, stale_after: timedelta | None = None) -> list[Definition]:
    """Every deployment, with the given schedules (default: the documented defaults).

    ``stale_after`` (default: three intervals of the monitor's schedule) is the window of
    the SLA watch's proactive trigger.
    """
    s = schedules or Schedules()
    stale_after = stale_after or 3 * s.monitor_interval()
    return [
        Definition(
            "monitor",
            "flows.monitor.monitor_models",
            "One monitoring cycle over every model's new batches.",
            cron=s.monitor,
            one_at_a_time=True,
        ),
        Definition(
            "plan",
            "flows.plan.plan_demand",
            "The team's prioritised, capacity-aware plan of every open ticket.",
            cron=s.plan,
        ),
        Definition(
            "sla-watch",
            "flows.sla_watch.sla_watch",
            "Escalate tickets near or past their SLA due time to sponsors and the on-call; open an "
            "incident for a model no monitoring cycle completed lately (also when the monitor's "
            "completed runs stop arriving).",
            cron=s.sla_watch,
            trigger=stale_trigger(stale_after),
            one_at_a_time=True,
        ),
        Definition(
            "refresh",
            "flows.refresh.refresh_model",
            "Re-hydrate, retrain, compare, then promote or hand back; started by a degraded "
            "model's event, or by hand with a model.",
            trigger=refresh_trigger(s.refresh_debounce),
        ),
        Definition(
            "evaluate-candidate",
            "flows.candidate.evaluate_candidate",
            "Compare a data scientist's rebuilt candidate with the champion by the promotion gate, then "
            "promote, wait for approval or reject; started when a version tagged zenops.candidate is "
            "registered, or by hand with a model and a version.",
            trigger=candidate_trigger(s.refresh_debounce),
        ),
        Definition(
            "rollback",
            "flows.refresh.rollback_flow",
            "Restore a model's previous champion (by hand, with a model).",
        ),
        Definition(
            "train",
            "flows.train.train_model",
            "Train a model with full lineage (by hand, with a model).",
        ),
    ]


def runner_deployments(config: ZenopsConfig, workspace: str) -> list[Any]:
    """The definitions as Prefect ``RunnerDeployment`` objects for ``workspace``, ready to serve."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.deployments.runner import EntrypointType
    from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger
    from prefect.schedules import Cron
    from prefect.utilities.importtools import import_object

    built = []
    for item in definitions(config.schedules, config.stale_after):
        flow = import_object(item.entrypoint)
        options: dict[str, Any] = {
            "name": item.name,
            "description": item.description,
            "parameters": {"workspace": workspace, **item.parameters},
            "tags": ["zenops"],
            "entrypoint_type": EntrypointType.MODULE_PATH,
        }
        if item.cron:
            options["schedules"] = [Cron(item.cron, timezone=config.schedules.timezone)]
        if item.trigger:
            trigger = {k: v for k, v in item.trigger.items() if k != "type"}
            options["triggers"] = [DeploymentEventTrigger(**trigger)]
        if item.one_at_a_time:
            options["concurrency_limit"] = ConcurrencyLimitConfig(
                limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
            )
        built.append(flow.to_deployment(**options))
    return built
