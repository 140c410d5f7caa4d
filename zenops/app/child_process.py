"""Servers started as children of a command end when that command dies, however it dies."""

from __future__ import annotations

import ctypes
import signal
import sys

PR_SET_PDEATHSIG = 1


def end_with_parent() -> None:
    """Ask for SIGTERM when the parent dies (Linux ``PR_SET_PDEATHSIG``); elsewhere nothing.

    Runs in the child between fork and exec (``subprocess.Popen(preexec_fn=…)``), so
    a ``kill -9`` of the command still stops the servers it started.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
