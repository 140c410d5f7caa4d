"""The refresh flow (re-hydrate, retrain, compare, promote or hand back) and rollback.

One task per step; retries only on the steps that read a store and may meet a
passing fault (never on lineage or data errors, which would fail again).

Safety under concurrency, with Prefect global concurrency limits (created or
updated at the start of every run, used with ``strict=True`` so a missing limit
is an error rather than a silent pass):

- ``zenops-refresh-<model>`` (limit 1): one refresh or rollback of a model at a
  time. A second refresh waits for it (``wait_seconds`` bounds the wait), then
  re-checks that the champion is still the version it started from; if another
  refresh replaced it meanwhile, it returns ``decision: "superseded"`` and
  touches nothing, so a model is never promoted twice on the same evidence.
- ``zenops-training`` (limit ``promotion.training_slots``, default 2): trainings
  running at once across all models.

Promotion runs in a Prefect transaction: the alias move and the audit are tasks
with rollback hooks, so if the audit or the ticket update fails the aliases go
back to where they were (and the audit run is marked rolled back). A promotion
gives ``previous-champion`` the old champion, ``champion`` the challenger, and
removes the ``challenger`` alias. A hand-back moves no alias but ``challenger``,
which stays on the version just trained (``models:/NAME@challenger``, for the
data scientists) until the next refresh moves it.

The refresh ticket: the one given, else the model's oldest active refresh ticket,
else a new one (incident ``manual``). It moves to ``in_progress`` when the work
starts and closes as ``done`` with the outcome (promoted or handed back); a
failed refresh adds the error as evidence and moves it to ``blocked`` (a later
refresh takes it up again). A superseded refresh leaves it alone.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.transactions import Transaction, get_transaction, transaction

from flows.concurrency import TRAINING_LIMIT, ensure_limits, holding, refresh_limit, refresh_limits
from flows.retries import STORE_RETRIES
from zenops.kernel.config import ModelSpec
from zenops.services.notify import notify_flow_failure, notify_handback
from zenops.services.refresh import steps
from zenops.workspace import Workspace

__all__ = ["TRAINING_LIMIT", "ensure_limits", "holding", "refresh_limit", "refresh_model", "rollback_flow"]

# -- tasks -------------------------------------------------------------------------------


@task(name="read-champion", cache_policy=NO_CACHE, **STORE_RETRIES)
def read_champion(workspace: Workspace, spec: ModelSpec) -> steps.ChampionRef:
    return steps.read_champion(workspace, spec)


@task(name="claim-ticket", cache_policy=NO_CACHE, **STORE_RETRIES)
def claim_ticket(
    workspace: Workspace, spec: ModelSpec, ticket: int | None, champion: steps.ChampionRef
) -> int:
    return steps.claim_ticket(workspace, spec, ticket, champion)


@task(name="rehydrate-champion-data", cache_policy=NO_CACHE)
def rehydrate(workspace: Workspace, champion: steps.ChampionRef):
    return steps.rehydrate(workspace, champion)


@task(name="gather-labelled-production-rows", cache_policy=NO_CACHE)
def gather(workspace: Workspace, spec: ModelSpec, champion_data):
    return steps.production_rows(workspace, spec, champion_data)


@task(name="hold-out-recent-window", cache_policy=NO_CACHE)
def hold_out(spec: ModelSpec, rows) -> steps.WindowSplit:
    return steps.split_window(rows, spec)


@task(name="snapshot-refreshed-data", cache_policy=NO_CACHE, **STORE_RETRIES)
def snapshot(workspace: Workspace, spec: ModelSpec, champion_data, split: steps.WindowSplit):
    from zenops.services.train.steps import load_training_frame

    frame = steps.refreshed_training_set(champion_data, split, spec)
    version = steps.write_training_set(workspace, spec, frame)
    return version, load_training_frame(workspace, spec)  # train on the bytes DVC now holds


@task(name="retrain", cache_policy=NO_CACHE)
def retrain(spec: ModelSpec, frame):
    from zenops.services.train.steps import fit_model

    return fit_model(spec, frame)


@task(name="register-challenger", cache_policy=NO_CACHE)
def register(workspace: Workspace, spec: ModelSpec, version, result, frame, champion, ticket: int):
    return steps.register_challenger(workspace, spec, version, result, frame, champion, ticket)


@task(name="compare-champion-challenger", cache_policy=NO_CACHE)
def compare(workspace: Workspace, spec: ModelSpec, champion, challenger_model, split, challenger_run: str):
    comparison = steps.compare(workspace, spec, champion, challenger_model, split)
    steps.log_comparison(workspace, challenger_run, comparison)
    return comparison


@task(name="move-aliases", cache_policy=NO_CACHE)
def move_aliases(workspace: Workspace, model: str, challenger: str, expected_champion: str):
    txn = get_transaction()
    if txn is not None:
        txn.set("workspace", str(workspace.root))
        txn.set("model", model)
        txn.set("aliases_before", steps.aliases_now(workspace, model))
    return steps.move_aliases(workspace, model, challenger, expected_champion)


@move_aliases.on_rollback
def _put_aliases_back(txn: Transaction) -> None:
    steps.restore_aliases(Workspace(txn.get("workspace")), txn.get("model"), txn.get("aliases_before"))


@task(name="write-audit", cache_policy=NO_CACHE)
def write_audit(workspace: Workspace, move, ticket: int, comparison, flow_run: str | None):
    record = steps.write_promotion_audit(workspace, move, ticket, comparison, flow_run)
    txn = get_transaction()
    if txn is not None:
        txn.set("workspace", str(workspace.root))
        txn.set("model", move.model)
        txn.set("audit", record.to_dict())
    return record


@write_audit.on_rollback
def _mark_audit_rolled_back(txn: Transaction) -> None:
    steps.undo_promotion_audit(Workspace(txn.get("workspace")), txn.get("model"), txn.get("audit"))


@task(name="close-refresh-ticket", cache_policy=NO_CACHE)
def close_promoted(workspace: Workspace, ticket: int, move, comparison, audit) -> str:
    return steps.close_promoted(workspace, ticket, move, comparison, audit)


@task(name="write-dossier", cache_policy=NO_CACHE)
def write_dossier(workspace, spec, champion, logged, version, trained_spec, comparison, ticket, tried):
    path, markdown = steps.write_dossier(
        workspace, spec, champion, logged, version, trained_spec, comparison, ticket, tried
    )
    create_markdown_artifact(
        key=steps.artifact_key("dossier", spec.name),
        markdown=markdown,
        description=f"Rebuild dossier of {spec.name}",
    )
    return path, markdown


@task(name="open-rebuild-ticket", cache_policy=NO_CACHE, **STORE_RETRIES)
def open_rebuild(workspace, spec, ticket, logged, comparison, dossier, markdown) -> int:
    return steps.open_rebuild_ticket(workspace, spec, ticket, logged, comparison, dossier, markdown)


@task(name="close-refresh-ticket", cache_policy=NO_CACHE)
def close_handed_back(workspace, ticket, rebuild, comparison, dossier, challenger) -> str:
    return steps.close_handed_back(workspace, ticket, rebuild, comparison, dossier, challenger)


@task(name="record-failure", cache_policy=NO_CACHE)
def record_failure(workspace: Workspace, ticket: int, error: BaseException) -> None:
    steps.note_failure(workspace, ticket, error)


# -- the flows ------------------------------------------------------------------------------


@flow(
    name="refresh-model",
    flow_run_name="refresh {model}",
    on_failure=[notify_flow_failure],
    on_crashed=[notify_flow_failure],
)
def refresh_model(
    model: str,
    workspace: str,
    ticket: int | None = None,
    wait_seconds: float | None = None,
    on_event: bool = False,
) -> dict[str, Any]:
    """Refresh ``model``: re-hydrate, retrain, compare, then promote or hand back.

    Returns ``model``, ``champion_version`` (the champion compared against),
    ``challenger_version``, ``comparison``, ``decision`` (``promoted``,
    ``handed_back`` or ``superseded``), ``ticket``, and ``serving_version``,
    ``rebuild_ticket``, ``dossier``, ``data_rev``, ``data_md5``, ``notes``,
    ``flow_run``, ``waits`` (seconds spent acquiring each concurrency limit),
    ``training_rows``, ``production_rows``. ``wait_seconds`` bounds the wait for
    another refresh of the model (default: wait as long as it takes).

    ``on_event``: the run was started by a ``zenops.model.degraded`` event (the
    refresh deployment's trigger). Such a run does nothing, and returns
    ``superseded`` with a note, when its ticket was closed meanwhile (another
    refresh dealt with the incident) or when an earlier refresh of the model was
    handed back and its rebuild is still open (the data scientists have it).
    """
    from prefect.runtime import flow_run

    ws = Workspace(workspace)
    spec = ws.config.model(model)
    ensure_limits(refresh_limits(ws.config, model))
    started = read_champion(ws, spec)
    waits: dict[str, float] = {}
    with holding(refresh_limit(model), f"refresh {model}", wait_seconds, waited=waits):
        now = steps.current_champion(ws, model)
        reason = None
        if now != started.version:
            reason = f"the champion moved from version {started.version} to {now} while this refresh waited"
        elif on_event:
            reason = steps.event_refresh_not_needed(ws, spec, ticket)
        if reason:
            return steps.outcome_dict(
                model=model,
                decision=steps.SUPERSEDED,
                champion_version=started.version,
                challenger_version=None,
                comparison=None,
                ticket=ticket,
                serving_version=now,
                notes=[reason],
                flow_run=str(flow_run.id),
                waits=waits,
            )
        claimed = claim_ticket(ws, spec, ticket, started)
        try:
            result = _refresh(ws, spec, started, claimed, str(flow_run.id), waits)
        except Exception as error:
            record_failure(ws, claimed, error)
            raise
    create_markdown_artifact(
        key=steps.artifact_key("refresh", model),
        markdown=steps.refresh_markdown(result),
        description=f"Refresh of {model}: {result['decision']}",
    )
    return result


def _refresh(
    ws: Workspace, spec: ModelSpec, started, ticket: int, flow_run: str, waits: dict[str, float]
) -> dict[str, Any]:
    data = rehydrate(ws, started)
    rows, notes = gather(ws, spec, data)
    split = hold_out(spec, rows)
    version, frame = snapshot(ws, spec, data, split)
    trained_spec, note = steps.refresh_spec(spec, started)
    notes = [*notes, *([note] if note else [])]
    with holding(TRAINING_LIMIT, f"retrain {spec.name}", waited=waits):
        result = retrain(trained_spec, frame)
    logged = register(ws, trained_spec, version, result, frame, started, ticket)
    comparison = compare(ws, spec, started, result.model, split, logged.run_id)
    common = {
        "data_rev": version.rev,
        "data_md5": version.md5,
        "training_rows": len(frame),
        "production_rows": len(rows),
        "notes": notes,
        "flow_run": flow_run,
        "waits": waits,
    }
    if comparison.promote:
        _promote(ws, spec, started, logged, comparison, ticket, flow_run)
        return steps.outcome_dict(
            model=spec.name,
            decision=steps.PROMOTED,
            champion_version=started.version,
            challenger_version=logged.version,
            comparison=comparison,
            ticket=ticket,
            serving_version=logged.version,
            rebuild_ticket=None,
            dossier=None,
            **common,
        )
    tried = steps.what_was_tried(spec, trained_spec, started, split, len(frame), len(rows), notes)
    dossier, markdown = write_dossier(
        ws, spec, started, logged, version, trained_spec, comparison, ticket, tried
    )
    rebuild = open_rebuild(ws, spec, ticket, logged, comparison, dossier, markdown)
    close_handed_back(ws, ticket, rebuild, comparison, dossier, logged.version)
    handed_back = steps.outcome_dict(
        model=spec.name,
        decision=steps.HANDED_BACK,
        champion_version=started.version,
        challenger_version=logged.version,
        comparison=comparison,
        ticket=ticket,
        serving_version=started.version,
        rebuild_ticket=rebuild,
        dossier=str(dossier),
        **common,
    )
    notify_handback(ws, spec, handed_back, flow_run)
    return handed_back


def _promote(ws: Workspace, spec: ModelSpec, started, logged, comparison, ticket: int, flow_run: str) -> None:
    """Move the aliases, audit and close the ticket as one transaction."""
    before = steps.aliases_now(ws, spec.name)
    try:
        with transaction():
            move = move_aliases(ws, spec.name, logged.version, started.version)
            audit = write_audit(ws, move, ticket, comparison, flow_run)
            close_promoted(ws, ticket, move, comparison, audit)
    except Exception:
        steps.ensure_aliases(ws, spec.name, before)  # the rollback hooks' work, checked
        raise


def rollback_model(model: str, workspace: str, wait_seconds: float | None = None) -> dict[str, Any]:
    """Restore ``previous-champion`` as champion (the replaced champion becomes previous).

    Holds the model's refresh limit, so it never interleaves with a refresh. No
    previous champion is a :class:`~zenops.kernel.errors.NotFoundError`.
    """
    ws = Workspace(workspace)
    ws.config.model(model)
    ensure_limits(refresh_limits(ws.config, model))
    with holding(refresh_limit(model), f"rollback {model}", wait_seconds):
        return steps.rollback(ws, model)


@task(name="restore-previous-champion", cache_policy=NO_CACHE)
def restore_previous(model: str, workspace: str) -> dict[str, Any]:
    return rollback_model(model, workspace)


@flow(
    name="rollback-model",
    flow_run_name="rollback {model}",
    on_failure=[notify_flow_failure],
    on_crashed=[notify_flow_failure],
)
def rollback_flow(model: str, workspace: str) -> dict[str, Any]:
    """The rollback as a flow run: one task, and a markdown artifact of the move."""
    result = restore_previous(model, workspace)
    create_markdown_artifact(
        key=steps.artifact_key("rollback", model),
        markdown=steps.rollback_markdown(result),
        description=f"Rollback of {model}",
    )
    return result
