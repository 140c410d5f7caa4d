"""The demo's replayed production days: its seed and sizes, each model's drift, how a day is shown.

Shared by the story (:mod:`zenops.app.demo.story`) and the loop it replays
(:mod:`zenops.app.demo.loop`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console

SEED = 42
TRAINING_ROWS = {"loan-default": 12_000, "demand-forecast": 12_000}
STREAM_DAYS = 30
ROWS_PER_DAY = 600
SHIFTS = {"loan-default": "beyond", "demand-forecast": "within"}
"""Each model's covariate shift (:class:`~zenops.app.demo.datagen.DriftSchedule` ``covariate_kind``)."""
MAGNITUDES = {"loan-default": 1.5, "demand-forecast": 1.0}
"""How far each model's covariate shift goes (``covariate_magnitude``): loan-default's far enough
into the thin-file credit scores that its champion's ROC AUC falls and a refresh on the fresh rows
repairs it before the concept changes."""
TIMINGS = {"loan-default": {"covariate_start": 7, "covariate_ramp_days": 10, "concept_start": 21}}
"""Days that differ from the schedule's defaults: loan-default's shift creeps in over ten days, so
the rows its refresh learns from are labelled by the time its ROC AUC falls, and its concept
changes a day later, leaving the refreshed champion a week of quiet days."""


class Story:
    """Prints the demo's steps with their timings."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.console.print(f"\n[bold cyan]▶ {title}[/]")
        started = time.perf_counter()
        with self.console.status(f"{title}…", spinner="dots"):
            yield
        elapsed = time.perf_counter() - started
        self.timings[title] = round(elapsed, 2)
        self.console.print(f"  [dim]done in {elapsed:.1f} s[/]")

    def say(self, text: str) -> None:
        self.console.print(f"  {text}")


MALFORMED = ("loan-default", 6, "wrong_type")  # model, day, kind: one bad batch in the stream


def schedule(model: str) -> Any:
    """The demo's drift schedule for ``model``: its own covariate shift, size and days (else the defaults)."""
    from zenops.app.demo.datagen import DriftSchedule

    return DriftSchedule(
        covariate_kind=SHIFTS[model], covariate_magnitude=MAGNITUDES[model], **TIMINGS.get(model, {})
    )


def demo_stream(model: str) -> list[Any]:
    """The seeded production days of ``model``, drifting as :func:`schedule` says."""
    from zenops.app.demo.datagen import production_stream

    return production_stream(
        model, days=STREAM_DAYS, rows_per_day=ROWS_PER_DAY, seed=SEED, schedule=schedule(model)
    )


def label_file(day: Any) -> str:
    """Label files are named by the day they arrive, unlike the batches: joined by id."""
    return f"labels-{day.isoformat()}"


VERDICT_STYLE = {"ok": "green", "warn": "yellow", "refresh": "bold magenta", "rebuild": "bold red"}


def day_cell(row: dict[str, Any]) -> str:
    """One model's day in the demo's table: verdict, drift share, performance, tickets opened.

    When the policy held drift at ``warn`` because performance holds (performance
    first), the cell says so: ``warn drift 33% (roc_auc holds)``; a degraded batch
    added to a hand-back's open rebuild ticket says the rebuild waits.
    """
    text = f"[{VERDICT_STYLE.get(row['verdict'], 'bold yellow')}]{row['verdict']}[/]"
    if row["drift_share"]:
        text += f" drift {row['drift_share']:.0%}"
    perf = row.get("performance")
    if perf and any("(performance first)" in reason for reason in row.get("reasons") or []):
        text += f" ({perf['metric']} holds)"
    elif perf and perf.get("kind") == "measured":
        text += f" {perf['metric']} {perf['value']:.3f}"
    for batch in row["batches"]:
        if batch["ticket_created"]:
            text += f" → ticket #{batch['ticket']} ({batch['verdict']})"
        elif any("(a refresh handed the model back)" in reason for reason in batch.get("reasons") or []):
            text += f" → rebuild #{batch['ticket']} waits"
    return text
