"""The loop's watchers on the real stack: the webhook receiver of ``zenops server`` and the watch
on the monitor (the SLA watch's stale-monitoring incident).

The receiver runs in this process on loopback, over a trained workspace's real MLflow store and
the session's Prefect API; deliveries are made the way MLflow 3.17 makes them. The SLA watch
runs as its flow; the on-call is a real HTTP endpoint on loopback reached through Apprise.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from flows.sla_watch import sla_watch
from registry import candidates
from tests.integration.test_notifications import configure
from tests.loopback import Endpoints
from zenops.app.webhook_receiver import PATH, Receiver
from zenops.kernel import clock
from zenops.workspace import Workspace

MODEL = "loan-default"
SECRET = "the webhook's secret"


@pytest.fixture
def endpoints() -> Iterator[Endpoints]:
    server = Endpoints()
    yield server
    server.close()


@pytest.fixture
def trained(saved_trained, restore) -> Workspace:
    return restore(saved_trained)


@pytest.fixture
def receiver(trained: Workspace) -> Iterator[str]:
    server = Receiver(("127.0.0.1", 0), trained, SECRET)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}{PATH}"
    server.shutdown()
    server.server_close()


def deliver(url: str, version: str, secret: str) -> httpx.Response:
    """A ``model_version_tag.set`` delivery of ``zenops.candidate`` on ``version``, signed with ``secret``."""
    from mlflow.webhooks.delivery import _generate_hmac_signature

    body = json.dumps(
        {
            "entity": "model_version_tag",
            "action": "set",
            "timestamp": datetime.now(UTC).isoformat(),
            "data": {"name": MODEL, "version": version, "key": candidates.CANDIDATE, "value": "7"},
        }
    )
    at = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-MLflow-Delivery-Id": "delivery-1",
        "X-MLflow-Timestamp": at,
        "X-MLflow-Signature": _generate_hmac_signature(secret, "delivery-1", at, body),
    }
    return httpx.post(url, content=body.encode(), headers=headers, timeout=30)


def test_a_delivery_with_a_wrong_signature_is_refused_and_changes_nothing(
    trained: Workspace, receiver: str
) -> None:
    registry = trained.registry()
    registry.set_version_tag(MODEL, "1", candidates.CANDIDATE, "7")

    refused = deliver(receiver, "1", "not the secret")

    assert refused.status_code == 401 and "does not match" in refused.json()["status"]
    assert candidates.SEEN not in registry.version_tags(MODEL, "1")  # not announced

    accepted = deliver(receiver, "1", SECRET)
    assert accepted.status_code == 200 and accepted.json()["status"] == f"announced: {MODEL} version 1"
    assert candidates.SEEN in registry.version_tags(MODEL, "1")
    assert deliver(receiver, "1", SECRET).json()["status"] == f"announced before: {MODEL} version 1"


def test_a_model_no_cycle_watched_lately_opens_one_ticket_and_tells_the_oncall_once(
    trained: Workspace, endpoints: Endpoints
) -> None:
    ws = configure(trained, endpoints)
    now = datetime(2024, 7, 20, 9, 0, tzinfo=UTC)
    log = ws.cycle_log()
    log.completed([MODEL], now - timedelta(hours=5))  # past the default 3 hours
    log.completed(["demand-forecast"], now - timedelta(hours=1))

    with clock.pinned(now):
        first = sla_watch(workspace=str(ws.root))
        second = sla_watch(workspace=str(ws.root))

    (stale,) = first["stale"]
    assert stale["model"] == MODEL and stale["age_hours"] == 5.0 and stale["created"] is True
    assert second["stale"][0]["ticket"] == stale["ticket"] and second["stale"][0]["created"] is False
    tickets = ws.ticket_store().list(kind="stale_monitoring")
    assert [t.id for t in tickets] == [stale["ticket"]] and tickets[0].model == MODEL
    (told,) = [b for b in endpoints.bodies("oncall") if "stale" in b["title"]]
    assert told["title"] == f"zenops: monitoring of {MODEL} is stale (ticket #{stale['ticket']})"

    log.completed([MODEL], now)  # a cycle completes the model again
    with clock.pinned(now + timedelta(minutes=30)):
        recovered = sla_watch(workspace=str(ws.root))
    assert recovered["stale"] == [] and recovered["recovered"] == [stale["ticket"]]
    assert ws.ticket_store().get(stale["ticket"]).status == "done"
