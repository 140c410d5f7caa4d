"""Checks of single input fields, each raising a :class:`UsageError` whose one line names the field.

Shared by tickets and their phases, so both say the same thing about the same mistake.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from zenops.kernel.errors import UsageError


def names(values: Iterable[str] | str, name: str) -> tuple[str, ...]:
    """Lower-case, de-duplicated, non-empty names in the order given."""
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise UsageError(f"{name}: '{value}' is not a name")
        clean = value.strip().lower()
        if clean not in out:
            out.append(clean)
    return tuple(out)


def whole_in(value: Any, name: str, low: int, high: int) -> int:
    """A whole number within ``low``–``high``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value != int(value)
    ):
        raise UsageError(f"{name}: '{value}' is not a whole number")
    if not low <= value <= high:
        raise UsageError(f"{name}: {value} is out of range {low}–{high}")
    return int(value)


def number(value: Any, name: str) -> float:
    """A finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UsageError(f"{name}: '{value}' is not a number")
    return float(value)


def positive(value: Any, name: str, unit: str = "person-days") -> float:
    """A finite number above zero."""
    value = number(value, name)
    if value <= 0:
        raise UsageError(f"{name}: must be greater than 0 {unit}, got {value:g}")
    return value


def non_negative(value: Any, name: str) -> float:
    """A finite number, zero or more."""
    value = number(value, name)
    if value < 0:
        raise UsageError(f"{name}: must not be negative, got {value:g}")
    return value
