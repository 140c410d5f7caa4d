"""The record ``zenops server`` leaves in a workspace, and when a command does not use it.

The cases here need no server: a record that cannot be read, that names another
workspace or whose process is gone. A record whose server answers, or does not, is
in ``tests/integration/test_server_discovery.py``.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from zenops.app.temporary_server import recorded_api
from zenops.kernel.server_record import (
    ServerRecord,
    process_alive,
    read_record,
    record_path,
    remove_record,
    write_record,
)


def a_record(root: Path, **changes) -> ServerRecord:
    return replace(ServerRecord.now(root, "http://127.0.0.1:9/api", "http://127.0.0.1:10"), **changes)


def gone_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


def test_a_record_is_read_back_as_written_and_no_partial_file_stays(tmp_path: Path) -> None:
    record = a_record(tmp_path)
    path = write_record(tmp_path, record)
    assert path == tmp_path / ".zenops" / "server.json"
    assert read_record(tmp_path) == record
    assert json.loads(path.read_text())["prefect_api_url"] == "http://127.0.0.1:9/api"
    assert [p.name for p in path.parent.iterdir()] == ["server.json"]


def test_no_record_is_none(tmp_path: Path) -> None:
    assert read_record(tmp_path) is None
    assert recorded_api(tmp_path, io.StringIO()) is None


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"prefect_api_url": "http://x/api", "pid": "12", "started_at": "t", "workspace": "/w"}', "pid"),
        ('{"pid": 12, "started_at": "t", "workspace": "/w"}', "prefect_api_url"),
    ],
)
def test_a_file_that_is_not_a_record_names_its_fault_and_is_not_used(
    tmp_path: Path, text: str, fault: str
) -> None:
    record_path(tmp_path).parent.mkdir()
    record_path(tmp_path).write_text(text)
    with pytest.raises(ValueError, match=fault):
        read_record(tmp_path)
    said = io.StringIO()
    assert recorded_api(tmp_path, said) is None
    (line,) = said.getvalue().splitlines()
    assert line.startswith(f"zenops: warning: {record_path(tmp_path)}: not a server record (")
    assert line.endswith("; starting a temporary Prefect server")
    assert record_path(tmp_path).read_text() == text  # not ours to remove


def test_a_record_whose_process_is_gone_is_not_used_and_removed(tmp_path: Path) -> None:
    pid = gone_pid()
    write_record(tmp_path, a_record(tmp_path, pid=pid))
    said = io.StringIO()
    assert recorded_api(tmp_path, said, start=False) is None
    assert said.getvalue() == (
        f"zenops: warning: {record_path(tmp_path)}: the zenops server (pid {pid}) that recorded "
        "the Prefect server at http://127.0.0.1:9/api is gone; not using it\n"
    )
    assert not record_path(tmp_path).exists()


def test_a_record_written_for_another_workspace_is_not_used(tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    write_record(copy, a_record(tmp_path / "original"))  # a workspace folder copied with its record
    said = io.StringIO()
    assert recorded_api(copy, said) is None
    assert "of another workspace, " in said.getvalue() and str(tmp_path / "original") in said.getvalue()


def test_only_the_server_that_wrote_the_record_removes_it(tmp_path: Path) -> None:
    write_record(tmp_path, a_record(tmp_path, pid=4242))
    assert not remove_record(tmp_path, 4243)
    assert record_path(tmp_path).exists()
    assert remove_record(tmp_path, 4242)
    assert not record_path(tmp_path).exists()
    assert not remove_record(tmp_path, 4242)


def test_process_alive() -> None:
    assert process_alive(os.getpid())
    assert not process_alive(gone_pid())
    assert not process_alive(0)
