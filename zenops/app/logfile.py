"""Where the libraries' output goes, so that standard error carries zenops's own lines only.

Prefect, MLflow, DVC and git write their logs, warnings and tracebacks to the
process's standard error, from threads and child processes too. Unless the CLI
runs with ``--verbose``, it points file descriptor 2 at the workspace's log file
(``.zenops/logs/zenops.log``; outside a workspace, a file in the system's
temporary folder) and keeps a stream on the real standard error for its own
messages: a failure is one line there, which names the log file when the
libraries wrote something to it meanwhile.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

LOG_FILE = Path(".zenops") / "logs" / "zenops.log"
MAX_BYTES = 20 * 1024 * 1024  # then the file is rotated once, to zenops.log.1


@dataclass
class Redirect:
    """Standard error sent to ``path``; ``stderr`` is the real one."""

    path: Path
    stderr: TextIO
    start: int

    def details(self) -> str:
        """`` (details: PATH)`` when the log grew since the command started, else ``""``."""
        try:
            grew = self.path.stat().st_size > self.start
        except OSError:
            return ""
        if not grew:
            return ""
        try:
            shown = self.path.relative_to(Path.cwd())
        except ValueError:
            shown = self.path
        return f" (details: {shown})"


def log_path(root: Path) -> Path:
    """The workspace's log file, or one in the temporary folder outside a workspace."""
    if (root / ".zenops").is_dir():
        return root / LOG_FILE
    return Path(tempfile.gettempdir()) / f"zenops-{os.getuid()}.log"


def _open_log(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.stat().st_size > MAX_BYTES:
        path.replace(path.with_name(path.name + ".1"))
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)


def redirect_stderr(root: Path) -> Redirect | None:
    """Send file descriptor 2 to the log file; None (nothing changed) if the file cannot be opened."""
    path = log_path(root)
    try:
        descriptor = _open_log(path)
    except OSError:
        return None
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(descriptor, 2)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    os.write(descriptor, f"--- {stamp} zenops {' '.join(sys.argv[1:])}\n".encode())
    os.close(descriptor)
    stderr = os.fdopen(saved, "w", buffering=1, encoding="utf-8", errors="replace")
    return Redirect(path=path, stderr=stderr, start=path.stat().st_size)


# Warnings an operator acts on, shown on the real standard error as one line each
# (and kept in the log file): a stale lease cleared, a long wait for a slot.
OPERATOR_LOGGERS = ("zenops.leases", "zenops.concurrency")


class _OneLine(logging.Handler):
    def __init__(self, stream: TextIO) -> None:
        super().__init__(logging.WARNING)
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = " ".join(record.getMessage().split())
            self.stream.write(f"zenops: warning: {text}\n")
            self.stream.flush()
        except Exception:  # a warning that cannot be shown must not fail the work
            self.handleError(record)


def show_operator_warnings(stream: TextIO) -> None:
    """Print the operator's warnings (see ``OPERATOR_LOGGERS``) on ``stream``, once per process."""
    for name in OPERATOR_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(h, _OneLine) for h in logger.handlers):
            logger.addHandler(_OneLine(stream))
            logger.setLevel(logging.WARNING)
