"""One monitoring cycle of one model: the steps the monitor flow calls.

Per model, over the production batches not yet seen (name order after the
watermark): take in the label files not read yet (by id, whatever their names:
:mod:`zenops.labels`), validate the batch, score it with the champion, measure
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

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from drift.assess import assess, assess_problems
from drift.batches import BatchCheck, Problem, check_batch
from drift.columns import PREDICTION, PROBABILITY
from drift.engine import DriftEngine, sample_reference
from drift.measurement import DriftMeasurement
from drift.metrics import MeasuredPerformance, measured_performance
from drift.performance import PerformanceEstimate, PerformanceEstimator
from registry import lineage
from registry.lineage import Lineage
from registry.models import CHAMPION, ModelVersionInfo
from zenops import clock
from zenops.config import Features, ModelSpec
from zenops.errors import DataError, StoreError, ZenopsError
from zenops.labels import TABLE_SUFFIXES, WAITING, LabelFile, Matching, match_labels
from zenops.monitor_files import (
    folder_files,
    keep_scored,
    labelled_frame,
    scored_index,
    take_in,
    unread_files,
)
from zenops.monitor_state import Changes, ModelState, MonitorStateStore
from zenops.training import predict_frame, split_holdout
from zenops.workspace import Workspace

log = logging.getLogger("zenops.monitor")

TICKET_VERDICTS = ("refresh", "rebuild", "data_quality")


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


@dataclass
class BatchOutcome:
    """What one batch gave; ``to_dict`` holds the interface's JSON keys."""

    model: str
    batch: str
    rows: int
    verdict: str
    reasons: list[str]
    drift_share: float | None = None
    drifted_features: list[dict[str, Any]] = field(default_factory=list)
    performance: dict[str, Any] | None = None
    ticket: int | None = None
    ticket_created: bool = False
    report_uri: str | None = None
    run_id: str | None = None
    champion_version: str | None = None
    consecutive_drift: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "batch": self.batch,
            "rows": self.rows,
            "drift_share": self.drift_share,
            "drifted_features": self.drifted_features,
            "performance": self.performance,
            "verdict": self.verdict,
            "reasons": self.reasons,
            "ticket": self.ticket,
            "ticket_created": self.ticket_created,
            "report_uri": self.report_uri,
            "run_id": self.run_id,
            "champion_version": self.champion_version,
        }


SEVERITY = {"ok": 0, "warn": 1, "data_quality": 2, "refresh": 3, "rebuild": 4}


def summarise(model: str, outcomes: list[BatchOutcome], note: str | None = None) -> dict[str, Any]:
    """One object per model for a cycle: the most severe batch's figures, and every batch."""
    if not outcomes:
        return {
            "model": model,
            "rows": 0,
            "drift_share": None,
            "drifted_features": [],
            "performance": None,
            "verdict": "ok",
            "reasons": [note or "no new batch"],
            "ticket": None,
            "report_uri": None,
            "batches": [],
        }
    worst = max(outcomes, key=lambda o: (SEVERITY.get(o.verdict, 0), o.batch))
    summary = worst.to_dict()
    summary["rows"] = sum(o.rows for o in outcomes)
    summary["batches"] = [o.to_dict() for o in outcomes]
    return summary


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


def problem_outcome(
    spec: ModelSpec, champion: Champion | None, name: str, reasons: list[str]
) -> BatchOutcome:
    """A ``data_quality`` report about a file that is not a batch (a label file, a file not read)."""
    return BatchOutcome(
        model=spec.name,
        batch=Path(name).name,
        rows=0,
        verdict="data_quality",
        reasons=reasons,
        champion_version=None if champion is None else champion.info.version,
    )


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
        outcomes.append(problem_outcome(spec, champion, source, [reason]))
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


# -- records -----------------------------------------------------------------


def wants_html(policy: str, outcome: BatchOutcome, previous_verdict: str | None) -> bool:
    """Whether this batch's HTML report is stored (see ``monitoring.html_reports``)."""
    if policy == "always":
        return True
    if policy == "on_alert":
        return outcome.verdict != "ok"
    if policy == "on_change":
        return previous_verdict is None or previous_verdict != outcome.verdict or outcome.ticket_created
    return False


