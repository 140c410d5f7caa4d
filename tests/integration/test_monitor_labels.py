"""Labels joined by id whatever their files are named; bad files, unread files and poison batches.

On the real stack: a champion trained through the Prefect flow (MLflow on SQLite,
git + DVC with a folder remote), the Evidently engine, the monitoring state in the
workspace database. One trained workspace serves the module; each test starts
from empty folders and an empty workspace database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from drift.adapters.evidently import EvidentlyEngine
from zenops.adapters.monitor_state import MonitorStateStore
from zenops.app.demo.datagen import DailyBatch, DriftSchedule, production_stream, write_frame, write_stream
from zenops.services.monitor import cycle as monitoring
from zenops.workspace import Workspace

from .conftest import STORE_VARIABLES, one_trained_model, reset_monitoring

MODEL = "loan-default"


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


def stream(days: int = 5, rows: int = 300, delay: int = 1) -> list[DailyBatch]:
    schedule = DriftSchedule(covariate_start=None, concept_start=None, label_delay_days=delay)
    return production_stream(MODEL, days=days, rows_per_day=rows, seed=11, schedule=schedule)


def cycle(ws: Workspace, day: date, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("ZENOPS_NOW", datetime.combine(day, time(23)).isoformat() + "+00:00")
    return monitoring.monitor_one_model(ws, ws.config.model(MODEL), EvidentlyEngine())


def measured(summary: dict) -> list[tuple[str, int | None, float | None]]:
    """(batch, labelled rows, measured value) of every batch of a cycle."""
    out = []
    for batch in summary["batches"]:
        perf = batch["performance"] or {}
        if perf.get("kind") == "measured":
            out.append((batch["batch"], perf["rows"], round(perf["value"], 12)))
        else:
            out.append((batch["batch"], None, None))
    return out


def replay(
    ws: Workspace, batches: list[DailyBatch], monkeypatch, label_name=None, early: bool = False
) -> list:
    """One cycle per day; labels named by ``label_name``, or a day before their batch with ``early``."""
    spec = ws.config.model(MODEL)
    figures = []
    for batch in batches:
        write_stream(
            batches, ws.path(spec.batches), ws.path(spec.labels), through=batch.day, label_name=label_name
        )
        if early:  # the next day's labels are already here before its batch
            ahead = [b for b in batches if b.day == batch.day + timedelta(days=1)]
            for later in ahead:
                name = label_name(later.day) if label_name else f"early-{later.day.isoformat()}"
                write_frame(later.labels, ws.path(spec.labels) / f"{name}.csv")
        figures += measured(cycle(ws, batch.day, monkeypatch))
    return figures


def prefixed(day: date) -> str:
    return f"labels-{day.isoformat()}"


def uuid_named(day: date) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"zenops-test/{day.isoformat()}"))


def test_label_files_named_any_way_give_the_same_measured_performance(ws: Workspace, monkeypatch) -> None:
    batches = stream()
    same_named = replay(ws, batches, monkeypatch)
    assert [rows for _, rows, _ in same_named[1:]] == [300, 300, 300, 300], same_named
    for naming in (prefixed, uuid_named, lambda day: f"l{(day - batches[0].day).days:03d}"):
        again = reset_monitoring(ws, MODEL)
        assert replay(again, batches, monkeypatch, label_name=naming) == same_named


def test_labels_arriving_before_their_batch_wait_for_it(ws: Workspace, monkeypatch) -> None:
    batches = stream(days=4, delay=0)
    early = replay(ws, batches, monkeypatch, label_name=uuid_named, early=True)
    # every batch is measured on its own rows: its labels were waiting when it was scored
    assert [(name, rows) for name, rows, _ in early] == [(f"{b.day.isoformat()}.csv", 300) for b in batches]
    waiting = MonitorStateStore(ws.stores.tickets_url).labels(MODEL, status="waiting")
    assert waiting == []


def set_label_wait(ws: Workspace, wait: str) -> Workspace:
    data = yaml.safe_load(ws.config_path.read_text())
    for model in data["models"]:
        if model["name"] == MODEL:
            model["labels"] = {"path": model["labels"], "wait": wait}
    ws.config_path.write_text(yaml.safe_dump(data, sort_keys=False))
    return Workspace(ws.root)


@pytest.fixture
def restore_config(ws: Workspace) -> Iterator[None]:
    original = ws.config_path.read_text()
    yield
    ws.config_path.write_text(original)


def test_labels_matching_no_batch_wait_then_are_reported_once(
    ws: Workspace, restore_config, monkeypatch
) -> None:
    ws = set_label_wait(ws, "2d")
    assert ws.config.model(MODEL).label_wait == timedelta(days=2)
    spec = ws.config.model(MODEL)
    batches = stream(days=5, delay=1)
    orphans = pd.DataFrame({spec.id_column: [f"ghost-{i}" for i in range(7)], spec.target: [0, 1] * 3 + [0]})
    write_frame(orphans, ws.path(spec.labels) / "orphans.parquet")
    reports = []
    for batch in batches:
        write_stream(batches, ws.path(spec.batches), ws.path(spec.labels), through=batch.day)
        summary = cycle(ws, batch.day, monkeypatch)
        reports += [b for b in summary["batches"] if b["batch"] == "orphans.parquet"]
    assert len(reports) == 1, reports
    (report,) = reports
    assert report["verdict"] == "data_quality"
    assert (
        "orphans.parquet: 7 labelled ids matched no scored batch within labels.wait (2 days)"
        in report["reasons"][0]
    )
    tickets = ws.ticket_store().list(model=MODEL)
    assert [t.kind for t in tickets] == ["data_quality"]
    store = MonitorStateStore(ws.stores.tickets_url)
    assert len(store.labels(MODEL, status="expired")) == 7
    assert store.labels(MODEL, status="waiting") == []


def test_a_label_arriving_twice_counts_once_and_the_record_says_so(ws: Workspace, monkeypatch) -> None:
    spec = ws.config.model(MODEL)
    batches = stream(days=3, delay=1)
    write_stream(batches[:1], ws.path(spec.batches), ws.path(spec.labels), through=batches[0].day)
    cycle(ws, batches[0].day, monkeypatch)
    labels = batches[0].labels
    twice = pd.concat([labels, labels.head(10).assign(**{spec.target: 1 - labels.head(10)[spec.target]})])
    write_frame(twice, ws.path(spec.labels) / "first.csv")
    write_stream(batches[:2], ws.path(spec.batches), ws.path(spec.labels) / "unused", through=batches[1].day)
    summary = cycle(ws, batches[1].day, monkeypatch)
    (second,) = summary["batches"]
    assert second["performance"]["kind"] == "measured" and second["performance"]["rows"] == 300
    assert any("10 ids labelled more than once in the file" in r for r in second["reasons"]), second[
        "reasons"
    ]
    # the same ids again, in a later file: not measured a second time, and said so
    write_frame(labels.head(25), ws.path(spec.labels) / "again.csv")
    write_stream(batches, ws.path(spec.batches), ws.path(spec.labels) / "unused", through=batches[2].day)
    summary = cycle(ws, batches[2].day, monkeypatch)
    (third,) = summary["batches"]
    assert (third["performance"] or {}).get("kind") != "measured", third
    assert any("labels again 25 ids already measured" in r for r in third["reasons"]), third["reasons"]
    rows = MonitorStateStore(ws.stores.tickets_url).labels(MODEL, status="matched")
    assert len(rows) == 300
    relabelled = [r for r in rows if r.source.endswith("again.csv")]
    assert len(relabelled) == 25


def label_state(ws: Workspace) -> list:
    store = MonitorStateStore(ws.stores.tickets_url)
    return sorted((r.row_id, r.target, r.status) for r in store.labels(MODEL))


@pytest.mark.parametrize(
    ("case", "column", "message"),
    [
        ("no-target", "defaulted", "label file lacks the target 'defaulted'"),
        ("no-id", "loan_id", "label file lacks the id column 'loan_id'"),
        (
            "outside-classes",
            "defaulted",
            "column 'defaulted' has values outside the training classes 0, 1 ('7')",
        ),
        ("unreadable", None, "unreadable"),
    ],
)
def test_a_bad_label_file_is_data_quality_naming_it_and_changes_nothing(
    ws: Workspace, monkeypatch, case: str, column: str | None, message: str
) -> None:
    spec = ws.config.model(MODEL)
    batches = stream(days=3, delay=1)
    write_stream(batches[:2], ws.path(spec.batches), ws.path(spec.labels), through=batches[1].day)
    cycle(ws, batches[1].day, monkeypatch)
    before = label_state(ws)
    good = batches[1].labels
    bad = ws.path(spec.labels) / f"bad-{case}.parquet"
    if case == "no-target":
        write_frame(good.drop(columns=[spec.target]), bad)
    elif case == "no-id":
        write_frame(good.drop(columns=[spec.id_column]), bad)
    elif case == "outside-classes":
        write_frame(good.assign(**{spec.target: 7}), bad)
    else:
        bad.write_bytes(b"\x00not parquet at all\xff" * 10)
    write_stream(batches, ws.path(spec.batches), ws.path(spec.labels) / "later", through=batches[2].day)
    summary = cycle(ws, batches[2].day, monkeypatch)
    reports = [b for b in summary["batches"] if b["batch"] == bad.name]
    assert len(reports) == 1 and reports[0]["verdict"] == "data_quality"
    assert f"data/{MODEL}/labels/{bad.name}: " in reports[0]["reasons"][0]
    assert message in reports[0]["reasons"][0]
    if column:
        assert f"'{column}'" in reports[0]["reasons"][0]
    (batch,) = [b for b in summary["batches"] if b["batch"] != bad.name]
    assert batch["verdict"] != "data_quality"
    # nothing from the bad file was stored; the batch's own rows now wait for labels
    after = label_state(ws)
    assert [r for r in after if r[2] != "waiting"] == [r for r in before if r[2] != "waiting"]
    # reported once: the next cycle does not report it again
    again = cycle(ws, batches[2].day, monkeypatch)
    assert again["batches"] == []


def test_files_monitoring_does_not_read_are_reported_once(ws: Workspace, monkeypatch) -> None:
    spec = ws.config.model(MODEL)
    batches = stream(days=2, delay=1)
    write_stream(batches[:1], ws.path(spec.batches), ws.path(spec.labels), through=batches[0].day)
    (ws.path(spec.batches) / "notes.txt").write_text("not a batch\n")
    (ws.path(spec.labels) / "export.json").write_text("{}\n")
    (ws.path(spec.labels) / ".gitkeep").write_text("")
    summary = cycle(ws, batches[0].day, monkeypatch)
    reported = sorted(b["batch"] for b in summary["batches"] if b["verdict"] == "data_quality")
    assert reported == ["export.json", "notes.txt"]
    texts = " ".join(r for b in summary["batches"] for r in b["reasons"])
    assert f"data/{MODEL}/batches/notes.txt: not a .csv or .parquet file" in texts
    # reported once, with or without new batches
    assert cycle(ws, batches[0].day, monkeypatch)["batches"] == []
    write_stream(batches, ws.path(spec.batches), ws.path(spec.labels), through=batches[1].day)
    later = cycle(ws, batches[1].day, monkeypatch)
    assert [b["batch"] for b in later["batches"]] == [f"{batches[1].day.isoformat()}.csv"]


def poison(frame: pd.DataFrame, case: str, column: str) -> pd.DataFrame:
    frame = frame.copy()
    if case == "overflow":
        frame.loc[3, column], frame.loc[4, column] = 1e308, -1e308
    elif case == "infinite":
        frame.loc[3, column], frame.loc[5, column] = np.inf, -np.inf
    else:
        frame[column] = 5.0
    return frame


def test_poison_batches_are_data_quality_and_the_next_batch_is_watched(ws: Workspace, monkeypatch) -> None:
    from flows.monitor import monitor_models

    spec = ws.config.model(MODEL)
    column = spec.features.numerical[0]
    batches = stream(days=4, delay=1)
    folder = ws.path(spec.batches)
    cases = ["overflow", "infinite", "constant"]
    for batch, case in zip(batches, cases, strict=False):
        write_frame(poison(batch.features, case, column), folder / f"{batch.day.isoformat()}.parquet")
    write_frame(batches[3].features, folder / f"{batches[3].day.isoformat()}.parquet")
    monkeypatch.setenv("ZENOPS_NOW", datetime.combine(batches[3].day, time(23)).isoformat() + "+00:00")
    result = monitor_models(workspace=str(ws.root), models=[MODEL])
    (summary,) = result["models"]
    verdicts = [(b["batch"], b["verdict"]) for b in summary["batches"]]
    assert [v for _, v in verdicts][:3] == ["data_quality"] * 3 and verdicts[3][1] != "data_quality", summary
    for outcome, needle in zip(
        summary["batches"], ("too large to measure", "infinite values", "holds one value"), strict=False
    ):
        assert f"column '{column}'" in outcome["reasons"][0] and needle in outcome["reasons"][0], outcome
        assert outcome["batch"] in outcome["reasons"][0]
    state = MonitorStateStore(ws.stores.tickets_url).get(MODEL)
    assert state.last_batch == f"{batches[3].day.isoformat()}.parquet"
    tickets = ws.ticket_store().list(model=MODEL)
    assert [t.kind for t in tickets] == ["data_quality"]


def test_the_demo_data_labels_need_not_share_the_batch_names(ws: Workspace) -> None:
    """Sanity of the generator: label files can carry names unrelated to the batches."""
    spec = ws.config.model(MODEL)
    files = write_stream(stream(days=3), ws.path(spec.batches), ws.path(spec.labels), label_name=prefixed)
    assert {p.name.split("-")[0] for p in files.labels} == {"labels"}
    assert not {p.name for p in files.labels} & {p.name for p in files.batches}
    assert all(isinstance(p, Path) for p in files.batches)


def test_a_ticket_store_that_fails_leaves_no_monitoring_run_behind(ws: Workspace, monkeypatch) -> None:
    from demand.adapters.sql import SqlTicketRepository
    from zenops.kernel.errors import StoreError

    spec = ws.config.model(MODEL)
    batches = stream(days=1)
    write_malformed_batch = batches[0].features.assign(income="12k")  # data_quality: a ticket is opened
    write_frame(write_malformed_batch, ws.path(spec.batches) / f"{batches[0].day.isoformat()}.csv")

    def unwritable(self, *args, **kwargs):
        raise StoreError(f"tickets {ws.stores.tickets_url}: attempt to write a readonly database")

    with monkeypatch.context() as patch:
        patch.setattr(SqlTicketRepository, "open_or_update", unwritable)
        with pytest.raises(StoreError, match="readonly database"):
            cycle(ws, batches[0].day, monkeypatch)
    registry = ws.registry()
    batch = f"{batches[0].day.isoformat()}.csv"
    assert registry.runs_tagged(MODEL, {"zenops.run": "monitoring", "zenops.batch": batch}) == []
    assert MonitorStateStore(ws.stores.tickets_url).get(MODEL).last_batch is None
    again = cycle(ws, batches[0].day, monkeypatch)
    assert [b["verdict"] for b in again["batches"]] == ["data_quality"]
    assert len(registry.runs_tagged(MODEL, {"zenops.run": "monitoring", "zenops.batch": batch})) == 1
