"""Notifications: who hears about what (``notifications`` in ``zenops.yaml``), sent by a notifier.

Routing by audience:

- ``oncall``: incidents (a monitoring verdict that opened a new ticket), failed or
  crashed flow runs, and SLA breaches;
- the model's owner (``owners[owner]``, else ``fallback``): refresh hand-backs;
- the sponsor (``sponsors[sponsor]``, else ``fallback``): SLA escalations, near or
  breached.

An owner or sponsor with an entry of its own uses that entry, even an empty one
(which silences it). URLs may name environment variables as ``${NAME}``;
:func:`check_targets` expands every URL and asks the notifier whether it can send
to it, without sending, so a bad one is a :class:`~zenops.kernel.errors.ConfigError`
at start rather than a silent gap.

The service takes its outside systems as ports: a :class:`~zenops.ports.Notifier`
sends (Apprise in production, :mod:`zenops.adapters.apprise`) and a :class:`RunLinks`
says where the Prefect UI is named and which flow run is current
(:mod:`zenops.adapters.prefect_links`); :mod:`zenops.bootstrap` wires both for the
flows and the command line. Sending never raises: each URL's outcome comes back as a :class:`Delivery`;
failures are logged on ``zenops.notify``. A notification must never fail the work it
reports on. Nothing is sent when no URL applies.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import wraps
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from zenops.kernel.config import ModelSpec, ZenopsConfig
from zenops.kernel.errors import ConfigError
from zenops.kernel.notification import Delivery, Message, Target
from zenops.services.messages import (
    Escalation,
    Links,
    candidate_message,
    escalation_message,
    first_prefect_ui,
    flow_failure_message,
    flow_run_url,
    handback_message,
    incident_message,
    mlflow_run_url,
    mlflow_ui_base,
    stale_message,
)
from zenops.services.recipients import (
    all_targets,
    check_targets,
    escalation_targets,
    expand,
    oncall_targets,
    owner_targets,
    sponsor_targets,
)
from zenops.workspace import Workspace

if TYPE_CHECKING:  # zenops.ports loads the drift core's pandas and SciPy: for the type only
    from zenops.ports import Notifier

log = logging.getLogger("zenops.notify")

R = TypeVar("R")

__all__ = [
    "ConfiguredLinks",
    "Delivery",
    "Escalation",
    "RunLinks",
    "Target",
    "all_targets",
    "check_targets",
    "deliver",
    "escalation_targets",
    "expand",
    "notify_candidate",
    "notify_escalations",
    "notify_flow_failure",
    "notify_handback",
    "notify_incident",
    "notify_stale",
    "oncall_targets",
    "owner_targets",
    "sponsor_targets",
]


# -- the ports ---------------------------------------------------------------------------


class RunLinks(Protocol):
    """Where the Prefect UI is named and which flow run is current, for the links of a message."""

    def prefect_urls(self) -> Iterable[tuple[str | None, str | None]]:
        """(``PREFECT_UI_URL``, ``PREFECT_API_URL``) pairs, most specific first."""
        ...

    def current_flow_run(self) -> str | None: ...


class ConfiguredLinks:
    """Run links from ``zenops.yaml`` alone (``notifications.ui_url``), with no current flow run.

    What the service uses when no :class:`RunLinks` is given: it reads nothing outside
    the configuration (the flows get Prefect's, :mod:`zenops.bootstrap`).
    """

    def prefect_urls(self) -> Iterable[tuple[str | None, str | None]]:
        return ()

    def current_flow_run(self) -> str | None:
        return None


def deliver(
    config: ZenopsConfig,
    message: Message,
    targets: Sequence[Target],
    sender: Notifier,
    env: Mapping[str, str] | None = None,
) -> list[Delivery]:
    """Send ``message`` to ``targets`` through ``sender``; every failure is logged and returned, never raised.

    Each ``${NAME}`` is expanded from ``env`` (default: the process environment) and
    each URL is sent to once.
    """
    env = os.environ if env is None else env
    deliveries: list[Delivery] = []
    ready: list[Target] = []
    seen: set[str] = set()
    for target in targets:
        try:
            full = expand(target, env)
        except ConfigError as error:
            deliveries.append(Delivery(target.field, target.scheme, False, str(error)))
            continue
        if full.url not in seen:
            seen.add(full.url)
            ready.append(full)
    if ready:
        try:
            deliveries += sender.send(message, ready)
        except Exception as error:  # a notification never fails the work it reports on
            deliveries += [
                Delivery(t.field, t.scheme, False, f"{type(error).__name__}: {error}") for t in ready
            ]
    for delivery in deliveries:
        if delivery.ok:
            log.info("notified %s (%s): %s", delivery.audience, delivery.target, message.title)
        else:
            log.warning(
                "notification to %s (%s) failed: %s; message: %s",
                delivery.audience,
                delivery.target,
                delivery.error,
                message.title,
            )
    return deliveries


# -- links -------------------------------------------------------------------------------


def _flow_run_link(config: ZenopsConfig, links: RunLinks, flow_run_id: Any) -> str | None:
    ui = first_prefect_ui(config.notifications.ui_url, links.prefect_urls())
    return flow_run_url(ui, str(flow_run_id) if flow_run_id else None)


def _mlflow_base(workspace: Workspace) -> str | None:
    return mlflow_ui_base(workspace.config.notifications.mlflow_url, workspace.stores.tracking_uri)


def _mlflow_run_link(workspace: Workspace, run_id: str | None) -> str | None:
    base = _mlflow_base(workspace)
    if not base or not run_id:
        return None
    try:
        experiment = workspace.registry().client.get_run(run_id).info.experiment_id
    except Exception as error:
        log.warning("no MLflow link for run %s: %s", run_id, " ".join(str(error).split()))
        return None
    return mlflow_run_url(base, experiment, run_id)


def _version_run(workspace: Workspace, model: str, version: str | None) -> str | None:
    if version is None or not _mlflow_base(workspace):
        return None
    try:
        return workspace.registry().version(model, str(version)).run_id
    except Exception as error:
        log.warning("no MLflow link for %s version %s: %s", model, version, " ".join(str(error).split()))
        return None


# -- what the flows call -----------------------------------------------------------------


def _never_raises(default: Callable[[], R]) -> Callable[[Callable[..., R]], Callable[..., R]]:
    def decorate(function: Callable[..., R]) -> Callable[..., R]:
        @wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> R:
            try:
                return function(*args, **kwargs)
            except Exception:
                log.exception("%s could not notify; the work it reports on is unaffected", function.__name__)
                return default()

        return guarded

    return decorate


@_never_raises(list)
def notify_incident(
    workspace: Workspace,
    spec: ModelSpec,
    outcome: dict[str, Any],
    flow_run_id: str | None,
    *,
    sender: Notifier,
    links: RunLinks | None = None,
) -> list[Delivery]:
    """Tell the on-call that monitoring opened a ticket for ``spec``'s batch ``outcome``.

    ``outcome`` is a batch's ``BatchOutcome.to_dict()``; the caller sends only
    outcomes that opened a new ticket, so an incident is announced once. The
    message carries the verdict, reasons, top drifted features, the ticket and
    links to the flow run, the MLflow monitoring run and the Evidently report.
    """
    config = workspace.config
    found = Links(
        flow_run=_flow_run_link(config, links or ConfiguredLinks(), flow_run_id),
        mlflow_run=_mlflow_run_link(workspace, outcome.get("run_id")) or outcome.get("mlflow_url"),
        report=outcome.get("report_url") or outcome.get("report_uri"),
    )
    message = incident_message({"model": spec.name, **outcome}, found)
    return deliver(config, message, oncall_targets(config.notifications), sender)


@_never_raises(list)
def notify_handback(
    workspace: Workspace,
    spec: ModelSpec,
    result: dict[str, Any],
    flow_run_id: str | None,
    *,
    sender: Notifier,
    links: RunLinks | None = None,
) -> list[Delivery]:
    """Tell the model's owner that a refresh handed the model back, with why, the rebuild ticket and dossier.

    The owner is the one who rebuilds, so the message goes to ``owners[spec.owner]``
    (else ``fallback``), never to the sponsor.
    """
    config = workspace.config
    run_id = _version_run(workspace, spec.name, result.get("challenger_version"))
    found = Links(
        flow_run=_flow_run_link(config, links or ConfiguredLinks(), flow_run_id or result.get("flow_run")),
        mlflow_run=_mlflow_run_link(workspace, run_id),
    )
    message = handback_message({"model": spec.name, **result}, found)
    return deliver(config, message, owner_targets(config.notifications, spec.owner), sender)


@_never_raises(list)
def notify_candidate(
    workspace: Workspace,
    spec: ModelSpec,
    result: dict[str, Any],
    flow_run_id: str | None,
    *,
    sender: Notifier,
    links: RunLinks | None = None,
) -> list[Delivery]:
    """Tell the model's owner their candidate was rejected (or waits for approval), with the comparison."""
    config = workspace.config
    found = Links(
        flow_run=_flow_run_link(config, links or ConfiguredLinks(), flow_run_id or result.get("flow_run")),
        mlflow_run=_mlflow_run_link(workspace, result.get("run_id")),
    )
    message = candidate_message({"model": spec.name, **result}, found)
    return deliver(config, message, owner_targets(config.notifications, spec.owner), sender)


@_never_raises(list)
def notify_stale(
    workspace: Workspace,
    stale: dict[str, Any],
    ticket: int,
    flow_run_id: str | None = None,
    *,
    sender: Notifier,
    links: RunLinks | None = None,
) -> list[Delivery]:
    """Tell the on-call that no monitoring cycle completed ``stale['model']`` lately (once per ticket)."""
    config = workspace.config
    links = links or ConfiguredLinks()
    found = Links(flow_run=_flow_run_link(config, links, flow_run_id or links.current_flow_run()))
    return deliver(config, stale_message(stale, ticket, found), oncall_targets(config.notifications), sender)


@_never_raises(list)
def notify_escalations(
    workspace: Workspace,
    escalations: Sequence[Escalation],
    *,
    flow_run_id: str | None = None,
    sender: Notifier,
    links: RunLinks | None = None,
) -> list[Delivery]:
    """Tell each escalated ticket's sponsor (and the on-call once breached) that its SLA is at risk.

    One message per ticket (:class:`~demand.escalation.Escalation`); ``flow_run_id`` defaults to
    the current flow run (``links.current_flow_run()``), whose page the message links to.
    """
    if not escalations:
        return []
    config = workspace.config
    links = links or ConfiguredLinks()
    if flow_run_id is None:
        flow_run_id = links.current_flow_run()
    found = Links(flow_run=_flow_run_link(config, links, flow_run_id))
    deliveries: list[Delivery] = []
    for escalation in escalations:
        try:
            message = escalation_message(escalation, found)
            targets = escalation_targets(config.notifications, escalation)
        except Exception:
            log.exception("cannot notify escalation %r", escalation)
            continue
        deliveries += deliver(config, message, targets, sender)
    return deliveries


def notify_flow_failure(
    flow: Any, flow_run: Any, state: Any, *, sender: Notifier, links: RunLinks | None = None
) -> None:
    """Flow hook (Prefect's ``on_failure=[...]``, ``on_crashed=[...]``): tell the on-call a run failed.

    The workspace comes from the run's ``workspace`` parameter; without it, or
    when its configuration cannot be read, the hook logs and does nothing. The
    message names the flow, the run and the state's message, and links to the run.
    """
    try:
        parameters = getattr(flow_run, "parameters", None) or {}
        root = parameters.get("workspace")
        if not root:
            log.warning("flow run %s has no workspace parameter: no failure notification", flow_run.name)
            return
        workspace = Workspace(str(getattr(root, "root", root)))
        try:
            config = workspace.config
        except Exception as error:
            log.warning("cannot read %s to notify a failure: %s", workspace.config_path, error)
            return
        run_id = getattr(flow_run, "id", None)
        found = Links(flow_run=_flow_run_link(config, links or ConfiguredLinks(), run_id))
        message = flow_failure_message(
            flow_name=getattr(flow, "name", None) or getattr(flow_run, "flow_name", "flow"),
            run_name=getattr(flow_run, "name", None),
            state_name=getattr(state, "name", None) or "Failed",
            state_message=getattr(state, "message", None),
            links=found,
        )
        deliver(config, message, oncall_targets(config.notifications), sender)
    except Exception:
        log.exception("the flow failure hook could not notify")
