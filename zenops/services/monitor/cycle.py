"""One monitoring cycle of one model: the steps the monitor flow calls.

Per model, over the production batches not yet seen (name order after the
watermark): take in the label files not read yet (by id, whatever their names:
:mod:`drift.labels`), validate the batch, score it with the champion, measure
drift against the champion's own training data (restored at its DVC version),
measure quality on the labels that matched scored rows at this step or estimate it
without them, decide with the pure policy, record (MLflow run, report), open or
update a ticket, and only then advance the watermark, with the labels and files
taken in, in one transaction.

Nothing is skipped in silence: a label file that cannot be used, labels that
matched no scored row within ``labels.wait``, a file the folders hold that
monitoring does not read, and a batch that no step can measure are each a
``data_quality`` verdict naming the file (and column), reported once; the
watermark moves past a bad batch so the next one is watched.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from drift.adapters.nannyml import PerformanceEstimator
from drift.assess import assess, assess_problems
from drift.batches import BatchCheck, Problem, check_batch
from drift.columns import PREDICTION, PROBABILITY
from drift.estimates import PerformanceEstimate
from drift.labels import TABLE_SUFFIXES, WAITING, LabelFile, Matching, match_labels
from drift.measurement import DriftEngine, DriftMeasurement, sample_reference
from drift.metrics import MeasuredPerformance, measured_performance
from registry.lineage import Lineage
from registry.versions import CHAMPION, ModelVersionInfo
from zenops.adapters.monitor_state import MonitorStateStore
from zenops.kernel import clock
from zenops.kernel.config import Features, ModelSpec
from zenops.kernel.errors import DataError, StoreError
from zenops.ports import Changes, ModelState
from zenops.services.monitor.files import (
    folder_files,
    keep_scored,
    labelled_frame,
    scored_index,
    take_in,
    unread_files,
)
from zenops.services.monitor.records import (
    TICKET_VERDICTS,
    BatchOutcome,
    crash_point,
    cycle_markdown,
    emit_degraded,
    forget_run,
    open_ticket,
    problem_outcome,
    record_batch,
    summarise,
    wants_html,
    would_open,
)
from zenops.services.train.fitting import predict_frame, split_holdout
from zenops.workspace import Workspace

log = logging.getLogger("zenops.monitor")

# Re-exported: the flows, refresh and tests reach these through this module.
__all__ = [
    "TICKET_VERDICTS",
    "BatchOutcome",
    "Champion",
    "crash_point",
    "cycle_markdown",
    "load_champion",
    "monitor_leased",
    "monitor_one_model",
    "open_ticket",
    "pending",
    "process_batch",
    "summarise",
    "warm_up",
]


@dataclass
class Champion:
    """What monitoring needs of the current champion, loaded once per version."""

    info: ModelVersionInfo
    model: Any
    training: pd.DataFrame  # the exact training data, restored at its DVC version
    reference: pd.DataFrame  # its seeded holdout (sampled when large), with predictions
    holdout: pd.DataFrame  # the holdout it was evaluated on, with predictions
    baseline: MeasuredPerformance
    estimator: PerformanceEstimator | None
    classes: list[Any] | None = None  # the training data's classes (classification)


# -- files -------------------------------------------------------------------


def pending(folder: Path, after: str | None) -> list[Path]:
    """CSV/Parquet files of ``folder`` named after ``after``, in name order."""
    files = [p for p in folder_files(folder) if p.suffix.lower() in TABLE_SUFFIXES]
    return [p for p in files if after is None or p.name > after]


# -- the champion -----------------------------------------------------------

_champions: dict[tuple[str, str, str], Champion] = {}
_champions_lock = threading.Lock()


def load_champion(workspace: Workspace, spec: ModelSpec) -> Champion | None:
    """The champion's model, exact training data, holdout and estimator (cached per version)."""
    registry = workspace.registry()
    info = registry.alias(spec.name, CHAMPION)
    if info is None:
        return None
    key = (workspace.stores.tracking_uri, spec.name, info.version)
    with _champions_lock:
        if key in _champions:
            return _champions[key]
    trail = Lineage.from_tags(info.tags, f"{spec.name} version {info.version}")
    training = workspace.data_store().read_frame(trail.data)
    model = registry.load_model(spec.name, CHAMPION)
    # The reference is the champion's seeded holdout, rebuilt from the exact training
    # data: rows of that data the model did not fit, so its predictions are honest and
    # prediction drift compares like with like.
    _, holdout = split_holdout(training, spec)
    holdout = pd.concat([holdout, predict_frame(model, holdout, spec)], axis=1)
    reference = sample_reference(holdout, spec)
    # The baseline with its sampling error, so a drop is judged against both noises.
    baseline = measured_performance(holdout, spec)
    estimator = PerformanceEstimator.fit(holdout, spec)
    if estimator is not None and not estimator.check.passed:
        log.warning(
            "%s version %s: its label-free estimate is not trusted: %s",
            spec.name,
            info.version,
            estimator.check.reason,
        )
    classes = None
    if spec.task == "classification":
        classes = sorted(training[spec.target].dropna().unique().tolist())
    champion = Champion(info, model, training, reference, holdout, baseline, estimator, classes)
    with _champions_lock:
        _champions[key] = champion
    return champion


