"""The notifier adapter of Apprise: sends a message to URLs, and says which URLs it cannot send to.

:class:`AppriseNotifier` is the :class:`zenops.ports.Notifier` of production: one
Apprise ``notify`` per message with a markdown body, and one
:class:`~zenops.kernel.notification.Delivery` per URL, whose ``target`` is the URL as
Apprise masks it (no secret reaches a log line). :meth:`AppriseNotifier.problem`
asks Apprise to parse a URL without sending, so ``zenops serve`` refuses a URL no
service understands. Apprise's own log lines stay out of both (they would break the
one-line error and could show a secret). Apprise is imported when a URL is parsed
or a message sent, so building the notifier never fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from zenops.kernel.notification import Delivery, Message, Target

SEND_TIMEOUT_S = 30.0
UNKNOWN = "is not a URL Apprise can send to (see https://appriseit.com/services/)"
R = TypeVar("R")

__all__ = ["AppriseNotifier"]


def _service(url: str) -> Any:
    """The Apprise service for ``url``, or None when Apprise does not recognise it."""
    import apprise

    return apprise.Apprise.instantiate(url)


def _quietly(function: Callable[[str], R], url: str) -> R:
    """Apprise's own log lines stay out of the one-line error (and never show a secret)."""
    apprise_log = logging.getLogger("apprise")
    level = apprise_log.level
    apprise_log.setLevel(logging.CRITICAL)
    try:
        return function(url)
    finally:
        apprise_log.setLevel(level)


class AppriseNotifier:
    """The real notifier: one Apprise ``notify`` per message, markdown body, one result per URL."""

    def __init__(self, timeout: float = SEND_TIMEOUT_S) -> None:
        self.timeout = timeout

    def problem(self, url: str) -> str | None:
        """Why Apprise cannot send to ``url`` (parsed, nothing sent), or None when it can."""
        return UNKNOWN if _quietly(_service, url) is None else None

    def send(self, message: Message, targets: Sequence[Target]) -> list[Delivery]:
        """Send ``message`` to every target Apprise recognises; a Delivery for each target."""
        import apprise

        deliveries: list[Delivery] = []
        sender = apprise.Apprise()
        waiting: dict[str, list[tuple[str, str]]] = {}  # service -> (field, masked URL)
        for target in targets:
            service = _service(target.url)
            if service is None:
                deliveries.append(
                    Delivery(target.field, target.scheme, False, "not a URL Apprise can send to")
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
            deliveries += _outcomes(result, waiting)
        finally:
            result.close()
        return deliveries


def _outcomes(result: Any, waiting: dict[str, list[tuple[str, str]]]) -> list[Delivery]:
    """One Delivery per service Apprise reports on, then one per service the call never reached."""
    deliveries: list[Delivery] = []
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
    return deliveries


def _key(url_id: str | None, url: str) -> str:
    return url_id or url


def _short(masked_url: str) -> str:
    """A masked URL without Apprise's options, for logs."""
    return masked_url.split("?", 1)[0]


def _problems(entries: Iterable[Any]) -> str:
    lines = [e.message for e in entries if getattr(e, "level", "") in ("WARNING", "ERROR", "CRITICAL")]
    return "; ".join(" ".join(line.split()) for line in lines)
