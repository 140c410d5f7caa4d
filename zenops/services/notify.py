"""Notifications: who hears about what (``notifications`` in ``zenops.yaml``), sent through Apprise.

Routing by audience:

- ``oncall``: incidents (a monitoring verdict that opened a new ticket), failed or
  crashed flow runs, and SLA breaches;
- the model's owner (``owners[owner]``, else ``fallback``): refresh hand-backs;
- the sponsor (``sponsors[sponsor]``, else ``fallback``): SLA escalations, near or
  breached.

An owner or sponsor with an entry of its own uses that entry, even an empty one
(which silences it). URLs may name environment variables as ``${NAME}``;
:func:`check_notifications` expands and parses every URL without sending, so a
bad one is a :class:`~zenops.kernel.errors.ConfigError` at start rather than a silent gap.

Sending never raises: one Apprise ``notify`` per message, and each URL's outcome
comes back as a :class:`Delivery`; failures are logged on ``zenops.services.notify``. A
notification must never fail the work it reports on. Nothing is sent when no URL
applies.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from zenops.kernel.config import CONFIG_FILE, ModelSpec, Notifications, ZenopsConfig
from zenops.kernel.errors import ConfigError
from zenops.services.messages import (
    BREACHED,
    Escalation,
    Links,
    Message,
    escalation_message,
    flow_failure_message,
    flow_run_url,
    handback_message,
    incident_message,
    mlflow_run_url,
    mlflow_ui_base,
    prefect_ui_base,
)

if TYPE_CHECKING:
    from zenops.workspace import Workspace

log = logging.getLogger("zenops.notify")

SECTION = "notifications"
SEND_TIMEOUT_S = 30.0
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
R = TypeVar("R")

__all__ = [
    "Delivery",
    "Escalation",
    "Sender",
    "Target",
    "check_notifications",
    "notify_escalations",
    "notify_flow_failure",
    "notify_handback",
    "notify_incident",
]


@dataclass(frozen=True)
class Target:
    """One URL to notify and the ``zenops.yaml`` field it comes from (for error lines)."""

    field: str  # e.g. notifications.owners.ds-credit
    url: str


@dataclass(frozen=True)
class Delivery:
    """What became of one URL's notification. ``target`` hides secrets; ``error`` says why it failed."""

    audience: str
    target: str
    ok: bool
    error: str | None = None


# -- routing (pure) ----------------------------------------------------------------------


def _targets(field: str, urls: Sequence[str]) -> list[Target]:
    if len(urls) == 1:
        return [Target(field, urls[0])]
    return [Target(f"{field}[{i}]", url) for i, url in enumerate(urls)]


def oncall_targets(notifications: Notifications) -> list[Target]:
    """The MLOps on-call's URLs."""
    return _targets(f"{SECTION}.oncall", notifications.oncall)


def owner_targets(notifications: Notifications, owner: str | None) -> list[Target]:
    """A model owner's URLs: their own entry, else ``fallback``."""
    if owner is not None and owner in notifications.owners:
        return _targets(f"{SECTION}.owners.{owner}", notifications.owners[owner])
    return _targets(f"{SECTION}.fallback", notifications.fallback)


def sponsor_targets(notifications: Notifications, sponsor: str | None) -> list[Target]:
    """A sponsor's URLs: their own entry, else ``fallback``."""
    if sponsor is not None and sponsor in notifications.sponsors:
        return _targets(f"{SECTION}.sponsors.{sponsor}", notifications.sponsors[sponsor])
    return _targets(f"{SECTION}.fallback", notifications.fallback)


def escalation_targets(notifications: Notifications, escalation: Escalation) -> list[Target]:
    """The sponsor's URLs, and the on-call's too once the SLA is breached."""
    targets = sponsor_targets(notifications, escalation.sponsor)
    if escalation.level == BREACHED:
        targets += oncall_targets(notifications)
    return targets


def all_targets(notifications: Notifications) -> list[Target]:
    """Every URL the configuration names, each with its field."""
    targets = oncall_targets(notifications)
    for owner, urls in notifications.owners.items():
        targets += _targets(f"{SECTION}.owners.{owner}", urls)
    for sponsor, urls in notifications.sponsors.items():
        targets += _targets(f"{SECTION}.sponsors.{sponsor}", urls)
    return targets + _targets(f"{SECTION}.fallback", notifications.fallback)


def expand(target: Target, env: Mapping[str, str], source: str = CONFIG_FILE) -> Target:
    """The target with every ``${NAME}`` replaced by the environment's value.

    An unset or empty variable is a :class:`ConfigError` naming the field, so a
    missing secret shows up as one clear line instead of a request that fails later.
    """

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if not _NAME.match(name):
            raise ConfigError(f"{source}: {target.field}: '${{{name}}}' is not an environment variable name")
        found = env.get(name)
        if found is None:
            raise ConfigError(f"{source}: {target.field}: environment variable {name} is not set")
        if found == "":
            raise ConfigError(f"{source}: {target.field}: environment variable {name} is empty")
        return found

    return Target(target.field, _VARIABLE.sub(value, target.url))