# -- one batch --------------------------------------------------------------


def score_batch(champion: Champion, frame: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """The batch with the champion's predictions, unless it carries its own."""
    if PREDICTION in frame.columns:
        return frame
    return pd.concat([frame, predict_frame(champion.model, frame, spec)], axis=1)


def performance_figures(
    measurement: DriftMeasurement | None,
    estimate: PerformanceEstimate | None,
    baseline: MeasuredPerformance | float | None,
) -> dict[str, Any] | None:
    if isinstance(baseline, MeasuredPerformance):
        baseline = baseline.value
    if measurement is not None and measurement.performance is not None:
        perf = measurement.performance
        return {
            "kind": "measured",
            "metric": perf.metric,
            "value": perf.value,
            "rows": perf.rows,
            "baseline": baseline,
        }
    if estimate is not None:
        return {
            "kind": "estimated",
            "metric": estimate.metric,
            "value": estimate.value,
            "method": estimate.method,
            "baseline": baseline,
            "lower": estimate.lower,
            "upper": estimate.upper,
            "trusted": estimate.trusted,
            "distrust": estimate.distrust,
        }
    return None


@dataclass
class Step:
    """One batch processed: its outcome, measurement and the labels it used."""

    outcome: BatchOutcome
    measurement: DriftMeasurement | None = None
    matching: Matching | None = None


def process_batch(
    workspace: Workspace,
    spec: ModelSpec,
    champion: Champion,
    batch: Path,
    arrivals: list[LabelFile],
    state: ModelState,
    engine: DriftEngine,
    states: MonitorStateStore,
) -> Step:
    """Validate, score, join labels, measure and decide one batch (records are written by the caller).

    A batch that fails validation, or that the champion or the drift engine cannot
    handle, is a ``data_quality`` verdict naming the file (and column): the watermark
    moves past it, and its labels are left for the next batch.
    """
    name = str(batch.relative_to(workspace.root))
    check = check_batch(batch, spec, champion.training, label=name)
    if not check.ok:
        return Step(_refused(spec, champion, batch, check, state))
    try:
        scored = score_batch(champion, check.frame, spec)
    except StoreError:
        raise
    except Exception as error:  # a batch the model cannot score is bad data, not a crash
        problem = Problem(
            "unscorable", None, f"{name}: the champion could not score the batch ({_first(error)})"
        )
        return Step(_refused(spec, champion, batch, _failed(check, problem), state))
    current = (batch.stem, scored)
    matching = _match(workspace, spec, states, arrivals, current)
    labelled = labelled_frame(workspace, spec, matching, current)
    try:
        measurement = engine.measure(champion.reference, scored, spec, labelled=labelled)
    except StoreError:
        raise
    except Exception as error:  # any engine failure on this batch's values is a data problem
        column = culprit(engine, champion.reference, scored, spec)
        where = f" column '{column}'" if column else ""
        problem = Problem("unmeasurable", column, f"{name}:{where} could not be measured ({_first(error)})")
        return Step(_refused(spec, champion, batch, _failed(check, problem), state))
    keep_scored(workspace, spec, batch, scored)
    estimate = _estimate(champion, scored)
    verdict = assess(
        measurement,
        spec,
        baseline=champion.baseline,
        estimate=estimate,
        previous_drift_cycles=state.drift_streak,
    )
    outcome = BatchOutcome(
        model=spec.name,
        batch=batch.name,
        rows=measurement.rows,
        verdict=verdict.status,
        reasons=verdict.reasons + matching.notes,
        drift_share=verdict.drift_share,
        drifted_features=[{"feature": f, "p_value": p} for f, p in verdict.drifted_features],
        performance=performance_figures(measurement, estimate, champion.baseline),
        champion_version=champion.info.version,
        consecutive_drift=verdict.consecutive_drift,
    )
    return Step(outcome, measurement, matching)


def _match(
    workspace: Workspace,
    spec: ModelSpec,
    states: MonitorStateStore,
    arrivals: list[LabelFile],
    current: tuple[str, pd.DataFrame],
) -> Matching:
    new_ids = [i for f in arrivals if f.frame is not None for i in f.frame["id"]]
    stored = {row.row_id: row for row in states.labels(spec.name, ids=new_ids)} if new_ids else {}
    return match_labels(
        arrivals,
        stored,
        states.labels(spec.name, status=WAITING),
        scored_index(workspace, spec, current),
        now=clock.now(),
        wait=spec.label_wait,
    )


def _estimate(champion: Champion, scored: pd.DataFrame) -> PerformanceEstimate | None:
    """The label-free estimate, or None when there is no estimator or it fails on this batch."""
    if champion.estimator is None:
        return None
    try:
        return champion.estimator.estimate(scored)
    except DataError as error:
        log.warning("%s: no performance estimate for this batch (%s)", champion.info.name, error)
        return None


def culprit(
    engine: DriftEngine, reference: pd.DataFrame, scored: pd.DataFrame, spec: ModelSpec
) -> str | None:
    """The first column the engine cannot measure on its own (None: none alone fails)."""
    outputs = [c for c in (PREDICTION, PROBABILITY) if c in scored.columns]
    for column in spec.features.all:
        numerical = [column] if column in spec.features.numerical else []
        categorical = [] if numerical else [column]
        alone = spec.model_copy(update={"features": Features(numerical=numerical, categorical=categorical)})
        try:
            engine.measure(
                reference.drop(columns=outputs, errors="ignore"), scored.drop(columns=outputs), alone
            )
        except StoreError:
            raise
        except Exception:  # this column alone fails: it is the one to name
            return column
    return outputs[-1] if outputs else None


def _refused(
    spec: ModelSpec, champion: Champion, batch: Path, check: BatchCheck, state: ModelState
) -> BatchOutcome:
    verdict = assess_problems(check, spec, previous_drift_cycles=state.drift_streak)
    return BatchOutcome(
        model=spec.name,
        batch=batch.name,
        rows=0 if check.frame is None else len(check.frame),
        verdict=verdict.status,
        reasons=verdict.reasons,
        champion_version=champion.info.version,
        consecutive_drift=verdict.consecutive_drift,
    )


def _failed(check: BatchCheck, problem: Problem) -> BatchCheck:
    return BatchCheck(ok=False, problems=[problem], frame=check.frame, notes=check.notes, source=check.source)


def _first(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return text or type(error).__name__


def expired_outcomes(spec: ModelSpec, champion: Champion, matching: Matching | None) -> list[BatchOutcome]:
    """One report per label file whose ids waited past ``labels.wait`` without a scored row."""
    if matching is None:
        return []
    outcomes = []
    for source, ids in sorted(matching.expired.items()):
        shown = ", ".join(f"'{i}'" for i in ids[:3]) + (", …" if len(ids) > 3 else "")
        reason = (
            f"{source}: {len(ids)} labelled ids matched no scored batch within labels.wait "
            f"({_duration(spec.label_wait)}): {shown}"
        )
        outcomes.append(problem_outcome(spec, champion.info.version, source, [reason]))
    return outcomes


def _duration(wait: Any) -> str:
    hours = wait.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 24 else f"{hours:g} hours"


def next_state(
    state: ModelState, outcome: BatchOutcome, batch: Path, arrivals: list[LabelFile]
) -> ModelState:
    """The watermark after ``outcome`` is recorded."""
    from dataclasses import replace

    return replace(
        state,
        last_batch=batch.name,
        last_labels=Path(arrivals[-1].name).name if arrivals else state.last_labels,
        drift_streak=outcome.consecutive_drift,
        last_verdict=outcome.verdict,
    )


def monitor_one_model(
    workspace: Workspace,
    spec: ModelSpec,
    engine: DriftEngine,
    on_ticket_opened: Callable[[BatchOutcome], None] | None = None,
) -> dict[str, Any]:
    """Every pending batch of one model, in order; the watermark follows each recorded batch.

    ``on_ticket_opened`` hears of each batch that opened a ticket as soon as it is
    stored, before the next batch: a later batch's failure does not silence it.
    """
    states = MonitorStateStore(workspace.stores.tickets_url)
    state = states.get(spec.name)
    batches = pending(workspace.path(spec.batches), state.last_batch)
    if not batches:
        unread = unread_files(workspace, spec, states.files(spec.name))
        if not unread.problems:
            return summarise(spec.name, [])
        outcomes = [
            _report(workspace, spec, None, name, [message], on_ticket_opened)
            for name, message in unread.problems
        ]
        states.advance(state, Changes(files=unread.records))
        return summarise(spec.name, outcomes)
    champion = load_champion(workspace, spec)
    if champion is None:
        return summarise(spec.name, [], note=f"no champion yet: run 'zenops train {spec.name}'")
    html_policy = workspace.config.monitoring.html_reports
    outcomes = []
    digests: dict[tuple[Path, int, int], str] = {}
    for batch in batches:
        intake = take_in(workspace, spec, champion.classes, states.files(spec.name), digests)
        reports = [
            _report(workspace, spec, champion, name, [message], on_ticket_opened)
            for name, message in intake.problems
        ]
        step = process_batch(workspace, spec, champion, batch, intake.labels, state, engine, states)
        outcome = step.outcome
        html = wants_html(html_policy, outcome, state.last_verdict) or would_open(workspace, spec, outcome)
        record_batch(workspace, spec, outcome, step.measurement, html=html)
        try:
            _ticket(workspace, spec, outcome, on_ticket_opened)
            reports += [
                _ticket(workspace, spec, o, on_ticket_opened)
                for o in expired_outcomes(spec, champion, step.matching)
            ]
            used = step.matching is not None
            state = next_state(state, outcome, batch, intake.labels if used else [])
            crash_point("after-records")
            changes = Changes(
                files=intake.records + (intake.label_records if used else []),
                labels=step.matching.rows if step.matching is not None else [],
            )
            states.advance(state, changes)
        except BaseException:
            forget_run(workspace, outcome)
            raise
        outcomes += [*reports, outcome]
    return summarise(spec.name, outcomes)


def monitor_leased(
    workspace: Workspace,
    spec: ModelSpec,
    engine: DriftEngine,
    on_ticket_opened: Callable[[BatchOutcome], None] | None = None,
) -> dict[str, Any]:
    """:func:`monitor_one_model` under the model's workspace lease ``monitor:MODEL``.

    A cycle that finds the lease held by a live holder (another cycle, whatever
    Prefect it runs under) leaves the model to it and says so; a dead holder's lease
    is cleared with a warning (:mod:`zenops.adapters.leases`).
    """
    from zenops.adapters.leases import LeaseTaken, leased

    states = MonitorStateStore(workspace.stores.tickets_url)
    try:
        with leased(states.leases(), f"monitor:{spec.name}"):
            return monitor_one_model(workspace, spec, engine, on_ticket_opened)
    except LeaseTaken as taken:
        note = f"skipped: another cycle is monitoring {spec.name} ({taken}); its batches are taken"
        log.warning(note)
        return summarise(spec.name, [], note=note)


def _ticket(
    workspace: Workspace,
    spec: ModelSpec,
    outcome: BatchOutcome,
    on_ticket_opened: Callable[[BatchOutcome], None] | None,
) -> BatchOutcome:
    """Open or update the outcome's ticket, emit its event and announce a new one."""
    open_ticket(workspace, spec, outcome)
    emit_degraded(spec, outcome)
    if outcome.ticket_created and on_ticket_opened is not None:
        on_ticket_opened(outcome)
    return outcome


def _report(
    workspace: Workspace,
    spec: ModelSpec,
    champion: Champion | None,
    name: str,
    reasons: list[str],
    on_ticket_opened: Callable[[BatchOutcome], None] | None,
) -> BatchOutcome:
    """A file that is not a batch, reported once as a ``data_quality`` verdict with its ticket."""
    version = None if champion is None else champion.info.version
    return _ticket(workspace, spec, problem_outcome(spec, version, name, reasons), on_ticket_opened)


_warm_lock = threading.Lock()


def warm_up() -> None:
    """Import the heavy libraries once per process, before a task uses them.

    Evidently's first import is not thread-safe (two threads importing it at once
    can see a partially initialised module), so every monitoring task calls this
    first: under a lock, the first caller of a process imports, the others wait.
    """
    with _warm_lock:
        import evidently  # noqa: F401
        import evidently.legacy.calculations.stattests  # noqa: F401
        import evidently.metrics  # noqa: F401
        import evidently.presets  # noqa: F401
        import nannyml  # noqa: F401

        from drift.adapters.nannyml import PerformanceEstimator  # noqa: F401
