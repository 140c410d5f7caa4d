"""A progress bar on stderr for long commands (``monitor``, ``refresh``), on a terminal only.

It listens to what the services report (:mod:`zenops.kernel.progress`): one bar per
model, with the batch or step it is on. Nothing is drawn when stderr is not a
terminal, nor for ``--json`` with stdout piped: a script gets its one document and
its log lines, nothing more.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from zenops.kernel import progress

__all__ = ["progress_bar", "wanted"]


def wanted(console: Console, as_json: bool) -> bool:
    """Whether to draw: stderr is a terminal, and not ``--json`` into a pipe."""
    return console.is_terminal and not (as_json and not sys.stdout.isatty())


@contextmanager
def progress_bar(console: Console, as_json: bool) -> Iterator[None]:
    """Draw the bars of the work reported while the block runs (see :func:`wanted`)."""
    if not wanted(console, as_json):
        yield
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bars:
        tasks: dict[str, Any] = {}
        seen: dict[str, int] = {}

        def listen(event: str, fields: dict[str, Any]) -> None:
            model = str(fields.get("model"))
            if event == "monitor.batches":
                tasks[model] = bars.add_task(model, total=fields["total"])
                seen[model] = 0
            elif event == "monitor.batch" and model in tasks:
                bars.update(tasks[model], completed=seen[model], description=f"{model}: {fields['batch']}")
                seen[model] += 1
            elif event == "monitor.done" and model in tasks:
                bars.update(tasks[model], completed=seen[model], description=f"{model}: done")
            elif event == "refresh.step":
                if model not in tasks:
                    tasks[model] = bars.add_task(model, total=None)
                bars.update(
                    tasks[model], advance=1, description=f"{model}: {fields['step'].replace('_', ' ')}"
                )

        with progress.listening(listen):
            yield
