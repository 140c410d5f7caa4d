"""Whole production streams through the monitor, one cycle a day: which shifts open tickets.

Performance first: a population that shifts while the champion's performance holds
warns and opens no refresh or rebuild ticket, whether labels measure the performance
or the label-free estimate reads it; a covariate shift that hurts the champion opens
a refresh once labels show it, and concept drift opens a ticket once labels show it.

On the real stack: a champion trained through the Prefect flow (MLflow on SQLite,
git + DVC with a folder remote), the exact drift engine, NannyML's estimate, the
monitoring state and tickets in the workspace database. One trained workspace
serves the module; each test starts from empty folders and an empty database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime, time

import pytest

from zenops.app.demo.datagen import DailyBatch, DriftSchedule, production_stream, write_stream
from zenops.services.monitor import cycle as monitoring
from zenops.workspace import Workspace

from .conftest import STORE_VARIABLES, one_trained_model, reset_monitoring

MODEL = "loan-default"
ROWS = 400
SHIFT_START = 3


@pytest.fixture(scope="module")
def trained(saved_trained) -> Iterator[Workspace]:
    # Verdicts, reasons and figures are checked here, not the HTML reports, which cost
    # seconds per batch that stores one (the JSON snapshot is kept either way).
    with one_trained_model(saved_trained, html_reports="never") as ws:
        yield ws


@pytest.fixture
def ws(trained: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """The trained workspace with empty folders, no monitoring state and no tickets."""
    for variable in STORE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return reset_monitoring(trained, MODEL)


def stream(days: int, schedule: DriftSchedule, seed: int = 21) -> list[DailyBatch]:
    return production_stream(MODEL, days=days, rows_per_day=ROWS, seed=seed, schedule=schedule)


def varying_delays(batches: list[DailyBatch]) -> list[DailyBatch]:
    """Labels 1, 2 or 3 days late (a fixed, seeded pattern), as they come in practice."""
    delays = [1, 3, 2, 2, 1, 3]
    return [dataclasses.replace(b, label_delay_days=delays[b.index % len(delays)]) for b in batches]


def replay(ws: Workspace, batches: list[DailyBatch], monkeypatch, labels: bool = True) -> Iterator[dict]:
    """One monitoring cycle a day, the clock pinned to that day; yields each cycle's summary."""
    spec = ws.config.model(MODEL)
    engine = ws.drift_engine()
    nowhere = ws.root / ".zenops" / "labels-never-sent"
    for batch in batches:
        write_stream(
            batches,
            ws.path(spec.batches),
            ws.path(spec.labels) if labels else nowhere,
            through=batch.day,
            since=batch.day,  # each day's files once, as they arrive
            label_name=lambda day: f"labels-{day.isoformat()}",
        )
        monkeypatch.setenv("ZENOPS_NOW", datetime.combine(batch.day, time(23)).isoformat() + "+00:00")
        yield monitoring.monitor_one_model(ws, spec, engine)


def escalating(ws: Workspace) -> list[tuple[str, str]]:
    return [
        (t.kind, t.title) for t in ws.ticket_store().list(model=MODEL) if t.kind in ("refresh", "rebuild")
    ]


def shifted(kind: str, **overrides) -> DriftSchedule:
    fields = dict(covariate_start=SHIFT_START, covariate_ramp_days=2, concept_start=None, covariate_kind=kind)
    return DriftSchedule(**{**fields, **overrides})


def test_a_shift_the_champion_handles_opens_no_refresh_over_30_cycles_with_labels(
    ws: Workspace, monkeypatch
) -> None:
    summaries = list(replay(ws, varying_delays(stream(30, shifted("within"))), monkeypatch))
    verdicts = [s["verdict"] for s in summaries]
    assert not {"refresh", "rebuild"} & set(verdicts), verdicts
    assert escalating(ws) == []
    drifted = [s for s in summaries[SHIFT_START + 2 :] if s["drift_share"] and s["drift_share"] >= 0.25]
    # The population did move, and labels measured that the champion holds.
    assert len(drifted) >= 20, [s["drift_share"] for s in summaries]
    assert {s["verdict"] for s in drifted} == {"warn"}
    # Labels measured most of them (on days no label file arrived, the estimate read it).
    measured = [s for s in drifted if (s["performance"] or {}).get("kind") == "measured"]
    assert len(measured) >= 15, len(measured)
    assert any("performance first" in reason for s in measured for reason in s["reasons"])


def test_a_shift_the_champion_handles_opens_no_refresh_over_30_cycles_without_labels(
    ws: Workspace, monkeypatch
) -> None:
    summaries = list(replay(ws, stream(30, shifted("within")), monkeypatch, labels=False))
    verdicts = [s["verdict"] for s in summaries]
    assert not {"refresh", "rebuild"} & set(verdicts), [
        (v, s["reasons"]) for v, s in zip(verdicts, summaries, strict=True)
    ]
    assert escalating(ws) == []
    drifted = [s for s in summaries[SHIFT_START + 2 :] if s["drift_share"] and s["drift_share"] >= 0.25]
    assert len(drifted) >= 20, [s["drift_share"] for s in summaries]
    # With no label files, the trusted estimate is the reading that holds the drift at warn.
    for summary in drifted:
        perf = summary["performance"]
        assert perf["kind"] == "estimated" and perf.get("trusted", True), perf


def test_a_shift_that_hurts_the_champion_opens_a_refresh_within_a_few_cycles(
    ws: Workspace, monkeypatch
) -> None:
    schedule = shifted("beyond", covariate_ramp_days=1, label_delay_days=1)
    opened = None
    for index, summary in enumerate(replay(ws, stream(10, schedule), monkeypatch)):
        if summary["ticket"] is not None:
            opened = index
            assert summary["verdict"] == "refresh", summary["reasons"]
            assert summary["performance"]["kind"] == "measured"
            break
    # The labels of the first shifted day arrive the next day; allow two more cycles.
    assert opened is not None and SHIFT_START + 1 <= opened <= SHIFT_START + 3, opened
    assert escalating(ws)[0][0] == "refresh"


def test_concept_drift_opens_a_ticket_once_labels_show_it(ws: Workspace, monkeypatch) -> None:
    schedule = DriftSchedule(covariate_start=None, concept_start=SHIFT_START, label_delay_days=2)
    opened = None
    for index, summary in enumerate(replay(ws, stream(10, schedule), monkeypatch)):
        if summary["ticket"] is not None:
            opened = index
            assert summary["verdict"] in ("refresh", "rebuild"), summary["reasons"]
            assert summary["performance"]["kind"] == "measured"
            break
    # Nothing in the features changed: only the labels of drifted days can show it.
    assert opened is not None and SHIFT_START + 2 <= opened <= SHIFT_START + 4, opened
    assert escalating(ws)
