"""The refresh flow (re-hydrate, retrain, compare, promote or hand back) and rollback.

The refresh service's steps (:mod:`zenops.services.refresh.steps`), each a Prefect
task; the service (:func:`zenops.services.refresh.run.refresh`) calls them in order.
Retries only on the steps that read or write a store and may meet a passing fault
(never on lineage or data errors, which would fail again).

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
back to where they were (and the audit run is marked rolled back); the service
then checks both. A promotion gives ``previous-champion`` the old champion,
``champion`` the challenger, and removes the ``challenger`` alias. A hand-back
moves no alias but ``challenger``, which stays on the version just trained
(``models:/NAME@challenger``, for the data scientists) until the next refresh moves it.

The refresh ticket (:mod:`zenops.services.refresh.tickets`): the one given, else the
model's oldest active refresh ticket, else a new one. It moves to ``in_progress`` when
the work starts and closes as ``done`` with the outcome; a failed refresh blocks it
with the error. A superseded refresh leaves it alone.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.transactions import Transaction, get_transaction, transaction

from flows.concurrency import TRAINING_LIMIT, ensure_limits, holding, refresh_limit, refresh_limits
from flows.ledger import ledger_lines, publish_ledger
from flows.retries import STORE_RETRIES
from registry.promotion import PROMOTED, AliasMove, AuditRecord, restore_aliases
from zenops.bootstrap import notify_flow_failure, notify_handback
from zenops.services.refresh import run, steps
from zenops.services.refresh.context import RefreshPorts, Runner
from zenops.services.refresh.markdown import artifact_key, refresh_markdown, rollback_markdown
from zenops.services.refresh.outcome import ACTOR, HANDED_BACK, SUPERSEDED
from zenops.services.refresh.promote import aliases_now, undo_promotion_audit
from zenops.services.refresh.rollback import rollback
from zenops.workspace import Workspace

__all__ = ["TRAINING_LIMIT", "ensure_limits", "holding", "refresh_limit", "refresh_model", "rollback_flow"]


def _task(step: Any, name: str, **options: Any) -> Any:
    return task(name=name, cache_policy=NO_CACHE, **options)(step)


# -- the steps that need Prefect beside the service: rollback hooks, an artifact --------


@task(name="move-aliases", cache_policy=NO_CACHE)
def move_aliases(
    ports: RefreshPorts, model: str, challenger: str, expected_champion: str, action: str = PROMOTED
) -> AliasMove:
    txn = get_transaction()
    if txn is not None:
        txn.set("workspace", str(ports.workspace.root))
        txn.set("model", model)
        txn.set("aliases_before", aliases_now(ports.registry, model))
    return steps.move_aliases(ports, model, challenger, expected_champion, action)


@move_aliases.on_rollback
def _put_aliases_back(txn: Transaction) -> None:
    restore_aliases(Workspace(txn.get("workspace")).registry(), txn.get("model"), txn.get("aliases_before"))


@task(name="write-audit", cache_policy=NO_CACHE)
def write_audit(
    ports: RefreshPorts,
    move: AliasMove,
    ticket: int | None,
    comparison,
    flow_run: str | None,
    actor: str = ACTOR,
    why: str = "refresh",
):
    record = steps.write_promotion_audit(ports, move, ticket, comparison, flow_run, actor, why)
    txn = get_transaction()
    if txn is not None:
        txn.set("workspace", str(ports.workspace.root))
        txn.set("model", move.model)
        txn.set("audit", record.to_dict())
    return record


@write_audit.on_rollback
def _mark_audit_rolled_back(txn: Transaction) -> None:
    registry = Workspace(txn.get("workspace")).registry()
    undo_promotion_audit(registry, txn.get("model"), AuditRecord(**txn.get("audit")))


@task(name="write-dossier", cache_policy=NO_CACHE)
def write_dossier(
    ports: RefreshPorts, spec, champion, logged, version, trained_spec, comparison, ticket, tried
):
    path, markdown = steps.write_dossier(
        ports, spec, champion, logged, version, trained_spec, comparison, ticket, tried
    )
    create_markdown_artifact(
        key=artifact_key("dossier", spec.name),
        markdown=markdown,
        description=f"Rebuild dossier of {spec.name}",
    )
    return path, markdown


#: The refresh's steps as tasks, by the names the service calls them.
TASKS = SimpleNamespace(
    read_champion=_task(steps.read_champion, "read-champion", **STORE_RETRIES),
    claim_ticket=_task(steps.claim_ticket, "claim-ticket", **STORE_RETRIES),
    rehydrate=_task(steps.rehydrate, "rehydrate-champion-data"),
    production_rows=_task(steps.production_rows, "gather-labelled-production-rows"),
    hold_out=_task(steps.hold_out, "hold-out-recent-window"),
    snapshot_refreshed_data=_task(steps.snapshot_refreshed_data, "snapshot-refreshed-data", **STORE_RETRIES),
    retrain=_task(steps.retrain, "retrain"),
    register_challenger=_task(steps.register_challenger, "register-challenger"),
    compare_and_record=_task(steps.compare_and_record, "compare-champion-challenger"),
    move_aliases=move_aliases,
    write_promotion_audit=write_audit,
    close_promoted=_task(steps.close_promoted, "close-ticket-as-promoted"),
    write_dossier=write_dossier,
    open_rebuild_ticket=_task(steps.open_rebuild_ticket, "open-rebuild-ticket", **STORE_RETRIES),
    close_handed_back=_task(steps.close_handed_back, "close-ticket-as-handed-back"),
    note_failure=_task(steps.note_failure, "record-failure"),
    request_approval=_task(steps.request_approval, "request-approval", **STORE_RETRIES),
    profile_champion=_task(steps.profile_champion, "profile-champion"),
)


def refresh_ports(workspace: Workspace) -> RefreshPorts:
    """The refresh's ports, bound to the workspace's adapters (built once per workspace)."""
    return RefreshPorts(
        workspace,
        workspace.registry(),
        workspace.data_store(),
        workspace.ticket_store(),
        workspace.estimator_factory(),
    )


def _runner(model: str, wait_seconds: float | None) -> Runner:
    """The tasks, the model's refresh limit, a training slot and a transaction for the promotion."""
    waits: dict[str, float] = {}
    return Runner(
        steps=TASKS,
        exclusive=lambda: holding(refresh_limit(model), f"refresh {model}", wait_seconds, waited=waits),
        training=lambda: holding(TRAINING_LIMIT, f"retrain {model}", waited=waits),
        promotion=transaction,
        waits=waits,
    )


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
    result = run.refresh(
        refresh_ports(ws),
        spec,
        ticket,
        on_event=on_event,
        flow_run=str(flow_run.id),
        run=_runner(model, wait_seconds),
    )
    if result["decision"] == HANDED_BACK:
        notify_handback(ws, spec, result, result["flow_run"])
    if result["decision"] != SUPERSEDED:
        if result["decision"] != HANDED_BACK:
            publish_ledger(ws, model)
        create_markdown_artifact(
            key=artifact_key("refresh", model),
            markdown=refresh_markdown(result) + "\n".join(ledger_lines(ws, model)) + "\n",
            description=f"Refresh of {model}: {result['decision']}",
        )
    return result


def rollback_model(model: str, workspace: str, wait_seconds: float | None = None) -> dict[str, Any]:
    """Restore ``previous-champion`` as champion (the replaced champion becomes previous).

    Holds the model's refresh limit, so it never interleaves with a refresh. No
    previous champion is a :class:`~zenops.kernel.errors.NotFoundError`.
    """
    ws = Workspace(workspace)
    ws.config.model(model)
    ensure_limits(refresh_limits(ws.config, model))
    with holding(refresh_limit(model), f"rollback {model}", wait_seconds):
        return rollback(refresh_ports(ws), model)


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
    ws = Workspace(workspace)
    publish_ledger(ws, model)
    create_markdown_artifact(
        key=artifact_key("rollback", model),
        markdown=rollback_markdown(result) + "\n".join(ledger_lines(ws, model)) + "\n",
        description=f"Rollback of {model}",
    )
    return result
