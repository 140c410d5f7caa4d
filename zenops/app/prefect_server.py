"""The Prefect server of ``zenops server``: Prefect's own, with locked requests run again at once.

``python -m zenops.app.prefect_server --host HOST --port PORT`` serves what
``prefect server start`` serves in the foreground — Prefect's application with its
UI and all of its services (schedules, event triggers, automations) — under uvicorn,
with one difference: a request that the SQLite database turns away as locked is run
again within milliseconds (:mod:`zenops.app.locked_retry`) instead of after the
client's two-second back-off. Settings come from the environment, as for Prefect's
command (``PREFECT_HOME``, ``PREFECT_UI_API_URL``, ``PREFECT_SERVER_*``).
"""

from __future__ import annotations

import argparse

import uvicorn
from prefect.server.api.server import create_app
from prefect.settings import get_current_settings

from zenops.app.locked_retry import RetryLocked


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m zenops.app.prefect_server")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    settings = get_current_settings().server
    uvicorn.run(
        RetryLocked(create_app(final=True)),
        host=args.host,
        port=args.port,
        timeout_keep_alive=settings.api.keepalive_timeout,
        log_level=settings.logging_level.lower(),
    )


if __name__ == "__main__":
    main()
