"""The event bus contract on the real adapter: PrefectEvents against a real Prefect API.

The checks are those the fake passes in ``tests/unit/test_port_contracts_monitor.py``;
here the event is read back from the API's event store, as a deployment trigger sees it.
"""

from __future__ import annotations

import time
from typing import Any

from tests.unit.test_port_contracts_monitor import check_event_bus
from zenops.adapters.prefect_events import PrefectEvents


def api_read_back(api: str, timeout: float = 30.0):
    def read(event: str, resource_id: str) -> dict[str, Any]:
        import httpx
        from prefect.events.worker import EventsWorker

        EventsWorker.drain_all()
        body = {"filter": {"event": {"name": [event]}, "order": "DESC"}, "limit": 20}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = httpx.post(f"{api}/events/filter", json=body, timeout=10).json().get("events", [])
            found = [e for e in found if e["resource"].get("prefect.resource.id") == resource_id]
            if found:
                return found[0]
            time.sleep(0.5)
        raise AssertionError(f"no {event} event of {resource_id} within {timeout} s")

    return read


def test_prefect_events_reach_the_api_with_resource_payload_and_related(prefect_api: str) -> None:
    check_event_bus(PrefectEvents(), api_read_back(prefect_api))
