"""Fault injection for the tests of crash safety, installed by the tests themselves.

Production code carries no hook: a test replaces the callable that runs at the point it
wants to break with one that raises, for the duration of a ``with`` block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from zenops.kernel.errors import ZenopsError


def injected(point: str) -> ZenopsError:
    """The error a crash injected at ``point`` raises."""
    return ZenopsError(f"injected crash at {point}")


@contextmanager
def crash_at(owner: Any, name: str, point: str, when: Callable[..., bool] | None = None) -> Iterator[None]:
    """``owner.name`` raises :func:`injected` (``point``) while the block runs.

    With ``when``, only calls for which ``when(*args, **kwargs)`` is true raise; the
    others go through to the original.
    """
    original = getattr(owner, name)

    def crashing(*args: Any, **kwargs: Any) -> Any:
        if when is None or when(*args, **kwargs):
            raise injected(point)
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(owner, name, crashing)
        yield
