"""The temporary server's retry of a request SQLite turned away: sooner than the client's, never lost."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from zenops.app.locked_retry import RetryLocked


class Server:
    """An ASGI app that answers 503 ``locked`` times, then 200 with the body it was sent."""

    def __init__(self, locked: int, raise_after_503: bool = False) -> None:
        self.locked, self.calls, self.bodies = locked, 0, []
        self.raise_after_503 = raise_after_503

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            self.lifespan = True
            return
        self.calls += 1
        assert "route" not in scope, "a retry got the scope the attempt before wrote into"
        scope["route"] = "/v2/concurrency_limits/increment-with-lease"  # as routing writes it
        message = await receive()
        self.bodies.append(message["body"])
        status = 503 if self.calls <= self.locked else 200
        payload = json.dumps({"attempt": self.calls}).encode()
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": payload, "more_body": False})
        if status == 503 and self.raise_after_503:  # as Starlette's ServerErrorMiddleware does
            raise RuntimeError("database is locked")


def call(app: Any, body: bytes, chunks: int = 1, scope_type: str = "http") -> list[dict]:
    """One request through ``app``, its body in ``chunks`` messages; the messages sent back."""
    size = -(-len(body) // chunks) or 1
    pieces = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    incoming = [
        {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
        for i, piece in enumerate(pieces)
    ]
    sent: list[dict] = []

    async def receive() -> dict:
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(3600)  # a client that stays connected
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app({"type": scope_type, "path": "/api/x"}, receive, send))
    return sent


def test_a_locked_request_runs_again_with_its_body_and_only_the_answer_that_worked_is_sent() -> None:
    server = Server(locked=2)
    sent = call(RetryLocked(server, pause_s=0), b'{"names": ["tag:model:a"]}')
    assert server.calls == 3
    assert server.bodies == [b'{"names": ["tag:model:a"]}'] * 3
    assert [m.get("status") for m in sent if m["type"] == "http.response.start"] == [200]
    assert json.loads(sent[-1]["body"]) == {"attempt": 3}


def test_the_error_raised_after_a_503_is_retried_and_raised_only_after_the_last_attempt() -> None:
    server = Server(locked=1, raise_after_503=True)
    sent = call(RetryLocked(server, pause_s=0), b"{}")
    assert server.calls == 2
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [200]
    server = Server(locked=100, raise_after_503=True)
    with pytest.raises(RuntimeError, match="locked"):
        call(RetryLocked(server, attempts=3, pause_s=0), b"{}")
    assert server.calls == 3


def test_a_body_in_several_messages_is_sent_again_whole() -> None:
    server = Server(locked=1)
    call(RetryLocked(server, pause_s=0), b"0123456789", chunks=3)
    assert server.bodies == [b"0123456789", b"0123456789"]


def test_after_the_last_attempt_the_client_gets_the_503_and_backs_off_as_before() -> None:
    server = Server(locked=100)
    sent = call(RetryLocked(server, attempts=4, pause_s=0), b"{}")
    assert server.calls == 4
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [503]
    assert json.loads(sent[-1]["body"]) == {"attempt": 4}


def test_an_answer_that_is_not_503_is_sent_at_once() -> None:
    server = Server(locked=0)
    sent = call(RetryLocked(server, pause_s=0), b"{}")
    assert server.calls == 1
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [200]


def test_lifespan_passes_through() -> None:
    server = Server(locked=0)
    call(RetryLocked(server), b"", scope_type="lifespan")
    assert server.lifespan and server.calls == 0
