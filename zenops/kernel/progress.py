"""Progress of long work, for whoever listens in this process (the command line's bar).

The services say where they are — ``report("monitor.batches", model=..., total=...)``,
``report("monitor.batch", model=..., batch=...)``, ``report("refresh.step", model=...,
step=...)`` — and nothing happens unless a listener is installed (:func:`listening`),
as ``zenops monitor`` and ``zenops refresh`` do when stderr is a terminal. A listener
that fails is dropped: progress never fails the work. The process runner's workers
send theirs back to the flow's process, which reports it here; Dask workers report
nothing here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Listener", "listening", "report"]

Listener = Callable[[str, dict[str, Any]], None]

_listeners: list[Listener] = []
_lock = threading.Lock()


def report(event: str, **fields: Any) -> None:
    """Tell the listeners (none: nothing happens) that ``event`` happened with ``fields``."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(event, fields)
        except Exception:  # a display that fails stops displaying; the work goes on
            with _lock:
                if listener in _listeners:
                    _listeners.remove(listener)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Install ``listener`` while the block runs."""
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)
