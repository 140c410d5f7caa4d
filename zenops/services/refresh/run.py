"""The refresh use case from start to end: its steps, in order, written once.

Re-hydrate what the champion was built from, add the labelled production rows that
arrived since, hold out the most recent labelled window, retrain with the champion's
trainer, register the challenger, compare both on the window, then promote (aliases
moved, audit written, ticket closed: all or nothing), make it wait for a person's
approval when the model asks for one (an approval ticket; :mod:`.approval`), or hand back
(a dossier and a rebuild ticket). A refresh that finds the champion replaced while it waited, or, when
an event started it, its incident dealt with, stands down (``superseded``) and touches
nothing.

The :class:`~zenops.services.refresh.context.Runner` says how the steps run: plain calls
by default (:func:`plain_runner`, what the unit tests use), or the flow's Prefect tasks
with its concurrency limits and transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from registry.lineage import DataVersion
from registry.promotion import AuditRecord
from registry.versions import LoggedTraining
from zenops.kernel import progress
from zenops.kernel.config import ModelSpec
from zenops.services.refresh import steps as plain_steps
from zenops.services.refresh.approval import ApprovalRequest
from zenops.services.refresh.compare import Comparison
from zenops.services.refresh.context import RefreshPorts, Runner
from zenops.services.refresh.handback import what_was_tried
from zenops.services.refresh.outcome import AWAITING_APPROVAL, HANDED_BACK, PROMOTED, SUPERSEDED, outcome_dict
from zenops.services.refresh.promote import aliases_now, undo_promotion
from zenops.services.refresh.rehydrate import ChampionRef, current_champion, refresh_spec
from zenops.services.refresh.tickets import event_refresh_not_needed
from zenops.services.refresh.window import WindowSplit

__all__ = ["Trial", "plain_runner", "refresh", "stand_down_reason"]


@dataclass(frozen=True)
class Trial:
    """What the retraining produced and was built from, for the promotion or the hand-back."""

    champion: ChampionRef
    data: DataVersion
    split: WindowSplit
    trained_spec: ModelSpec
    logged: LoggedTraining
    training_rows: int
    production_rows: int
    notes: list[str]


class AnnouncedSteps:
    """The runner's steps, each announced (``refresh.step``) to the progress listeners as it starts."""

    def __init__(self, steps: Any, model: str) -> None:
        self._steps, self._model = steps, model

    def __getattr__(self, name: str) -> Any:
        step = getattr(self._steps, name)

        def announced(*args: Any, **kwargs: Any) -> Any:
            progress.report("refresh.step", model=self._model, step=name)
            return step(*args, **kwargs)

        return announced


def plain_runner() -> Runner:
    """Each step a plain call, nothing held: one process, or a test on fakes."""
    return Runner(steps=plain_steps)


def refresh(
    ports: RefreshPorts,
    spec: ModelSpec,
    ticket: int | None = None,
    *,
    on_event: bool = False,
    flow_run: str | None = None,
    run: Runner | None = None,
) -> dict[str, Any]:
    """Refresh ``spec``'s model: re-hydrate, retrain, compare, then promote or hand back.

    Returns the refresh's result (:func:`~zenops.services.refresh.outcome.outcome_dict`).
    A failure after the ticket is claimed is recorded on it (blocked) and raised.
    """
    run = replace(run or plain_runner(), steps=AnnouncedSteps(run.steps if run else plain_steps, spec.name))
    started = run.steps.read_champion(ports, spec)
    with run.exclusive():
        serving, reason = stand_down_reason(ports, spec, started, ticket, on_event)
        if reason:
            return outcome_dict(
                model=spec.name,
                decision=SUPERSEDED,
                champion_version=started.version,
                challenger_version=None,
                comparison=None,
                ticket=ticket,
                serving_version=serving,
                notes=[reason],
                flow_run=flow_run,
                waits=run.waits,
            )
        claimed = run.steps.claim_ticket(ports, spec, ticket, started)
        try:
            return _retrain_and_decide(ports, spec, started, claimed, flow_run, run)
        except Exception as error:
            run.steps.note_failure(ports, claimed, error)
            raise


def stand_down_reason(
    ports: RefreshPorts, spec: ModelSpec, started: ChampionRef, ticket: int | None, on_event: bool
) -> tuple[str | None, str | None]:
    """The version serving now, and why this refresh should not run (None: it should).

    Not when another refresh replaced the champion while this one waited (a model is
    never promoted twice on the same evidence), nor, for an event's refresh, when its
    incident was dealt with or a hand-back's rebuild is still open.
    """
    now = current_champion(ports.registry, spec.name)
    if now != started.version:
        return now, f"the champion moved from version {started.version} to {now} while this refresh waited"
    if on_event:
        return now, event_refresh_not_needed(ports.tickets, spec, ticket)
    return now, None


