"""MLflow's webhook deliveries as the receiver reads them: the signature and what a delivery says."""

from __future__ import annotations

import json

from registry.adapters.mlflow.webhooks import candidate_of, sign, verify

SECRET = "s3cret"


def delivery(body: dict, secret: str = SECRET, at: int = 1_700_000_000) -> tuple[dict[str, str], bytes]:
    """Headers and body as MLflow 3.17 sends them (mlflow/webhooks/delivery.py)."""
    from mlflow.webhooks.delivery import _generate_hmac_signature

    text = json.dumps(body)
    headers = {
        "X-MLflow-Delivery-Id": "d-1",
        "X-MLflow-Timestamp": str(at),
        "X-MLflow-Signature": _generate_hmac_signature(secret, "d-1", str(at), text),
    }
    return headers, text.encode()


def test_a_delivery_signed_as_mlflow_signs_it_is_accepted_and_any_other_refused() -> None:
    body = {"entity": "model_version", "action": "created", "data": {"name": "m", "version": "3"}}
    headers, data = delivery(body)
    assert sign(SECRET, "d-1", headers["X-MLflow-Timestamp"], data) == headers["X-MLflow-Signature"]
    assert verify(SECRET, headers, data, now=1_700_000_010) is None
    lower = {k.lower(): v for k, v in headers.items()}
    assert verify(SECRET, lower, data, now=1_700_000_010) is None  # header names are case-insensitive
    assert (
        verify("another", headers, data, now=1_700_000_010)
        == "the signature does not match the webhook's secret"
    )
    assert (
        verify(SECRET, headers, data + b" ", now=1_700_000_010)
        == "the signature does not match the webhook's secret"
    )
    assert "a replay" in verify(SECRET, headers, data, now=1_700_000_000 + 3600)
    assert verify(SECRET, {}, data, now=0).startswith("no X-MLflow-Signature")
    assert "not a Unix time" in verify(SECRET, {**headers, "X-MLflow-Timestamp": "soon"}, data, now=0)


def test_only_a_version_tagged_zenops_candidate_is_a_candidate() -> None:
    created = {"entity": "model_version", "action": "created", "data": {"name": "m", "version": "3"}}
    assert candidate_of(json.dumps(created).encode()) is None
    created["data"]["tags"] = {"zenops.candidate": "12"}
    assert candidate_of(json.dumps(created).encode()) == ("m", "3")
    tagged = {
        "entity": "model_version_tag",
        "action": "set",
        "data": {"name": "m", "version": "4", "key": "zenops.candidate", "value": "7"},
    }
    assert candidate_of(json.dumps(tagged).encode()) == ("m", "4")
    tagged["data"]["key"] = "zenops.candidate.seen"
    assert candidate_of(json.dumps(tagged).encode()) is None
    assert candidate_of(b"not json") is None and candidate_of(b"[1]") is None
