"""One batch of one model: validate, score, join labels, measure and decide.

:func:`process_batch` returns the batch's :class:`Step` (outcome, measurement and the
labels it used); the cycle (:mod:`zenops.services.monitor.cycle`) records it, opens its
ticket and advances the watermark. A batch that fails validation, or that the champion or
the drift engine cannot handle, is a ``data_quality`` verdict naming the file (and the
column the engine fails on alone); labels that waited past ``labels.wait`` without a
scored row are reported once per label file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from drift.assess import assess, assess_problems, needs_estimate
from drift.batches import BatchCheck, Problem, check_batch
from drift.columns import PREDICTION, PROBABILITY
from drift.estimates import PerformanceEstimate
from drift.labels import WAITING, LabelFile, Matching, match_labels
from drift.measurement import DriftEngine, DriftMeasurement
from drift.metrics import MeasuredPerformance
from zenops.kernel import clock
from zenops.kernel.config import Features, ModelSpec
from zenops.kernel.errors import StoreError
from zenops.ports import ModelState, MonitorState, ScoredBatch
from zenops.services.monitor.champion import Champion, estimate, score_batch
from zenops.services.monitor.files import Rescoring, keep_scored, kept_columns, labelled_frame, scored_index
from zenops.services.monitor.records import BatchOutcome, problem_outcome
from zenops.services.monitor.wiring import MonitorWorkspace

__all__ = ["Step", "culprit", "expired_outcomes", "performance_figures", "process_batch"]


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
    """One batch processed: its outcome, measurement, the labels it used and the frames measured.

    ``scored`` (the batch with the champion's predictions) and ``labelled`` (its rows
    joined with labels) are what a kept report is built from, so the report's numbers
    are the verdict's.
    """

    outcome: BatchOutcome
    measurement: DriftMeasurement | None = None
    matching: Matching | None = None
    scored: pd.DataFrame | None = None
    labelled: pd.DataFrame | None = None
    kept: ScoredBatch | None = None  # the ids of the scored rows kept, stored with the watermark


def process_batch(
    workspace: MonitorWorkspace,
    spec: ModelSpec,
    champion: Champion,
    batch: Path,
    arrivals: list[LabelFile],
    state: ModelState,
    engine: DriftEngine,
    states: MonitorState,
) -> Step:
    """Validate, score, join labels, measure and decide one batch (records are written by the caller).

    A batch that fails validation, or that the champion or the drift engine cannot
    handle, is a ``data_quality`` verdict naming the file (and column): the watermark
    moves past it, and its labels are left for the next batch.
    """
    name = str(batch.relative_to(workspace.root))
    check = check_batch(batch, spec, champion.facts, label=name)
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
    matching = _match(workspace, spec, states, state, arrivals, current)
    own = PREDICTION not in check.frame.columns  # zenops scored it, not the batch's producer
    rescoring = Rescoring(
        champion.info.version, lambda rows: kept_columns(spec, score_batch(champion, rows, spec))
    )
    labelled, rescored = labelled_frame(workspace, spec, matching, current, rescoring)
    try:
        measurement = engine.measure(champion.reference, scored, spec, labelled=labelled)
    except StoreError:
        raise
    except Exception as error:  # any engine failure on this batch's values is a data problem
        column = culprit(engine, champion.reference, scored, spec)
        where = f" column '{column}'" if column else ""
        problem = Problem("unmeasurable", column, f"{name}:{where} could not be measured ({_first(error)})")
        return Step(_refused(spec, champion, batch, _failed(check, problem), state))
    kept = keep_scored(workspace, spec, batch, scored, champion.info.version if own else None)
    estimated = estimate(champion, scored) if needs_estimate(measurement, spec) else None
    verdict = assess(
        measurement,
        spec,
        baseline=champion.baseline,
        estimate=estimated,
        previous_drift_cycles=state.drift_streak,
    )
    outcome = BatchOutcome(
        model=spec.name,
        batch=batch.name,
        rows=measurement.rows,
        verdict=verdict.status,
        reasons=verdict.reasons + matching.notes + rescored,
        drift_share=verdict.drift_share,
        drifted_features=[{"feature": f, "p_value": p} for f, p in verdict.drifted_features],
        performance=performance_figures(measurement, estimated, champion.baseline),
        champion_version=champion.info.version,
        consecutive_drift=verdict.consecutive_drift,
    )
    return Step(outcome, measurement, matching, scored, labelled, kept=kept)


def _match(
    workspace: MonitorWorkspace,
    spec: ModelSpec,
    states: MonitorState,
    state: ModelState,
    arrivals: list[LabelFile],
    current: tuple[str, pd.DataFrame],
) -> Matching:
    """The new and waiting labels joined with the batches that scored their ids (looked up by id)."""
    new_ids = [i for f in arrivals if f.frame is not None for i in f.frame["id"]]
    stored = {row.row_id: row for row in states.labels(spec.name, ids=new_ids)} if new_ids else {}
    waiting = states.labels(spec.name, status=WAITING)
    wanted = [*new_ids, *(row.row_id for row in waiting)]
    return match_labels(
        arrivals,
        stored,
        waiting,
        scored_index(workspace, spec, states, state, wanted, current),
        now=clock.now(),
        wait=spec.label_wait,
    )


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
