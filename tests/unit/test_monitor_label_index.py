"""The label join looks up the ids its labels carry: what a step reads follows its labels, not history.

On the fakes of ``tests/unit/test_monitor_service.py``: 30 daily batches of 40 rows,
each one's labels arriving a day later (one file three days later, one before its
batch), ids scored by two batches. Every read of a kept scored file goes through
:func:`zenops.services.monitor.files.read_scored`, which the tests count. The same
stream is replayed on a workspace whose index is emptied before every batch, so each
step fills it from every kept file, as the join did before the index: both give the
same matches and verdicts.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from drift.labels import MATCHED, WAITING
from registry.versions import CHAMPION
from tests.fakes.workspace import FakeWorkspace
from tests.faults import crash_at
from tests.unit.test_monitor_service import MODEL, StubModel, crown, rows, trained_workspace
from zenops.kernel.errors import ZenopsError
from zenops.services.monitor import batch as batch_step
from zenops.services.monitor import cycle as monitoring
from zenops.services.monitor import files

DAYS, ROWS = 30, 40
SHARED = 5  # batch 20 scores again 5 ids of batch 19, batch 25 5 ids of batch 24
LATE, EARLY = 24, 12  # batch 24's labels come three days late, batch 12's two days early


def batch_name(day: int) -> str:
    return f"2024-07-{day:02d}.csv"


def batch_rows(day: int) -> pd.DataFrame:
    frame = rows(ROWS, seed=day, start=ROWS * day)
    if day in (20, 25):
        frame.loc[: SHARED - 1, "id"] = [f"r{ROWS * (day - 1) + i}" for i in range(SHARED)]
    return frame


def label_rows(day: int) -> pd.DataFrame:
    """The labels of batch ``day``: batch 25's leave out the ids it shares with batch 24."""
    frame = batch_rows(day)[["id", "y"]]
    return frame.iloc[SHARED:] if day == 25 else frame


def labels_arriving(day: int) -> list[int]:
    """The batches whose labels arrive on ``day``, before its batch is processed."""
    arriving = [day - 1] if day > 1 and day - 1 != LATE else []
    if day == LATE + 3:
        arriving.append(LATE)
    if day == EARLY - 2:
        arriving.append(EARLY)
    return arriving


def step(ws: FakeWorkspace, day: int, labels: bool = True) -> dict:
    spec = ws.config.model(MODEL)
    for labelled in labels_arriving(day) if labels else []:
        label_rows(labelled).to_csv(ws.path(spec.labels) / f"labels-of-{labelled:02d}.csv", index=False)
    batch_rows(day).drop(columns=["y"]).to_csv(ws.path(spec.batches) / batch_name(day), index=False)
    return monitoring.monitor_one_model(ws, spec, ws.drift_engine())


@pytest.fixture
def ws(tmp_path: Path) -> FakeWorkspace:
    return trained_workspace(tmp_path)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """How many times each kept scored file (by batch stem) was read."""
    counted: Counter = Counter()
    read = files.read_scored

    def counting(workspace, spec, batch, columns=None):
        counted[batch] += 1
        return read(workspace, spec, batch, columns)

    monkeypatch.setattr(files, "read_scored", counting)
    return counted


def replay(ws: FakeWorkspace, reads: Counter, *, forget_index: bool = False) -> dict[str, list]:
    """One cycle per day: per day, the files read, the batches newly matched, the verdict."""
    figures: dict[str, list] = {"reads": [], "matched": [], "verdicts": []}
    for day in range(1, DAYS + 1):
        if forget_index:
            ws.state.scored_ids.clear()
        before = {row.row_id: row.status for row in ws.state.labels(MODEL)}
        reads.clear()
        summary = step(ws, day)
        now = {row.row_id: row for row in ws.state.labels(MODEL)}
        matched = Counter(
            row.batch for i, row in now.items() if row.status == MATCHED and before.get(i) != MATCHED
        )
        figures["reads"].append(dict(reads))
        figures["matched"].append(dict(matched))
        figures["verdicts"].append([(b["batch"], b["verdict"], b["reasons"]) for b in summary["batches"]])
    figures["labelled"] = [m.labelled_rows for m in ws.engine.measured]
    figures["labels"] = {row.row_id: (row.batch, row.status) for row in ws.state.labels(MODEL)}
    return figures


