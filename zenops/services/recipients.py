"""Who hears about what: the audiences of ``notifications`` in ``zenops.yaml``, as targets.

Pure routing: the on-call, a model's owner (else ``fallback``), a sponsor (else
``fallback``), each URL with the field that named it; ``${NAME}`` expanded from the
environment, and every URL checked up front with a notifier (:func:`check_targets`).
:mod:`zenops.services.notify` sends through these.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from zenops.kernel.config import CONFIG_FILE, Notifications, ZenopsConfig
from zenops.kernel.errors import ConfigError
from zenops.kernel.notification import Target
from zenops.services.messages import BREACHED, Escalation

if TYPE_CHECKING:  # zenops.ports loads the drift core's pandas and SciPy: for the type only
    from zenops.ports import Notifier

__all__ = [
    "all_targets",
    "check_targets",
    "escalation_targets",
    "expand",
    "oncall_targets",
    "owner_targets",
    "sponsor_targets",
]

SECTION = "notifications"
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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


def check_targets(
    config: ZenopsConfig,
    notifier: Notifier,
    env: Mapping[str, str] | None = None,
    source: str = CONFIG_FILE,
) -> int:
    """Check every notification URL up front, sending nothing; returns how many there are.

    Expands ``${NAME}`` (from ``env``, default the process environment) and asks the
    notifier whether it can send to each URL, so ``zenops serve`` refuses to start on
    a missing secret or a URL no service understands (a :class:`ConfigError` naming
    the field) instead of losing notifications later.
    """
    env = os.environ if env is None else env
    count = 0
    for target in all_targets(config.notifications):
        problem = notifier.problem(expand(target, env, source).url)
        if problem:
            raise ConfigError(f"{source}: {target.field}: '{target.url}' {problem}")
        count += 1
    return count
