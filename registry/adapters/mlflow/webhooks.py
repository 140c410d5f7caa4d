"""MLflow's registry webhooks: the one zenops registers, and what a delivery says, checked.

MLflow (3.3 and later, with a SQL backend) posts a JSON document to a webhook's URL when
a model version is created or a version tag set. zenops registers one webhook,
:data:`WEBHOOK_NAME`, for ``model_version.created`` and ``model_version_tag.set``; the
receiver of ``zenops server`` checks each delivery's signature and turns a version
tagged ``zenops.candidate`` into the event ``zenops.candidate.registered``.

A delivery, as MLflow 3.17 sends it (``mlflow/webhooks/delivery.py``): the body
``{"entity", "action", "timestamp", "data"}``; the headers ``X-MLflow-Delivery-Id``,
``X-MLflow-Timestamp`` (Unix seconds) and ``X-MLflow-Signature`` = ``v1,`` + the
base64 HMAC-SHA256, under the webhook's secret, of ``DELIVERY_ID.TIMESTAMP.BODY``.
:func:`verify` refuses a delivery without those headers, with another signature, or
older (or newer) than :data:`TOLERANCE_SECONDS`: a replay.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "EVENTS",
    "RECEIVER_PATH",
    "WEBHOOK_NAME",
    "candidate_of",
    "ensure_webhook",
    "sign",
    "verify",
]

WEBHOOK_NAME = "zenops-candidates"
RECEIVER_PATH = "/mlflow"  # where the receiver of ``zenops server`` takes deliveries
EVENTS = ("model_version.created", "model_version_tag.set")
SIGNATURE_HEADER = "X-MLflow-Signature"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
DELIVERY_HEADER = "X-MLflow-Delivery-Id"
SIGNATURE_VERSION = "v1"
TOLERANCE_SECONDS = 300
CANDIDATE_TAG = "zenops.candidate"


def sign(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """The signature MLflow puts in ``X-MLflow-Signature`` for this delivery."""
    content = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode("utf-8"), content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> str | None:
    """Why the delivery is refused (missing headers, a wrong signature, a stale time), or None."""
    found = {key.lower(): value for key, value in headers.items()}
    delivery = found.get(DELIVERY_HEADER.lower())
    timestamp = found.get(TIMESTAMP_HEADER.lower())
    signature = found.get(SIGNATURE_HEADER.lower())
    if not (delivery and timestamp and signature):
        return f"no {SIGNATURE_HEADER}, {TIMESTAMP_HEADER} and {DELIVERY_HEADER} headers"
    try:
        sent = int(timestamp)
    except ValueError:
        return f"{TIMESTAMP_HEADER} '{timestamp[:40]}' is not a Unix time"
    if abs(now - sent) > TOLERANCE_SECONDS:
        return f"{TIMESTAMP_HEADER} {sent} is {abs(now - sent):.0f} s away from now (a replay?)"
    expected = sign(secret, delivery, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return "the signature does not match the webhook's secret"
    return None


def candidate_of(body: bytes) -> tuple[str, str] | None:
    """``(model, version)`` when the delivery says a version is tagged ``zenops.candidate``, else None."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    data: Any = document.get("data") or {}
    kind = (document.get("entity"), document.get("action"))
    tagged = False
    if kind == ("model_version", "created"):
        tagged = CANDIDATE_TAG in (data.get("tags") or {})
    elif kind == ("model_version_tag", "set"):
        tagged = data.get("key") == CANDIDATE_TAG
    if not tagged or not data.get("name") or data.get("version") in (None, ""):
        return None
    return str(data["name"]), str(data["version"])


def ensure_webhook(tracking_uri: str, url: str, secret: str) -> str:
    """Register zenops' webhook at ``url`` in the tracking server, replacing an earlier one; its id.

    ``tracking_uri`` is the MLflow server (webhooks are delivered by the server; a
    database URI delivers nothing). MLflow refuses an ``http://`` or loopback URL unless
    the server runs with ``MLFLOW_WEBHOOK_ALLOWED_SCHEMES`` and
    ``MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS`` set, as ``zenops server`` starts it.
    """
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    for webhook in client.list_webhooks():
        if webhook.name == WEBHOOK_NAME:
            client.delete_webhook(webhook.webhook_id)
    created = client.create_webhook(
        name=WEBHOOK_NAME,
        url=url,
        events=list(EVENTS),
        description="zenops: a version tagged zenops.candidate is evaluated through the promotion gate",
        secret=secret,
    )
    return str(created.webhook_id)