def test_a_step_reads_only_the_scored_files_its_labels_match(tmp_path: Path, reads: Counter) -> None:
    indexed = replay(trained_workspace(tmp_path / "indexed"), reads)

    for day, (read, matched) in enumerate(zip(indexed["reads"], indexed["matched"], strict=True), start=1):
        current = batch_name(day).removesuffix(".csv")
        # Each file of a batch the step's labels matched, once; the current batch is in memory.
        assert read == {b: 1 for b in matched if b != current}, day
        assert len(read) <= 3, day
    assert indexed["matched"][19] == {"2024-07-19": ROWS - SHARED, "2024-07-20": SHARED}  # current wins
    assert indexed["matched"][26] == {"2024-07-24": ROWS - SHARED, "2024-07-25": SHARED, "2024-07-26": ROWS}
    assert indexed["matched"][EARLY - 1] == {"2024-07-11": ROWS, "2024-07-12": ROWS}  # waited for its batch
    assert indexed["matched"][LATE] == {} and indexed["matched"][EARLY] == {}
    # One file a day but the first, none the day batch 24's labels stay away nor the day after
    # the early labels matched, three the day batch 24's arrive.
    assert sum(sum(r.values()) for r in indexed["reads"]) == (DAYS - 1) - 2 + 2

    reads.clear()
    rescanned = replay(trained_workspace(tmp_path / "rescanned"), reads, forget_index=True)

    # Filling the index from every kept file, as the join read them all before, gives the same
    # matches and verdicts, and reads what grows with the history.
    for key in ("matched", "verdicts", "labelled", "labels"):
        assert indexed[key] == rescanned[key], key
    assert sum(rescanned["reads"][-1].values()) >= DAYS - 1


def test_a_batch_whose_step_failed_claims_no_scored_ids(ws: FakeWorkspace, reads: Counter) -> None:
    spec = ws.config.model(MODEL)
    step(ws, 1)
    state = ws.monitor_state()
    with crash_at(state, "advance", "after-records"), pytest.raises(ZenopsError, match="after-records"):
        step(ws, 2)
    # Its rows were kept on disk, but the index does not say batch 2 scored them.
    assert (files.scored_dir(ws, MODEL) / "2024-07-02.parquet").is_file()
    assert state.get(MODEL).last_batch == batch_name(1)
    assert state.scored(MODEL, list(batch_rows(2)["id"])) == {}

    # The batch is withdrawn before the next cycle: its labels wait, they match nothing it left.
    (ws.path(spec.batches) / batch_name(2)).unlink()
    reads.clear()
    summary = step(ws, 3)

    assert [b["batch"] for b in summary["batches"]] == [batch_name(3)]
    assert reads == {"2024-07-01": 1}  # batch 1's labels, read again with the step that failed
    waiting = {row.row_id for row in state.labels(MODEL, status=WAITING)}
    assert waiting == set(batch_rows(2)["id"])
    assert state.scored(MODEL, ["r80", "r120"]) == {"r120": "2024-07-03"}


