"""One monitoring cycle of one model: the steps the monitor flow calls.

Per model, over the production batches not yet seen (name order after the
watermark): take in the label files not read yet (by id, whatever their names:
:mod:`drift.labels`), validate the batch, score it with the champion, measure
drift against the champion's own training data (restored at its DVC version),
measure quality on the labels that matched scored rows at this step or estimate it
without them, decide with the pure policy, record (MLflow run, report), open or
update a ticket, and only then advance the watermark, with the labels and files
taken in, in one transaction.

The verdict comes from the exact engine (``workspace.drift_engine()``: the tests in
scipy) on every batch; Evidently's reports are built only for a batch whose report is
kept (``monitoring.html_reports`` and ``report_cadence``, and every batch that opens a
ticket), from the same frames, and any other batch's report can be built later by
``zenops report``.

The steps take the workspace's ports (:mod:`zenops.services.monitor.wiring`): the
registry, the data store, the monitoring state with its leases, the tickets, the event
bus, the drift engine and the label-free estimator; no concrete client.

Nothing is skipped in silence: a label file that cannot be used, labels that
matched no scored row within ``labels.wait``, a file the folders hold that
monitoring does not read, and a batch that no step can measure are each a
``data_quality`` verdict naming the file (and column), reported once; the
watermark moves past a bad batch so the next one is watched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from drift.labels import TABLE_SUFFIXES, LabelFile
from drift.measurement import DriftEngine, DriftMeasurement
from zenops.kernel import clock, progress
from zenops.kernel.config import ModelSpec
from zenops.kernel.errors import DataError
from zenops.ports import Changes, LeaseTaken, ModelState, MonitorState
from zenops.services.monitor.batch import Step, expired_outcomes, process_batch
from zenops.services.monitor.champion import Champion, load_champion
from zenops.services.monitor.files import folder_files, take_in, unread_files
from zenops.services.monitor.incidents import TICKET_VERDICTS, emit_degraded, open_ticket, would_open
from zenops.services.monitor.records import (
    BatchOutcome,
    cycle_markdown,
    cycle_table,
    forget_run,
    problem_outcome,
    record_batch,
    summarise,
    wants_html,
)
from zenops.services.monitor.wiring import MonitorWorkspace

log = logging.getLogger("zenops.monitor")

# Re-exported: the flows, refresh and tests reach these through this module.
__all__ = [
    "TICKET_VERDICTS",
    "BatchOutcome",
    "Champion",
    "Step",
    "cycle_markdown",
    "cycle_table",
    "load_champion",
    "monitor_leased",
    "monitor_one_model",
    "next_state",
    "open_ticket",
    "pending",
    "process_batch",
    "summarise",
]

Announce = Callable[[BatchOutcome], None]


def pending(folder: Path, after: str | None) -> list[Path]:
    """CSV/Parquet files of ``folder`` named after ``after``, in name order."""
    files = [p for p in folder_files(folder) if p.suffix.lower() in TABLE_SUFFIXES]
    return [p for p in files if after is None or p.name > after]


def next_state(
    state: ModelState, outcome: BatchOutcome, batch: Path, arrivals: list[LabelFile]
) -> ModelState:
    """The watermark after ``outcome`` is recorded."""
    return replace(
        state,
        last_batch=batch.name,
        last_labels=Path(arrivals[-1].name).name if arrivals else state.last_labels,
        drift_streak=outcome.consecutive_drift,
        last_verdict=outcome.verdict,
    )


def monitor_one_model(
    workspace: MonitorWorkspace,
    spec: ModelSpec,
    engine: DriftEngine,
    on_ticket_opened: Announce | None = None,
) -> dict[str, Any]:
    """Every pending batch of one model, in order; the watermark follows each recorded batch.

    ``on_ticket_opened`` hears of each batch that opened a ticket as soon as it is
    stored, before the next batch: a later batch's failure does not silence it.
    """
    return ModelCycle(workspace, spec, engine, workspace.monitor_state(), on_ticket_opened).run()


def monitor_leased(
    workspace: MonitorWorkspace,
    spec: ModelSpec,
    engine: DriftEngine,
    on_ticket_opened: Announce | None = None,
) -> dict[str, Any]:
    """:func:`monitor_one_model` under the model's workspace lease ``monitor:MODEL``.

    A cycle that finds the lease held by a live holder (another cycle, whatever
    Prefect it runs under) leaves the model to it and says so; a dead holder's lease
    is cleared with a warning (:mod:`zenops.adapters.leases`).
    """
    states = workspace.monitor_state()
    try:
        with states.leases().hold(f"monitor:{spec.name}"):
            return ModelCycle(workspace, spec, engine, states, on_ticket_opened).run()
    except LeaseTaken as taken:
        note = f"skipped: another cycle is monitoring {spec.name} ({taken}); its batches are taken"
        log.warning(note)
        return summarise(spec.name, [], note=note)


@dataclass
class ModelCycle:
    """One model's cycle over its pending batches, and what each of its steps works with.

    ``digests`` keeps each label file's md5 across the batches of the cycle, so an
    unchanged file is hashed once.
    """

    workspace: MonitorWorkspace
    spec: ModelSpec
    engine: DriftEngine
    states: MonitorState
    announce: Announce | None = None
    champion: Champion | None = None
    digests: dict[tuple[Path, int, int], str] = field(default_factory=dict)

    def run(self) -> dict[str, Any]:
        """The cycle's summary of the model: its most severe batch, and every batch."""
        spec = self.spec
        state = self.states.get(spec.name)
        batches = pending(self.workspace.path(spec.batches), state.last_batch)
        if not batches:
            return self.unread(state)
        self.champion = load_champion(self.workspace, spec)
        if self.champion is None:
            return summarise(spec.name, [], note=f"no champion yet: run 'zenops train {spec.name}'")
        outcomes: list[BatchOutcome] = []
        progress.report("monitor.batches", model=spec.name, total=len(batches))
        for batch in batches:
            progress.report("monitor.batch", model=spec.name, batch=batch.name)
            done, state = self.batch(batch, state)
            outcomes += done
        progress.report("monitor.done", model=spec.name)
        return summarise(spec.name, outcomes)

    def unread(self, state: ModelState) -> dict[str, Any]:
        """No batch pending: report each file of the folders that monitoring does not read, once."""
        unread = unread_files(self.workspace, self.spec, self.states.files(self.spec.name))
        if not unread.problems:
            return summarise(self.spec.name, [])
        outcomes = [self.report(name, [message]) for name, message in unread.problems]
        self.states.advance(state, Changes(files=unread.records))
        return summarise(self.spec.name, outcomes)

    def batch(self, batch: Path, state: ModelState) -> tuple[list[BatchOutcome], ModelState]:
        """Take in, process, record, ticket, then advance the watermark past ``batch``.

        The run is recorded first (the ticket links to it); when the ticket or the
        watermark cannot be stored, the run is deleted again and the batch is done on
        the next try.
        """
        workspace, spec, champion = self.workspace, self.spec, self.champion
        assert champion is not None
        intake = take_in(workspace, spec, champion.classes, self.states.files(spec.name), self.digests)
        reports = [self.report(name, [message]) for name, message in intake.problems]
        step = process_batch(workspace, spec, champion, batch, intake.labels, state, self.engine, self.states)
        now = clock.now()
        kept = self.record(step, state, now)
        outcome = step.outcome
        try:
            self.ticket(outcome)
            reports += [self.ticket(o) for o in expired_outcomes(spec, champion, step.matching)]
            used = step.matching is not None
            state = next_state(state, outcome, batch, intake.labels if used else [])
            if kept:
                state = replace(state, last_report=now)
            changes = Changes(
                files=intake.records + (intake.label_records if used else []),
                labels=step.matching.rows if step.matching is not None else [],
                scored=[step.kept] if step.kept is not None else [],
            )
            self.states.advance(state, changes)
        except BaseException:
            forget_run(workspace, outcome)
            raise
        return [*reports, outcome], state

    def record(self, step: Step, state: ModelState, now: datetime) -> bool:
        """The batch's monitoring run, with Evidently's reports when the policy keeps them.

        Returns whether the reports were kept (the cadence counts from that batch).
        """
        outcome = step.outcome
        settings = self.workspace.config.monitoring
        keep = step.measurement is not None and (
            wants_html(
                settings.html_reports,
                outcome,
                state.last_verdict,
                settings.report_cadence,
                state.last_report,
                now,
            )
            or would_open(self.workspace, self.spec, outcome)
        )
        report = self.kept_report(step) if keep else None
        record_batch(self.workspace, self.spec, outcome, step.measurement, report=report)
        return report is not None

    def kept_report(self, step: Step) -> DriftMeasurement | None:
        """Evidently's drift, summary and (with labels) quality reports of the batch.

        Built from the frames the verdict measured (the champion's reference sample,
        the scored batch, its labelled rows), so the report shows the verdict's
        p-values. A report that cannot be built is said once, in the batch's reasons
        and the log; the verdict stands.
        """
        assert self.champion is not None and step.scored is not None
        try:
            return self.workspace.report_engine().measure(
                self.champion.reference, step.scored, self.spec, labelled=step.labelled
            )
        except DataError as error:
            note = f"{step.outcome.batch}: no Evidently report ({error})"
            log.warning("%s: %s", self.spec.name, note)
            step.outcome.reasons.append(note)
            return None

    def ticket(self, outcome: BatchOutcome) -> BatchOutcome:
        """Open or update the outcome's ticket, emit its event and announce a new one."""
        open_ticket(self.workspace, self.spec, outcome)
        emit_degraded(self.workspace.events(), self.spec, outcome)
        if outcome.ticket_created and self.announce is not None:
            self.announce(outcome)
        return outcome

    def report(self, name: str, reasons: list[str]) -> BatchOutcome:
        """A file that is not a batch, reported once as a ``data_quality`` verdict with its ticket."""
        version = None if self.champion is None else self.champion.info.version
        return self.ticket(problem_outcome(self.spec, version, name, reasons))
