"""Where a workspace keeps its own state, and how a store location is told from a local path."""

from __future__ import annotations

import re

STATE_DIR = ".zenops"

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")


def is_uri(value: str) -> bool:
    """``s3://bucket``, ``mlflow-artifacts:/zenops``: a URI, not a path of this machine."""
    return bool(_URI.match(value))