def record_batch(
    workspace: Workspace,
    spec: ModelSpec,
    outcome: BatchOutcome,
    measurement: DriftMeasurement | None,
    html: bool = True,
) -> None:
    """An MLflow run per batch, linked to the champion, with figures and the Evidently report."""
    import tempfile

    import mlflow

    registry = workspace.registry()
    identity = {lineage.RUN_KIND: "monitoring", "zenops.batch": outcome.batch}
    # The watermark has not passed this batch, so a run already logged for it comes from
    # an attempt that did not finish (a crash, a store that failed before the ticket was
    # stored): it is replaced, so each processed batch has exactly one monitoring run.
    if "'" not in outcome.batch:
        for stale in registry.runs_tagged(spec.name, identity):
            registry.delete_run(stale)
    tags = {
        lineage.MODEL: spec.name,
        **identity,
        "zenops.champion.version": outcome.champion_version or "",
        "zenops.verdict": outcome.verdict,
    }
    with registry.start_run(spec.name, f"monitor {spec.name} {outcome.batch}", tags) as run:  # noqa: SIM117
        with registry.errors(f"log monitoring run {run.info.run_id}"):
            metrics: dict[str, float] = {"rows": float(outcome.rows)}
            if outcome.drift_share is not None:
                metrics["drift_share"] = outcome.drift_share
            if outcome.performance and outcome.performance.get("value") is not None:
                metrics[f"{outcome.performance['kind']}_{outcome.performance['metric']}"] = float(
                    outcome.performance["value"]
                )
            if measurement is not None:
                for column in measurement.features:
                    if column.p_value is not None and column.p_value == column.p_value:
                        metrics[f"drift_p.{column.column}"] = float(column.p_value)
                    if column.effect == column.effect:
                        metrics[f"drift_effect.{column.column}"] = float(column.effect)
            mlflow.log_metrics(metrics)
            crash_point("during-record")
            mlflow.log_dict(
                {"verdict": outcome.verdict, "reasons": outcome.reasons, "outcome": outcome.to_dict()},
                "verdict.json",
            )
            if measurement is not None:
                mlflow.log_text(measurement.report_json, "evidently/snapshot.json")
                outcome.report_uri = f"{run.info.artifact_uri}/evidently/snapshot.json"
                if html:
                    with tempfile.TemporaryDirectory() as scratch:
                        for path in measurement.save_html(Path(scratch) / "report.html"):
                            mlflow.log_artifact(str(path), artifact_path="evidently")
                    outcome.report_uri = f"{run.info.artifact_uri}/evidently/report.html"
            outcome.run_id = run.info.run_id


def would_open(workspace: Workspace, spec: ModelSpec, outcome: BatchOutcome) -> bool:
    """Whether this outcome opens a new ticket (no open one for the incident yet)."""
    if outcome.verdict not in TICKET_VERDICTS or workspace.config.monitoring.html_reports == "never":
        return False
    from demand.tickets import ACTIVE

    key = incident(spec, outcome.verdict)
    active = workspace.ticket_store().list(model=spec.name, status=ACTIVE)
    return not any(t.idempotency_key == key for t in active)


def incident(spec: ModelSpec, verdict: str) -> str:
    from demand.tickets import incident_key

    return incident_key(spec.name, verdict, "monitoring")


def open_ticket(workspace: Workspace, spec: ModelSpec, outcome: BatchOutcome) -> None:
    """Open the incident's ticket, or add this batch as evidence to the open one."""
    if outcome.verdict not in TICKET_VERDICTS:
        return
    from demand.tickets import TicketDraft, new_ticket

    config = workspace.config
    titles = {
        "refresh": f"Refresh {spec.name}: drift or performance drop",
        "rebuild": f"Rebuild {spec.name}: performance lost beyond a refresh",
        "data_quality": f"Data quality: bad batch for {spec.name}",
    }
    evidence = {
        "batch": outcome.batch,
        "verdict": outcome.verdict,
        "reasons": outcome.reasons,
        "drift_share": outcome.drift_share,
        "drifted_features": outcome.drifted_features[:10],
        "performance": outcome.performance,
        "report_uri": outcome.report_uri,
        "mlflow_run": outcome.run_id,
        "champion_version": outcome.champion_version,
    }
    draft = TicketDraft(
        kind=outcome.verdict,
        title=titles[outcome.verdict],
        model=spec.name,
        idempotency_key=incident(spec, outcome.verdict),
        evidence=json.loads(json.dumps(evidence, default=str)),
    )
    ticket = new_ticket(draft, now=clock.now(), sla_tiers=config.sla_tiers, models=config.models)
    stored, created = workspace.ticket_store().open_or_update(ticket, actor="zenops monitor")
    outcome.ticket, outcome.ticket_created = stored.id, created


