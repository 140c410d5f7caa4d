"""Verdicts from the exact tests; Evidently's reports where they are kept, and on demand.

Over one stream with stable, drifted and malformed batches, the verdicts, drifted
features, reasons and tickets are the same whether every batch keeps its Evidently
report (``html_reports: always``) or only the default's batches do; a batch whose report
was not kept gets it later from ``zenops report``, with the verdict's p-values.

On the real stack: a champion trained through the Prefect flow, its profile in MLflow,
Evidently for the kept reports, NannyML's estimate, the workspace database.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, time
from pathlib import Path

import pytest

from zenops.app.demo.datagen import DriftSchedule, production_stream, write_malformed, write_stream
from zenops.services.monitor import cycle as monitoring
from zenops.services.monitor.report import rebuild_report
from zenops.workspace import Workspace

from .conftest import STORE_VARIABLES, one_trained_model, reset_monitoring, set_monitoring

MODEL = "loan-default"
DAYS = 8
MALFORMED_DAY = 3  # its batch misses a feature column


@pytest.fixture(scope="module")
def trained(saved_trained) -> Iterator[Workspace]:
    with one_trained_model(saved_trained) as ws:
        yield ws


@pytest.fixture
def ws(trained: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    for variable in STORE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return reset_monitoring(trained, MODEL)


def run_stream(ws: Workspace, monkeypatch, days: int = DAYS) -> list[dict]:
    """One cycle a day over a stream that drifts from day 2 and holds one malformed batch."""
    spec = ws.config.model(MODEL)
    schedule = DriftSchedule(
        covariate_start=2,
        covariate_ramp_days=1,
        covariate_kind="beyond",
        concept_start=None,
        label_delay_days=1,
    )
    stream = production_stream(MODEL, days=days, rows_per_day=300, seed=5, schedule=schedule)
    batches = []
    for batch in stream:
        write_stream(stream, ws.path(spec.batches), ws.path(spec.labels), through=batch.day)
        if batch.index == MALFORMED_DAY:
            write_malformed(
                ws.path(spec.batches) / f"{batch.day.isoformat()}.csv",
                MODEL,
                "missing_column",
                column="income",
            )
        monkeypatch.setenv("ZENOPS_NOW", datetime.combine(batch.day, time(23)).isoformat() + "+00:00")
        summary = monitoring.monitor_one_model(ws, spec, ws.drift_engine())
        batches += summary["batches"]
    return batches


def decisions(batches: list[dict]) -> list[tuple]:
    return [
        (b["batch"], b["verdict"], b["reasons"], b["drifted_features"], b["performance"], b["ticket"])
        for b in batches
    ]


def tickets(ws: Workspace) -> list[tuple]:
    return [
        (t.kind, t.title, [(e["batch"], e["verdict"], e["drifted_features"]) for e in t.evidence])
        for t in ws.ticket_store().list(model=MODEL)
    ]


def kept(batches: list[dict]) -> list[str]:
    return [b["batch"] for b in batches if (b["report_uri"] or "").endswith("report.html")]


def test_every_report_or_the_default_give_the_same_verdicts_features_and_tickets(
    ws: Workspace, monkeypatch
) -> None:
    default = run_stream(ws, monkeypatch)
    default_tickets = tickets(ws)
    # A batch whose report the default did not keep gets it now, with the verdict's p-values.
    rebuilt_later(ws, default)

    every = run_stream(set_monitoring(reset_monitoring(ws, MODEL), html_reports="always"), monkeypatch)

    assert decisions(every) == decisions(default)
    assert tickets(Workspace(ws.root)) == default_tickets
    verdicts = {b["verdict"] for b in default}
    assert "data_quality" in verdicts and verdicts & {"refresh", "rebuild"}, verdicts  # not all quiet
    assert "ok" in verdicts or "warn" in verdicts
    measured = [b["batch"] for b in every if b["drift_share"] is not None]  # the malformed one is not
    assert kept(every) == measured and len(measured) == DAYS - 1
    assert 0 < len(kept(default)) < len(measured), kept(default)


def rebuilt_later(ws: Workspace, batches: list[dict]) -> None:
    """``zenops report``'s service on the last measured batch whose report was not kept."""
    measured = [b for b in batches if b["rows"] and b["drift_share"] is not None]
    not_kept = [b for b in measured if b["batch"] not in kept(batches)]
    assert not_kept, "every batch kept its report: the test needs one that did not"
    target = not_kept[-1]
    run = ws.registry().client.get_run(target["run_id"])
    verdict_p = {
        k.removeprefix("drift_p."): v for k, v in run.data.metrics.items() if k.startswith("drift_p.")
    }
    assert verdict_p

    result = rebuild_report(Workspace(ws.root), ws.config.model(MODEL), Path(target["batch"]).stem)

    assert result["batch"] == target["batch"] and result["champion_version"] == target["champion_version"]
    assert result["rows"] == target["rows"]
    for column, p_value in verdict_p.items():
        assert result["drift"][column] == pytest.approx(p_value, rel=1e-9, abs=1e-12), column
    written = [Path(f) for f in result["files"]]
    assert all(f.is_file() and f.stat().st_size > 0 for f in written)
    assert {"report.html", "report.summary.html"} <= {f.name for f in written}
    snapshot = json.loads(written[0].read_text())
    assert snapshot["drift"]["metrics"], "the rebuilt snapshot holds Evidently's drift metrics"


def test_zenops_report_names_a_batch_that_was_never_monitored(ws: Workspace, monkeypatch) -> None:
    run_stream(ws, monkeypatch, days=1)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "zenops"), "-w", str(ws.root), "report", MODEL, "--batch", "1999"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "no monitored batch named '1999'" in lines[0], done.stderr
