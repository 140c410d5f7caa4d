"""Wiring: the services bound to the real adapters, built once per process on first use.

The services take ports (:mod:`zenops.ports`); the flows, which run in production,
call the functions here, which hand the services the adapters named by their
systems. Nothing is built at import: each adapter is made the first time a flow
needs it, and imports its library only when it sends or reads.

Notifications: :class:`~zenops.adapters.apprise.AppriseNotifier` sends and checks
URLs, :class:`~zenops.adapters.prefect_links.PrefectLinks` says where the Prefect UI
is named and which flow run is current (:mod:`zenops.services.notify`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from zenops.adapters.apprise import AppriseNotifier
from zenops.adapters.prefect_links import PrefectLinks
from zenops.kernel.config import CONFIG_FILE, ModelSpec, ZenopsConfig
from zenops.kernel.notification import Delivery
from zenops.services import notify
from zenops.services.messages import Escalation
from zenops.services.notify import RunLinks
from zenops.workspace import Workspace

if TYPE_CHECKING:  # zenops.ports loads the drift core's pandas and SciPy: for the type only
    from zenops.ports import Notifier

__all__ = [
    "check_notifications",
    "notifier",
    "notify_candidate",
    "notify_escalations",
    "notify_flow_failure",
    "notify_handback",
    "notify_incident",
    "notify_stale",
    "run_links",
]


@cache
def notifier() -> Notifier:
    """The process's notifier: Apprise."""
    return AppriseNotifier()


@cache
def run_links() -> RunLinks:
    """The process's run links: Prefect's UI and current flow run."""
    return PrefectLinks()


def check_notifications(
    config: ZenopsConfig, env: Mapping[str, str] | None = None, source: str = CONFIG_FILE
) -> int:
    """:func:`zenops.services.notify.check_targets` with Apprise: every URL expands and parses."""
    return notify.check_targets(config, notifier(), env, source)


def notify_incident(
    workspace: Workspace, spec: ModelSpec, outcome: dict[str, Any], flow_run_id: str | None
) -> list[Delivery]:
    """:func:`zenops.services.notify.notify_incident` through Apprise, with Prefect's links."""
    return notify.notify_incident(workspace, spec, outcome, flow_run_id, sender=notifier(), links=run_links())


def notify_handback(
    workspace: Workspace, spec: ModelSpec, result: dict[str, Any], flow_run_id: str | None
) -> list[Delivery]:
    """:func:`zenops.services.notify.notify_handback` through Apprise, with Prefect's links."""
    return notify.notify_handback(workspace, spec, result, flow_run_id, sender=notifier(), links=run_links())


def notify_candidate(
    workspace: Workspace, spec: ModelSpec, result: dict[str, Any], flow_run_id: str | None
) -> list[Delivery]:
    """:func:`zenops.services.notify.notify_candidate` through Apprise, with Prefect's links."""
    return notify.notify_candidate(workspace, spec, result, flow_run_id, sender=notifier(), links=run_links())


def notify_stale(workspace: Workspace, stale: dict[str, Any], ticket: int) -> list[Delivery]:
    """:func:`zenops.services.notify.notify_stale` through Apprise, linking to the current flow run."""
    return notify.notify_stale(workspace, stale, ticket, sender=notifier(), links=run_links())


def notify_escalations(
    workspace: Workspace, escalations: Sequence[Escalation], *, flow_run_id: str | None = None
) -> list[Delivery]:
    """:func:`zenops.services.notify.notify_escalations` through Apprise, linking to the current flow run."""
    return notify.notify_escalations(
        workspace, escalations, flow_run_id=flow_run_id, sender=notifier(), links=run_links()
    )


def notify_flow_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """The flows' ``on_failure`` / ``on_crashed`` hook: :func:`zenops.services.notify.notify_flow_failure`."""
    notify.notify_flow_failure(flow, flow_run, state, sender=notifier(), links=run_links())
