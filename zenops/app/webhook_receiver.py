"""The registry webhook receiver of ``zenops server``: MLflow's deliveries in, candidate events out.

``python -m zenops.app.webhook_receiver --host HOST --port PORT --workspace DIR`` serves
``POST /mlflow`` on loopback. Each delivery's signature is checked against
``ZENOPS_WEBHOOK_SECRET`` (:func:`registry.adapters.mlflow.webhooks.verify`): a delivery
that fails the check is refused (401) and changes nothing, and a line in the log says
why. A verified delivery about a version tagged ``zenops.candidate`` of a model of the
workspace is announced as the Prefect event ``zenops.candidate.registered``
(:func:`zenops.services.candidate.notice.announce`), which starts the
``evaluate-candidate`` deployment; any other delivery is answered 200 and ignored.
``GET /health`` answers 200.

The environment names the stores (``ZENOPS_TRACKING_URI``: the MLflow server) and the
Prefect API (``PREFECT_API_URL``), as ``zenops server`` sets them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from registry.adapters.mlflow.webhooks import RECEIVER_PATH, candidate_of, verify
from zenops.kernel.errors import ZenopsError
from zenops.kernel.offline import stay_offline
from zenops.services.candidate.notice import announce
from zenops.workspace import Workspace

__all__ = ["PATH", "Receiver", "main"]

log = logging.getLogger("zenops.webhooks")

PATH = RECEIVER_PATH
SECRET_VARIABLE = "ZENOPS_WEBHOOK_SECRET"
MAX_BODY = 1_000_000


class Receiver(ThreadingHTTPServer):
    """An HTTP server on loopback that turns verified MLflow deliveries into candidate events."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], workspace: Workspace, secret: str) -> None:
        super().__init__(address, Handler)
        self.workspace, self.secret = workspace, secret

    def handle_delivery(self, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        """The answer to one delivery: (HTTP status, text)."""
        problem = verify(self.secret, headers, body, time.time())
        if problem:
            log.warning("refused a delivery (%s); nothing was changed", problem)
            return 401, f"refused: {problem}"
        found = candidate_of(body)
        if found is None:
            return 200, "ignored: not a version tagged zenops.candidate"
        model, version = found
        names = {spec.name for spec in self.workspace.config.models}
        if model not in names:
            return 200, f"ignored: '{model}' is not a model of {self.workspace.config_path}"
        try:
            announced = announce(
                self.workspace.registry(), self.workspace.events(), model, version, "webhook"
            )
        except ZenopsError as error:
            log.error("could not announce %s version %s: %s", model, version, error)
            return 500, f"failed: {error}"
        what = "announced" if announced else "announced before"
        log.info("%s version %s: %s", model, version, what)
        return 200, f"{what}: {model} version {version}"


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self._answer(200 if self.path == "/health" else 404, "ok" if self.path == "/health" else "not found")

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers.get("Content-Length") or 0)
        if self.path != PATH or length > MAX_BODY:
            self._answer(404 if self.path != PATH else 413, "not a delivery")
            return
        body = self.rfile.read(length)
        status, text = self.server.handle_delivery(dict(self.headers.items()), body)
        self._answer(status, text)

    def _answer(self, status: int, text: str) -> None:
        data = json.dumps({"status": text}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug(format, *args)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m zenops.app.webhook_receiver")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workspace", required=True)
    args = parser.parse_args(argv)
    stay_offline()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    secret = os.environ.get(SECRET_VARIABLE)
    if not secret:
        raise SystemExit(f"{SECRET_VARIABLE}: not set; the receiver checks every delivery against it")
    receiver = Receiver((args.host, args.port), Workspace(args.workspace).require(), secret)
    log.info("receiving MLflow webhooks at http://%s:%s%s", args.host, args.port, PATH)
    receiver.serve_forever()


if __name__ == "__main__":
    main()