# -- the Apprise adapter -----------------------------------------------------------------


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] + "://" if "://" in url else "?"


def _service(url: str) -> Any:
    """The Apprise service for ``url``, or None when Apprise does not recognise it."""
    import apprise

    return apprise.Apprise.instantiate(url)


def check_notifications(
    config: ZenopsConfig, env: Mapping[str, str] | None = None, source: str = CONFIG_FILE
) -> int:
    """Check every notification URL up front, sending nothing; returns how many there are.

    Expands ``${NAME}`` and asks Apprise to parse each URL, so ``zenops serve``
    refuses to start on a missing secret or a URL no service understands (a
    :class:`ConfigError` naming the field) instead of losing notifications later.
    """
    env = os.environ if env is None else env
    count = 0
    for target in all_targets(config.notifications):
        full = expand(target, env, source)
        if _quietly(_service, full.url) is None:
            raise ConfigError(
                f"{source}: {target.field}: '{target.url}' is not a URL Apprise can send to "
                "(see https://appriseit.com/services/)"
            )
        count += 1
    return count


def _quietly(function: Callable[[str], R], url: str) -> R:
    """Apprise's own log lines stay out of the one-line error (and never show a secret)."""
    apprise_log = logging.getLogger("apprise")
    level = apprise_log.level
    apprise_log.setLevel(logging.CRITICAL)
    try:
        return function(url)
    finally:
        apprise_log.setLevel(level)


class Sender(Protocol):
    """Sends one message to resolved targets and says what became of each."""

    def send(self, message: Message, targets: Sequence[Target]) -> list[Delivery]: ...


class AppriseSender:
    """The real sender: one Apprise ``notify`` per message, markdown body, one result per URL."""

    def __init__(self, timeout: float = SEND_TIMEOUT_S) -> None:
        self.timeout = timeout

    def send(self, message: Message, targets: Sequence[Target]) -> list[Delivery]:
        import apprise

        deliveries: list[Delivery] = []
        sender = apprise.Apprise()
        waiting: dict[str, list[tuple[str, str]]] = {}  # service -> (field, masked URL)
        for target in targets:
            service = _service(target.url)
            if service is None:
                deliveries.append(
                    Delivery(target.field, _scheme(target.url), False, "not a URL Apprise can send to")
                )
                continue
            sender.add(service)
            masked = service.url(privacy=True)
            waiting.setdefault(_key(service.url_id(), masked), []).append((target.field, _short(masked)))
        if not len(sender):
            return deliveries
        result = sender.notify(
            body=message.body,
            title=message.title,
            body_format=apprise.NotifyFormat.MARKDOWN,
            notify_type=apprise.NotifyType(message.severity),
            timeout=self.timeout,
        )
        try:
            for outcome in result:
                key = _key(outcome.url_id, outcome.url)
                fields = waiting.get(key)
                field = fields.pop(0)[0] if fields else "?"
                if not fields:
                    waiting.pop(key, None)
                error = None if outcome else _problems(outcome.logs()) or outcome.status.name.lower()
                deliveries.append(Delivery(field, _short(outcome.url), bool(outcome), error))
            if waiting:  # the call itself failed before reaching these services
                why = _problems(result.call_logs()) or result.status.name.lower()
                for pending in waiting.values():
                    deliveries += [Delivery(field, masked, False, why) for field, masked in pending]
        finally:
            result.close()
        return deliveries


def _key(url_id: str | None, url: str) -> str:
    return url_id or url


def _short(masked_url: str) -> str:
    """A masked URL without Apprise's options, for logs."""
    return masked_url.split("?", 1)[0]


def _problems(entries: Iterable[Any]) -> str:
    lines = [e.message for e in entries if getattr(e, "level", "") in ("WARNING", "ERROR", "CRITICAL")]
    return "; ".join(" ".join(line.split()) for line in lines)