def test_a_workspace_kept_before_the_index_fills_it_once(
    ws: FakeWorkspace, reads: Counter, caplog: pytest.LogCaptureFixture
) -> None:
    state = ws.monitor_state()
    for day in (1, 2, 3):
        step(ws, day, labels=False)
    with crash_at(state, "advance", "after-records"), pytest.raises(ZenopsError):
        step(ws, 4, labels=False)  # leaves batch 4's scored file, past the watermark
    state.scored_ids.clear()  # as a database made before the index has it
    spec = ws.config.model(MODEL)
    late = pd.concat([label_rows(1).iloc[:3], label_rows(2).iloc[:3]])
    late.to_csv(ws.path(spec.labels) / "late.csv", index=False)
    reads.clear()
    advances = len(state.advances)

    with caplog.at_level(logging.INFO, logger="zenops.monitor"):
        step(ws, 4, labels=False)

    # Each file the watermark passed read once for its ids; the two the labels matched once more.
    assert reads == {"2024-07-01": 2, "2024-07-02": 2, "2024-07-03": 1}
    filled = state.advances[advances]
    assert filled[0].last_batch == batch_name(3) and [s.batch for s in filled[1].scored] == [
        "2024-07-01",
        "2024-07-02",
        "2024-07-03",
    ]
    matched = {r.row_id: r.batch for r in state.labels(MODEL, ids=list(late["id"]))}
    assert matched == dict.fromkeys(label_rows(1)["id"][:3], "2024-07-01") | dict.fromkeys(
        label_rows(2)["id"][:3], "2024-07-02"
    )
    assert [r.getMessage() for r in caplog.records if "indexed" in r.getMessage()] == [
        f"{MODEL}: indexed the ids of 3 scored batches kept before the index"
    ]
    assert state.scored(MODEL, ["r160"]) == {"r160": "2024-07-04"}

    reads.clear()
    step(ws, 5)
    assert reads == {"2024-07-04": 1}  # the index is not filled again


class InvertedModel(StubModel):
    """A later champion whose probability of class 1 falls with ``x1``: its ROC AUC is below 0.5."""

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        return super().predict_proba(features)[:, ::-1]


@pytest.fixture
def measured(monkeypatch: pytest.MonkeyPatch) -> list:
    """The labelled frames the steps measured."""
    frames: list = []
    join = batch_step.labelled_frame

    def keeping(*args, **kwargs):
        frame, notes = join(*args, **kwargs)
        frames.append(frame)
        return frame, notes

    monkeypatch.setattr(batch_step, "labelled_frame", keeping)
    return frames


def test_labels_of_rows_an_earlier_champion_scored_measure_the_current_one(
    ws: FakeWorkspace, measured: list
) -> None:
    first = step(ws, 1)
    assert first["batches"][0]["champion_version"] == "1"
    registry = ws.registry()
    spec = ws.config.model(MODEL)
    first_run = registry.runs[registry.alias(MODEL, CHAMPION).run_id]
    tags = {k: v for k, v in first_run.tags.items() if k.startswith("zenops.")}
    crown(ws, InvertedModel(), tags, pd.read_csv(ws.path(spec.training_data)), "rebuilt")

    summary = step(ws, 2)  # batch 1's labels arrive: version 1 scored those rows

    batch = summary["batches"][0]
    assert batch["champion_version"] == "2"
    labelled = measured[-1]
    assert len(labelled) == ROWS and roc_auc_score(labelled["y"], labelled["prediction_proba"]) < 0.5
    assert (
        f"{ROWS} labelled rows of batch 2024-07-01, scored by version 1, are measured with the "
        "predictions of the champion, version 2"
    ) in batch["reasons"]
    kept = files.scored_dir(ws, MODEL)
    assert files.scored_version(ws, spec, "2024-07-01") == "1"
    assert files.scored_version(ws, spec, "2024-07-02") == "2"
    columns = ["id", "x1", "x2", "c", "prediction", "prediction_proba"]
    assert pd.read_parquet(kept / "2024-07-01.parquet").columns.tolist() == columns  # as kept


def test_rows_of_the_current_champion_are_measured_as_scored(ws: FakeWorkspace, measured: list) -> None:
    step(ws, 1)
    summary = step(ws, 2)
    batch = summary["batches"][0]
    labelled = measured[-1]
    assert len(labelled) == ROWS and roc_auc_score(labelled["y"], labelled["prediction_proba"]) > 0.5
    assert not [r for r in batch["reasons"] if "scored by version" in r]
