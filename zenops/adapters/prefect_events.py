"""The event bus adapter: Prefect events, which deployment triggers and automations match on.

Monitoring emits ``zenops.model.degraded`` when a refresh or rebuild ticket opens, the SLA
watch ``zenops.ticket.escalated``; both go through :class:`PrefectEvents`, the one place
that calls Prefect's ``emit_event``. Without a Prefect API to send to, Prefect drops the
event (``emit_event`` returns None), which is what a cycle run outside Prefect wants.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["PrefectEvents"]


class PrefectEvents:
    """The :class:`~zenops.ports.EventBus` port on Prefect's event client."""

    def emit(
        self,
        event: str,
        resource: Mapping[str, str],
        payload: Mapping[str, Any],
        related: Sequence[Mapping[str, str]] = (),
    ) -> None:
        """Emit ``event`` about ``resource`` (labels included), with ``payload`` and ``related`` resources."""
        from prefect.events import emit_event

        emit_event(
            event=event,
            resource=dict(resource),
            related=[dict(item) for item in related] if related else None,
            payload=dict(payload),
        )
