"""The Evidently UI that ``zenops server`` starts over the workspace's Evidently workspace.

``evidently ui`` (Evidently's own service, its static assets served from the installed
package) runs as a child process on loopback over ``stores.evidently`` when that is a
folder; it follows the folder, so the runs a monitoring cycle adds while it runs show
up without a restart. Where ``stores.evidently`` is already an Evidently UI's URL,
there is nothing to start. Its output goes to ``.zenops/logs/evidently-ui.log``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The launch helpers of the other local servers, shared as they are.
from zenops.app.servers import HOST, LocalServers, Server, _free, _launch, _quiet_environment, wait_healthy
from zenops.kernel.errors import UsageError
from zenops.kernel.paths import STATE_DIR
from zenops.workspace import Workspace

__all__ = ["EVIDENTLY_PORT", "add_evidently_ui", "start_evidently"]

EVIDENTLY_PORT = 8000


def start_evidently(workspace: Workspace, host: str = HOST, port: int = EVIDENTLY_PORT) -> Server | None:
    """The Evidently UI on ``host:port`` over the workspace's folder; None when it is a URL or none."""
    folder = workspace.stores.evidently
    if folder is None or folder.startswith(("http://", "https://")):
        return None
    if not _free(host, port):
        raise UsageError(f"--evidently-port: {host}:{port} is already in use")
    Path(folder).mkdir(parents=True, exist_ok=True)
    url = f"http://{host}:{port}"
    argv = [sys.executable, "-m", "evidently.cli", "ui", "--workspace", folder]
    argv += ["--host", host, "--port", str(port)]
    log = workspace.root / STATE_DIR / "logs" / "evidently-ui.log"
    process = _launch("evidently", argv, _quiet_environment(), workspace.root, log)
    return Server("evidently", url, f"{url}/api/version", process, log)


def add_evidently_ui(servers: LocalServers, evidently: Server | None) -> None:
    """Add the Evidently UI (started before the others, so they start together) and wait for it.

    When it does not answer, every server of ``servers`` is stopped too, as one that
    fails at start-up stops the others.
    """
    if evidently is None:
        return
    servers.servers.append(evidently)
    try:
        wait_healthy(evidently)
    except BaseException:
        servers.stop()
        raise
