"""Links that open: which UI a report or run link points to, and the path fallback that says so."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from tests.unit.test_monitor_service import config
from zenops.kernel.server_record import ServerRecord, write_record
from zenops.services.monitor.links import NOT_KEPT, NOT_SERVED, UiBases, report_link, run_link, ui_bases

PAGE = "/projects/p1/reports/r1"


def record(root: Path, pid: int) -> None:
    entry = ServerRecord.now(
        root, "http://127.0.0.1:4200/api", "http://127.0.0.1:5000", "http://127.0.0.1:8000"
    )
    write_record(root, replace(entry, pid=pid))


def test_without_a_ui_a_link_is_the_file_and_says_so(tmp_path: Path) -> None:
    bases = ui_bases(config(), tmp_path, "sqlite:///x.db", str(tmp_path / "evidently"))
    assert bases == UiBases(None, None)
    assert report_link(bases, PAGE, "file:///ws/report.html") == f"file:///ws/report.html {NOT_SERVED}"
    assert report_link(bases, None, None) is None
    assert (
        report_link(bases, None, "file:///ws/snapshot.json", kept=False)
        == f"file:///ws/snapshot.json {NOT_KEPT}"
    )
    assert run_link(bases, "3", "abc") is None


def test_a_running_zenops_server_serves_both(tmp_path: Path) -> None:
    record(tmp_path, os.getpid())
    bases = ui_bases(config(), tmp_path, "sqlite:///x.db", str(tmp_path / "evidently"))
    assert bases == UiBases("http://127.0.0.1:8000", "http://127.0.0.1:5000")
    assert report_link(bases, PAGE, "file:///ws/report.html") == f"http://127.0.0.1:8000{PAGE}"
    assert run_link(bases, "3", "abc") == "http://127.0.0.1:5000/#/experiments/3/runs/abc"


def test_a_record_whose_server_is_gone_serves_nothing(tmp_path: Path) -> None:
    record(tmp_path, 2**22 + 12345)  # no such process
    assert ui_bases(config(), tmp_path, "sqlite:///x.db", None) == UiBases(None, None)


def test_configured_servers_win_over_the_record(tmp_path: Path) -> None:
    record(tmp_path, os.getpid())
    bases = ui_bases(config(), tmp_path, "http://mlflow:5000/", "https://evidently.example/")
    assert bases == UiBases("https://evidently.example", "http://mlflow:5000")
