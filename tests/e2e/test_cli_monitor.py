"""``zenops monitor`` as a user runs it: one cycle, JSON keys, a bad batch, a bad name."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path

from tests.e2e.conftest import ZENOPS, user_environment
from tests.workspaces import SavedWorkspace
from zenops.app.demo.datagen import (
    DriftSchedule,
    production_stream,
    write_malformed,
    write_stream,
)


def on_terminal(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    """What a command prints on a terminal (a pseudo-terminal as stdout and stderr)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(argv, cwd=cwd, env={**env, "COLUMNS": "120"}, stdout=terminal, stderr=terminal)
    os.close(terminal)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the command ended and closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        elif process.poll() is not None:
            break
    process.wait(timeout=60)
    os.close(controller)
    assert process.returncode == 0, b"".join(chunks).decode(errors="replace")[-3000:]
    return b"".join(chunks).decode(errors="replace")


def test_monitor_reports_each_model_and_a_bad_batch(
    zenops, saved_cli_trained: SavedWorkspace, prefect_api
) -> None:
    root = saved_cli_trained.restore_root()  # a workspace zenops init made, loan-default trained
    data = root / "data" / "loan-default"
    stream = production_stream(
        "loan-default", days=2, rows_per_day=300, seed=4, schedule=DriftSchedule.stable()
    )
    write_stream(stream, data / "batches", data / "labels", through=stream[-1].day)
    write_malformed(
        data / "batches" / "2024-07-03.csv", "loan-default", "missing_column", seed=4, column="age"
    )

    result = zenops("monitor", "loan-default", "--json", cwd=root)
    assert result.code == 0, result.stderr
    (row,) = result.json()["models"]
    assert {
        "model",
        "rows",
        "drift_share",
        "drifted_features",
        "performance",
        "verdict",
        "ticket",
        "report_uri",
    } <= row.keys()
    assert [b["verdict"] for b in row["batches"]][-1] == "data_quality"
    assert row["verdict"] == "data_quality" and row["ticket"] == 1
    assert "age" in " ".join(row["reasons"])

    again = zenops("monitor", "--json", cwd=root).json()
    assert {m["model"]: m["batches"] for m in again["models"]} == {"loan-default": [], "demand-forecast": []}
    status = zenops("status", "--json", cwd=root).json()
    loans = next(m for m in status["models"] if m["model"] == "loan-default")
    assert loans["last_verdict"] == "data_quality" and loans["open_tickets"] == [1]
    assert loans["last_cycle"]["verdict"] == "data_quality" and loans["last_cycle"]["run_id"]
    assert loans["champion"]["age_days"] >= 0 and loans["champion"]["since"]
    assert loans["next_cycle"] == status["next_cycle"]
    table = zenops("status", cwd=root)
    assert table.code == 0 and "fleet" in table.stdout and "data_quality" in table.stdout

    # On a terminal, the cycle shows a bar with the model and the batch it is on; piped, nothing.
    later = production_stream(
        "loan-default", days=4, rows_per_day=300, seed=5, schedule=DriftSchedule.stable()
    )
    write_stream(later[3:], data / "batches", data / "labels", through=later[-1].day)
    shown = on_terminal([ZENOPS, "monitor", "loan-default"], root, user_environment(prefect_api))
    assert "loan-default: 2024-07-0" in shown and "monitoring cycle" in shown, shown[-3000:]
    assert "━" not in result.stderr  # the piped --json cycle drew no bar


def test_monitor_an_unknown_model_exits_2(zenops, initialized: Path) -> None:
    root = initialized  # a workspace zenops init made
    result = zenops("monitor", "nope", cwd=root)
    assert result.code == 2 and "no model named 'nope'" in result.stderr
    assert len(result.error_lines) == 1