def deliver(
    config: ZenopsConfig,
    message: Message,
    targets: Sequence[Target],
    sender: Sender | None = None,
    env: Mapping[str, str] | None = None,
) -> list[Delivery]:
    """Send ``message`` to ``targets``; every failure is logged and returned, never raised."""
    env = os.environ if env is None else env
    deliveries: list[Delivery] = []
    ready: list[Target] = []
    seen: set[str] = set()
    for target in targets:
        try:
            full = expand(target, env)
        except ConfigError as error:
            deliveries.append(Delivery(target.field, _scheme(target.url), False, str(error)))
            continue
        if full.url not in seen:
            seen.add(full.url)
            ready.append(full)
    if ready:
        try:
            deliveries += (sender or AppriseSender()).send(message, ready)
        except Exception as error:  # a notification never fails the work it reports on
            deliveries += [
                Delivery(t.field, _scheme(t.url), False, f"{type(error).__name__}: {error}") for t in ready
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


def prefect_ui(config: ZenopsConfig) -> str | None:
    """The Prefect UI base: ``ui_url``, ``PREFECT_UI_URL``, ``PREFECT_API_URL`` minus ``/api``.

    The environment comes first; then the settings Prefect itself runs with (its
    profile, or a temporary API such as a test server).
    """
    found = prefect_ui_base(
        config.notifications.ui_url, os.environ.get("PREFECT_UI_URL"), os.environ.get("PREFECT_API_URL")
    )
    if found:
        return found
    try:
        from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL

        return prefect_ui_base(None, PREFECT_UI_URL.value(), PREFECT_API_URL.value())
    except Exception:
        return None


def _flow_run_link(config: ZenopsConfig, flow_run_id: str | None) -> str | None:
    return flow_run_url(prefect_ui(config), str(flow_run_id) if flow_run_id else None)


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
    sender: Sender | None = None,
) -> list[Delivery]:
    """Tell the on-call that monitoring opened a ticket for ``spec``'s batch ``outcome``.

    ``outcome`` is a batch's ``BatchOutcome.to_dict()``; the caller sends only
    outcomes that opened a new ticket, so an incident is announced once. The
    message carries the verdict, reasons, top drifted features, the ticket and
    links to the flow run, the MLflow monitoring run and the Evidently report.
    """
    config = workspace.config
    links = Links(
        flow_run=_flow_run_link(config, flow_run_id),
        mlflow_run=_mlflow_run_link(workspace, outcome.get("run_id")),
        report=outcome.get("report_uri"),
    )
    message = incident_message({"model": spec.name, **outcome}, links)
    return deliver(config, message, oncall_targets(config.notifications), sender)


@_never_raises(list)
def notify_handback(
    workspace: Workspace,
    spec: ModelSpec,
    result: dict[str, Any],
    flow_run_id: str | None,
    *,
    sender: Sender | None = None,
) -> list[Delivery]:
    """Tell the model's owner that a refresh handed the model back, with why, the rebuild ticket and dossier.

    The owner is the one who rebuilds, so the message goes to ``owners[spec.owner]``
    (else ``fallback``), never to the sponsor.
    """
    config = workspace.config
    run_id = _version_run(workspace, spec.name, result.get("challenger_version"))
    links = Links(
        flow_run=_flow_run_link(config, flow_run_id or result.get("flow_run")),
        mlflow_run=_mlflow_run_link(workspace, run_id),
    )
    message = handback_message({"model": spec.name, **result}, links)
    return deliver(config, message, owner_targets(config.notifications, spec.owner), sender)


@_never_raises(list)
def notify_escalations(
    workspace: Workspace,
    escalations: Sequence[Escalation],
    *,
    flow_run_id: str | None = None,
    sender: Sender | None = None,
) -> list[Delivery]:
    """Tell each escalated ticket's sponsor (and the on-call once breached) that its SLA is at risk.

    One message per ticket (:class:`~demand.escalation.Escalation`); ``flow_run_id`` defaults to
    the current Prefect flow run, whose page the message links to.
    """
    if not escalations:
        return []
    config = workspace.config
    if flow_run_id is None:
        from prefect.runtime import flow_run

        flow_run_id = flow_run.id
    links = Links(flow_run=_flow_run_link(config, flow_run_id))
    deliveries: list[Delivery] = []
    for escalation in escalations:
        try:
            message = escalation_message(escalation, links)
            targets = escalation_targets(config.notifications, escalation)
        except Exception:
            log.exception("cannot notify escalation %r", escalation)
            continue
        deliveries += deliver(config, message, targets, sender)
    return deliveries


def notify_flow_failure(flow: Any, flow_run: Any, state: Any, *, sender: Sender | None = None) -> None:
    """Prefect flow hook (``on_failure=[...]``, ``on_crashed=[...]``): tell the on-call a run failed.

    The workspace comes from the run's ``workspace`` parameter; without it, or
    when its configuration cannot be read, the hook logs and does nothing. The
    message names the flow, the run and the state's message, and links to the run.
    """
    try:
        from zenops.workspace import Workspace

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
        links = Links(flow_run=_flow_run_link(config, getattr(flow_run, "id", None)))
        message = flow_failure_message(
            flow_name=getattr(flow, "name", None) or getattr(flow_run, "flow_name", "flow"),
            run_name=getattr(flow_run, "name", None),
            state_name=getattr(state, "name", None) or "Failed",
            state_message=getattr(state, "message", None),
            links=links,
        )
        deliver(config, message, oncall_targets(config.notifications), sender)
    except Exception:
        log.exception("the flow failure hook could not notify")