def emit_degraded(spec: ModelSpec, outcome: BatchOutcome) -> None:
    """The Prefect event a deployment trigger starts a refresh from, once per incident.

    Emitted when a ``refresh`` or ``rebuild`` verdict opens its ticket (a repeat of
    the incident only adds evidence to the ticket, so it starts nothing again). The
    resource carries the verdict and ticket as labels, so a trigger may match on
    them; ``refresh_ticket`` is the ticket when it is a refresh ticket, for the
    refresh deployment to work on (a rebuild verdict's refresh opens its own).
    """
    if outcome.verdict not in ("refresh", "rebuild") or not outcome.ticket_created:
        return
    from prefect.events import emit_event

    emit_event(
        event="zenops.model.degraded",
        resource={
            "prefect.resource.id": f"zenops.model.{spec.name}",
            "prefect.resource.name": spec.name,
            "zenops.verdict": outcome.verdict,
            "zenops.ticket": str(outcome.ticket),
        },
        payload={
            "model": spec.name,
            "verdict": outcome.verdict,
            "ticket": outcome.ticket,
            "refresh_ticket": outcome.ticket if outcome.verdict == "refresh" else None,
            "reasons": outcome.reasons,
            "batch": outcome.batch,
            "champion_version": outcome.champion_version,
            "report_uri": outcome.report_uri,
            "mlflow_run": outcome.run_id,
        },
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
    for batch in batches:
        intake = take_in(workspace, spec, champion.classes, states.files(spec.name))
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
    is cleared with a warning (:mod:`zenops.leases`).
    """
    from zenops.leases import LeaseTaken, leased

    states = MonitorStateStore(workspace.stores.tickets_url)
    try:
        with leased(states.leases(), f"monitor:{spec.name}"):
            return monitor_one_model(workspace, spec, engine, on_ticket_opened)
    except LeaseTaken as taken:
        note = f"skipped: another cycle is monitoring {spec.name} ({taken}); its batches are taken"
        log.warning(note)
        return summarise(spec.name, [], note=note)


def forget_run(workspace: Workspace, outcome: BatchOutcome) -> None:
    """Delete the MLflow run of a batch whose ticket or watermark could not be stored.

    The run is written first (the ticket links to it); when what follows fails, the
    batch is not done, so its run goes too: a failed cycle leaves no record of its
    own behind. A run that cannot be deleted (the store is down) is replaced when
    the batch is processed again.
    """
    if outcome.run_id is None:
        return
    try:
        workspace.registry().delete_run(outcome.run_id)
    except ZenopsError as error:
        log.warning(
            "%s: could not delete the run of unfinished batch %s (%s)", outcome.model, outcome.batch, error
        )


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
    return _ticket(workspace, spec, problem_outcome(spec, champion, name, reasons), on_ticket_opened)


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

        from drift.performance import PerformanceEstimator  # noqa: F401


def crash_point(name: str) -> None:
    """Fault injection for tests of crash safety: ``ZENOPS_CRASH_AT=name`` raises here."""
    import os

    if os.environ.get("ZENOPS_CRASH_AT") == name:
        raise ZenopsError(f"injected crash at {name}")


def cycle_markdown(summary: dict[str, Any]) -> str:
    """The per-model Prefect artifact: verdict, top drifted features, performance, report, ticket."""
    lines = [f"# {summary['model']}: {summary['verdict']}", ""]
    lines += [f"- {reason}" for reason in summary.get("reasons", [])]
    perf = summary.get("performance")
    if perf:
        baseline = perf.get("baseline")
        base = f" (holdout {baseline:.4f})" if isinstance(baseline, float) else ""
        lines += ["", f"**Performance** ({perf['kind']}): {perf['metric']} {perf['value']:.4f}{base}"]
    if summary.get("drift_share") is not None:
        lines += ["", f"**Drift share**: {summary['drift_share']:.0%} of features, {summary['rows']} rows"]
    features = summary.get("drifted_features") or []
    if features:
        lines += ["", "| drifted feature | p-value |", "|---|---|"]
        lines += [f"| {f['feature']} | {f['p_value']:.2e} |" for f in features[:10]]
    if summary.get("report_uri"):
        lines += ["", f"Evidently report: {summary['report_uri']}"]
    if summary.get("ticket"):
        lines += ["", f"Ticket: #{summary['ticket']}"]
    return "\n".join(lines) + "\n"
