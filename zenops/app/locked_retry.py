"""A request the Prefect server turns away because SQLite is locked is tried again at once.

On a SQLite database, Prefect's server answers 503 when a write finds the database
locked by another connection's transaction (``SQLITE_BUSY`` on a read that turns into
a write, which SQLite refuses at once rather than wait). Prefect's client then waits
``2 ** attempt`` seconds, about two on the first try. One such write happens on every
task run with tags, even where no concurrency limit exists: the server's slot
increment is an ``UPDATE`` over an empty set of limits, and it collides with the
server's own writes of the task runs before it, so a monitoring cycle's task waited
two seconds now and then for a lock that was free a few milliseconds later.

:class:`RetryLocked` wraps the server's application (the temporary server of
:mod:`zenops.app.temporary_server`): an HTTP request answered 503 is run again after
:data:`PAUSE_SECONDS`, up to :data:`ATTEMPTS` times in all, before the 503 goes back
to the client, which then backs off as before. This is the retry Prefect's client
makes, made sooner: the failed attempt's transaction was rolled back (the server
answers 503 only for errors it holds safe to retry), and the request's body is kept
to be sent again. Anything else — another status, lifespan, websockets — passes
through untouched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

ATTEMPTS = 8
PAUSE_SECONDS = 0.05
LOCKED = 503


class RetryLocked:
    """ASGI middleware: an HTTP request answered 503 is run again, up to ``attempts`` in all."""

    def __init__(self, app: App, attempts: int = ATTEMPTS, pause_s: float = PAUSE_SECONDS) -> None:
        self.app, self.attempts, self.pause_s = app, attempts, pause_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        original = dict(scope)  # the routing below writes into the scope it is given
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            held: list[Message] = []
            replayed: list[bool] = []

            async def replay(replayed: list[bool] = replayed) -> Message:
                if replayed:  # after the body: the client's own messages (its disconnect)
                    return await receive()
                replayed.append(True)
                return {"type": "http.request", "body": body, "more_body": False}

            async def hold_locked(message: Message, held: list[Message] = held, last: bool = last) -> None:
                refused = held or (message["type"] == "http.response.start" and message["status"] == LOCKED)
                if refused and not last:
                    held.append(message)  # this answer is dropped: the request runs again
                    return
                await send(message)

            try:
                await self.app(dict(original), replay, hold_locked)
            except Exception:
                # Starlette raises the error again once its handler has answered (for the
                # server's log); an answer held back is retried, anything else goes on up.
                if not held:
                    raise
            if not held:
                return
            await asyncio.sleep(self.pause_s)


async def _read_body(receive: Receive) -> bytes:
    """The whole body of an HTTP request (API requests are small JSON documents)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away before sending it all
            return b"".join(chunks)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
