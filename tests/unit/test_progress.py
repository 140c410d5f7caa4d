"""Progress of long work: what the services report, and the bar drawn only on a terminal."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from tests.unit.test_monitor_service import cycle, drop, rows, trained_workspace
from zenops.app.cli.progress_bar import progress_bar, wanted
from zenops.kernel import progress


def test_a_cycle_reports_each_batch_of_each_model(tmp_path: Path) -> None:
    ws = trained_workspace(tmp_path)
    drop(ws, "2024-07-01.csv", rows(300, seed=2))
    drop(ws, "2024-07-02.csv", rows(300, seed=3, start=300))
    heard: list[tuple[str, dict]] = []

    with progress.listening(lambda event, fields: heard.append((event, fields))):
        cycle(ws)
    cycle(ws)  # nobody listens: nothing is reported, nothing fails

    assert heard == [
        ("monitor.batches", {"model": "m", "total": 2}),
        ("monitor.batch", {"model": "m", "batch": "2024-07-01.csv"}),
        ("monitor.batch", {"model": "m", "batch": "2024-07-02.csv"}),
        ("monitor.done", {"model": "m"}),
    ]


def test_a_listener_that_fails_is_dropped_and_the_work_goes_on() -> None:
    def broken(event: str, fields: dict) -> None:
        raise RuntimeError("display gone")

    with progress.listening(broken):
        progress.report("monitor.batch", model="m", batch="b")
        progress.report("monitor.batch", model="m", batch="c")


def test_the_bar_is_drawn_on_a_terminal_with_the_model_and_batch() -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=100)

    with progress_bar(terminal, as_json=False):
        progress.report("monitor.batches", model="loan-default", total=2)
        progress.report("monitor.batch", model="loan-default", batch="2024-07-01.csv")
        terminal.file.flush()
        progress.report("monitor.done", model="loan-default")
        progress.report("refresh.step", model="loan-default", step="retrain")

    drawn = screen.getvalue()
    assert "loan-default" in drawn


def test_nothing_is_drawn_into_a_pipe() -> None:
    pipe = io.StringIO()
    console = Console(file=pipe, force_terminal=False)
    assert not wanted(console, as_json=False)
    with progress_bar(console, as_json=False):
        progress.report("monitor.batches", model="m", total=1)
        progress.report("monitor.batch", model="m", batch="b")
    assert pipe.getvalue() == ""