def _retrain(
    ports: RefreshPorts, spec: ModelSpec, started: ChampionRef, ticket: int, run: Runner
) -> tuple[Trial, Any]:
    """Re-hydrate, gather, hold out, snapshot, retrain, register; the trial and the fitted model."""
    s = run.steps
    data = s.rehydrate(ports, started)
    rows: pd.DataFrame
    rows, notes = s.production_rows(ports, spec, data)
    split = s.hold_out(spec, rows)
    version, frame = s.snapshot_refreshed_data(ports, spec, data, split)
    trained_spec, note = refresh_spec(spec, started)
    with run.training():
        result = s.retrain(trained_spec, frame)
    logged = s.register_challenger(ports, trained_spec, version, result, frame, started, ticket)
    notes = [*notes, *([note] if note else [])]
    trial = Trial(started, version, split, trained_spec, logged, len(frame), len(rows), notes)
    return trial, result.model


def _retrain_and_decide(
    ports: RefreshPorts, spec: ModelSpec, started: ChampionRef, ticket: int, flow_run: str | None, run: Runner
) -> dict[str, Any]:
    trial, model = _retrain(ports, spec, started, ticket, run)
    comparison = run.steps.compare_and_record(ports, spec, started, model, trial.split, trial.logged.run_id)
    common = {
        "data_rev": trial.data.rev,
        "data_md5": trial.data.md5,
        "training_rows": trial.training_rows,
        "production_rows": trial.production_rows,
        "notes": trial.notes,
        "flow_run": flow_run,
        "waits": run.waits,
    }
    if not comparison.promote:
        return _hand_back(ports, spec, trial, comparison, ticket, run, common)
    if spec.promotion.approval == "required":
        version = trial.logged.version
        request = ApprovalRequest(
            spec.name, version, started.version, "refresh", comparison, (ticket,), flow_run
        )
        approval = run.steps.request_approval(ports, spec, request)
        return outcome_dict(
            model=spec.name,
            decision=AWAITING_APPROVAL,
            champion_version=started.version,
            challenger_version=version,
            comparison=comparison,
            ticket=ticket,
            serving_version=started.version,
            approval_ticket=approval,
            rebuild_ticket=None,
            dossier=None,
            **common,
        )
    _promote(ports, spec, trial, comparison, ticket, flow_run, run)
    return outcome_dict(
        model=spec.name,
        decision=PROMOTED,
        champion_version=started.version,
        challenger_version=trial.logged.version,
        comparison=comparison,
        ticket=ticket,
        serving_version=trial.logged.version,
        rebuild_ticket=None,
        dossier=None,
        **common,
    )


def _promote(
    ports: RefreshPorts,
    spec: ModelSpec,
    trial: Trial,
    comparison: Comparison,
    ticket: int,
    flow_run: str | None,
    run: Runner,
) -> None:
    """Move the aliases, audit and close the ticket, all or nothing.

    If any of it fails, the audit is marked rolled back and the aliases are put back
    (whatever the runner's transaction did already), then the error is raised.
    """
    s = run.steps
    before = aliases_now(ports.registry, spec.name)
    audit: AuditRecord | None = None
    try:
        with run.promotion():
            move = s.move_aliases(ports, spec.name, trial.logged.version, trial.champion.version)
            audit = s.write_promotion_audit(ports, move, ticket, comparison, flow_run)
            s.close_promoted(ports, ticket, move, comparison, audit)
    except Exception:
        undo_promotion(ports.registry, spec.name, before, audit)
        raise
    # Outside the promotion: a profile that cannot be built now is built by the next cycle.
    s.profile_champion(ports.profile_stores(), spec, trial.logged.version)


def _hand_back(
    ports: RefreshPorts,
    spec: ModelSpec,
    trial: Trial,
    comparison: Comparison,
    ticket: int,
    run: Runner,
    common: dict[str, Any],
) -> dict[str, Any]:
    """The dossier, the rebuild ticket, the refresh ticket closed; nothing else moves."""
    s = run.steps
    tried = what_was_tried(
        spec,
        trial.trained_spec,
        trial.champion,
        trial.split,
        trial.training_rows,
        trial.production_rows,
        trial.notes,
    )
    dossier, markdown = s.write_dossier(
        ports, spec, trial.champion, trial.logged, trial.data, trial.trained_spec, comparison, ticket, tried
    )
    rebuild = s.open_rebuild_ticket(ports, spec, ticket, trial.logged, comparison, dossier, markdown)
    s.close_handed_back(ports, ticket, rebuild, comparison, dossier, trial.logged.version)
    return outcome_dict(
        model=spec.name,
        decision=HANDED_BACK,
        champion_version=trial.champion.version,
        challenger_version=trial.logged.version,
        comparison=comparison,
        ticket=ticket,
        serving_version=trial.champion.version,
        rebuild_ticket=rebuild,
        dossier=str(dossier),
        **common,
    )
