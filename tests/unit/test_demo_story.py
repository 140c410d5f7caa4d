"""The demo's story: which model gets which shift, its label files, and the table's cells."""

from __future__ import annotations

from datetime import date

from zenops.app.demo import days as demo


def test_each_model_gets_its_own_shift_and_labels_are_named_apart_from_batches() -> None:
    assert demo.schedule("loan-default").covariate_kind == "beyond"
    assert demo.schedule("demand-forecast").covariate_kind == "within"
    assert demo.label_file(date(2024, 7, 4)) == "labels-2024-07-04"
    assert len(demo.demo_stream("demand-forecast")) == demo.STREAM_DAYS


def row(verdict: str, reasons: list[str], performance: dict | None, created: bool = False) -> dict:
    batch = {"ticket_created": created, "ticket": 3 if created else None, "verdict": verdict}
    return {
        "verdict": verdict,
        "drift_share": 1 / 3,
        "reasons": reasons,
        "performance": performance,
        "batches": [batch],
    }


def test_a_cell_says_why_drift_opened_no_ticket() -> None:
    held = (
        "drift in region (effect 0.25, p=1e-9); roc_auc 0.81 vs baseline 0.8 on 400 labelled rows: "
        "drop -1.2% — holds: warn, not refresh (performance first)"
    )
    cell = demo.day_cell(row("warn", [held], {"kind": "measured", "metric": "roc_auc", "value": 0.81}))
    assert cell.endswith("warn[/] drift 33% (roc_auc holds)")


def test_a_cell_shows_the_measured_metric_and_the_ticket_it_opened() -> None:
    perf = {"kind": "measured", "metric": "roc_auc", "value": 0.712}
    cell = demo.day_cell(
        row("refresh", ["roc_auc 0.712 vs baseline 0.8: drop 11%: refresh"], perf, created=True)
    )
    assert "drift 33% roc_auc 0.712 → ticket #3 (refresh)" in cell
    assert "holds" not in cell
