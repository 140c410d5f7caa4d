"""Where ``zenops server`` listens, written down in the workspace for the commands run there.

``zenops server`` writes ``.zenops/server.json`` once its servers answer, and removes
it when it stops::

    {"prefect_api_url": "http://127.0.0.1:4200/api", "mlflow_url": "http://127.0.0.1:5000",
     "pid": 4242, "started_at": "2026-12-02T06:00:00+00:00", "workspace": "/home/ana/ws"}

``pid`` is the ``zenops server`` process; ``mlflow_url`` is null with ``--no-mlflow``;
``evidently_url`` (the Evidently UI, absent or null without one) is where links to
kept reports point.
A command without ``PREFECT_API_URL`` uses the recorded Prefect server while that
process lives and the server answers (:func:`zenops.app.temporary_server.prefect_api`);
a record left behind by a server that is gone is stale, and a new ``zenops server``
replaces it. The file is written whole or not at all (a temporary file renamed).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from zenops.kernel.paths import STATE_DIR

__all__ = ["ServerRecord", "process_alive", "read_record", "record_path", "remove_record", "write_record"]

RECORD_FILE = "server.json"


@dataclass(frozen=True)
class ServerRecord:
    """One running ``zenops server``: where its servers answer, its process, when it started."""

    prefect_api_url: str
    mlflow_url: str | None
    pid: int
    started_at: str
    workspace: str
    evidently_url: str | None = None

    @classmethod
    def now(
        cls, root: Path, prefect_api_url: str, mlflow_url: str | None, evidently_url: str | None = None
    ) -> ServerRecord:
        """The record of this process's servers, started now."""
        return cls(
            prefect_api_url=prefect_api_url,
            mlflow_url=mlflow_url,
            pid=os.getpid(),
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            workspace=str(root),
            evidently_url=evidently_url,
        )


def record_path(root: Path) -> Path:
    """``ROOT/.zenops/server.json``."""
    return root / STATE_DIR / RECORD_FILE


def write_record(root: Path, record: ServerRecord) -> Path:
    """Write ``record`` for the workspace at ``root``, replacing any earlier one at once."""
    path = record_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path


def read_record(root: Path) -> ServerRecord | None:
    """The workspace's record, or None when there is none.

    A file that is not such a record is a :class:`ValueError` naming the field at fault.
    """
    path = record_path(root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg}, line {error.lineno})") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    for name, kinds in (("prefect_api_url", str), ("pid", int), ("started_at", str), ("workspace", str)):
        if not isinstance(data.get(name), kinds) or isinstance(data.get(name), bool):
            raise ValueError(f"{name}: missing or not a {kinds.__name__}")
    for name in ("mlflow_url", "evidently_url"):
        if data.get(name) is not None and not isinstance(data.get(name), str):
            raise ValueError(f"{name}: not a string or null")
    return ServerRecord(
        data["prefect_api_url"],
        data.get("mlflow_url"),
        data["pid"],
        data["started_at"],
        data["workspace"],
        data.get("evidently_url"),
    )


def remove_record(root: Path, pid: int) -> bool:
    """Remove the workspace's record if process ``pid`` wrote it; whether it was removed.

    The record of another ``zenops server`` (one started after it) is left alone.
    """
    try:
        record = read_record(root)
    except ValueError:
        return False
    if record is None or record.pid != pid:
        return False
    record_path(root).unlink(missing_ok=True)
    return True


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (a zombie counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True
