"""What the command line prints: one JSON document or a rendering for a person, one line per error.

Every command that reports accepts ``--json`` and then prints exactly one JSON
document on stdout (:func:`emit`); progress and logs go to stderr. A failure is one
line on stderr and an exit code (:func:`exit_code`): 1 the work failed; 2 bad usage,
configuration or input.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console

from zenops.kernel.errors import ZenopsError

__all__ = ["JsonOption", "emit", "err", "exit_code", "out"]

# Piped output keeps whole lines: tables are not squeezed to 80 columns.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 200)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def emit(data: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    """Print ``data`` as one JSON document, or render it for a person."""
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        render(data)


def exit_code(error: Exception, details: Callable[[], str]) -> int:
    """Say what went wrong in one line on stderr; returns the command's exit code.

    ``details`` names the log file when the libraries wrote to it meanwhile. A
    :class:`ZenopsError` carries its own code (2 for usage, configuration or input);
    so do the command-line parser's usage errors; anything else is 1.
    """
    if isinstance(error, ZenopsError):
        err.print(f"zenops: error: {error}{details()}", markup=False, highlight=False)
        return error.exit_code
    if isinstance(error, typer.Abort):
        err.print("zenops: aborted", markup=False)
        return 1
    if hasattr(error, "exit_code") and hasattr(error, "show"):
        error.show(file=err.file)
        return error.exit_code
    if type(error).__name__ == "Exit" and hasattr(error, "exit_code"):
        return error.exit_code
    first = f"zenops: error: {type(error).__name__}: {error}".splitlines()[0]
    err.print(f"{first}{details()}", markup=False, highlight=False)
    return 1
