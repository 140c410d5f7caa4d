"""Bringing a rebuilt model back: the candidate's evaluation, and the approval of a waiting promotion.

``evaluate-candidate`` is the candidate service's steps
(:mod:`zenops.services.candidate.steps`) as Prefect tasks; the comparison and the
promotion are the refresh flow's own tasks (the same gate, the same alias move with its
rollback hook and audit, in a Prefect transaction), and it holds the refresh flow's
limit ``zenops-refresh-<model>``, so an evaluation never interleaves with a refresh, a
rollback or another evaluation of the model: two evaluations of one candidate at once
promote it once (the second stands down). The deployment ``evaluate-candidate`` runs it
on the event ``zenops.candidate.registered`` (:mod:`flows.deployments`).

``approve-promotion`` and ``reject-promotion`` finish a promotion that waits for a
person (:mod:`zenops.services.refresh.approval`), under the same limit.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.transactions import transaction

from flows.concurrency import ensure_limits, holding, refresh_limit, refresh_limits
from flows.ledger import ledger_lines, publish_ledger
from flows.refresh import TASKS as REFRESH_TASKS
from flows.refresh import refresh_ports
from flows.retries import STORE_RETRIES
from zenops.bootstrap import notify_candidate, notify_flow_failure
from zenops.services.candidate import run, steps
from zenops.services.refresh import approval
from zenops.services.refresh.context import Runner
from zenops.services.refresh.markdown import approval_markdown, artifact_key, candidate_markdown
from zenops.workspace import Workspace

__all__ = ["approve_promotion", "evaluate_candidate", "reject_promotion"]


def _task(step: Any, name: str, **options: Any) -> Any:
    return task(name=name, cache_policy=NO_CACHE, **options)(step)


#: The evaluation's steps as tasks, by the names the service calls them (the refresh's where shared).
TASKS = SimpleNamespace(
    read_candidate=_task(steps.read_candidate, "read-candidate", **STORE_RETRIES),
    read_champion=REFRESH_TASKS.read_champion,
    answered_tickets=_task(steps.answered_tickets, "find-tickets-it-answers", **STORE_RETRIES),
    rehydrate_candidate=_task(steps.rehydrate_candidate, "rehydrate-candidate-data"),
    production_rows=REFRESH_TASKS.production_rows,
    candidate_window=_task(steps.candidate_window, "rows-newer-than-its-data"),
    load_candidate=_task(steps.load_candidate, "load-candidate", **STORE_RETRIES),
    compare_and_record=REFRESH_TASKS.compare_and_record,
    move_aliases=REFRESH_TASKS.move_aliases,
    write_promotion_audit=REFRESH_TASKS.write_promotion_audit,
    close_candidate_promoted=_task(steps.close_candidate_promoted, "close-tickets-as-promoted"),
    reject_candidate=_task(steps.reject_candidate, "record-rejection"),
    request_approval=REFRESH_TASKS.request_approval,
    profile_champion=REFRESH_TASKS.profile_champion,
)

#: The approval's steps as tasks.
APPROVAL_TASKS = SimpleNamespace(
    move_aliases=REFRESH_TASKS.move_aliases,
    write_promotion_audit=REFRESH_TASKS.write_promotion_audit,
    close_approved=_task(approval.close_approved, "close-approval-tickets"),
    profile_champion=REFRESH_TASKS.profile_champion,
)


def _runner(model: str, wait_seconds: float | None, tasks: Any, what: str) -> Runner:
    waits: dict[str, float] = {}
    return Runner(
        steps=tasks,
        exclusive=lambda: holding(refresh_limit(model), f"{what} {model}", wait_seconds, waited=waits),
        promotion=transaction,
        waits=waits,
    )


@flow(
    name="evaluate-candidate",
    flow_run_name="candidate {model} v{version}",
    on_failure=[notify_flow_failure],
    on_crashed=[notify_flow_failure],
)
def evaluate_candidate(
    model: str,
    version: str,
    workspace: str,
    ticket: int | None = None,
    wait_seconds: float | None = None,
    on_event: bool = False,
) -> dict[str, Any]:
    """Evaluate ``version`` of ``model`` as a candidate: the refresh's gate, then promote, wait or reject.

    Returns the evaluation's outcome (:func:`zenops.services.candidate.run.outcome`);
    a rejected candidate's owner is told why, with the comparison. ``on_event``: started
    by the ``zenops.candidate.registered`` event (a decided candidate is not evaluated again).
    """
    from prefect.runtime import flow_run

    ws = Workspace(workspace)
    spec = ws.config.model(model)
    ensure_limits(refresh_limits(ws.config, model))
    result = run.evaluate(
        refresh_ports(ws),
        spec,
        str(version),
        ticket,
        on_event=on_event,
        flow_run=str(flow_run.id),
        run=_runner(model, wait_seconds, TASKS, "evaluate candidate of"),
    )
    if result["decision"] in (run.REJECTED, run.AWAITING_APPROVAL):
        notify_candidate(ws, spec, result, result["flow_run"])
    if result["decision"] != run.SUPERSEDED:
        publish_ledger(ws, model)
        create_markdown_artifact(
            key=artifact_key("candidate", model),
            markdown=candidate_markdown(result) + "\n".join(ledger_lines(ws, model)) + "\n",
            description=f"Candidate {model} v{version}: {result['decision']}",
        )
    return result


@flow(
    name="approve-promotion",
    flow_run_name="approve {model} v{version} by {by}",
    on_failure=[notify_flow_failure],
    on_crashed=[notify_flow_failure],
)
def approve_promotion(
    model: str, version: str, by: str, workspace: str, wait_seconds: float | None = None
) -> dict[str, Any]:
    """Promote the version of ``model`` that waits for approval, on ``by``'s approval."""
    from prefect.runtime import flow_run

    ws = Workspace(workspace)
    spec = ws.config.model(model)
    ensure_limits(refresh_limits(ws.config, model))
    runner = _runner(model, wait_seconds, APPROVAL_TASKS, "approve")
    with runner.exclusive():
        result = approval.approve(
            refresh_ports(ws), spec, str(version), by, run=runner, flow_run=str(flow_run.id)
        )
    return _published(ws, model, result)


@flow(
    name="reject-promotion",
    flow_run_name="reject {model} v{version} by {by}",
    on_failure=[notify_flow_failure],
    on_crashed=[notify_flow_failure],
)
def reject_promotion(
    model: str, version: str, by: str, workspace: str, wait_seconds: float | None = None
) -> dict[str, Any]:
    """Turn down the version of ``model`` that waits for approval, on ``by``'s word."""
    from prefect.runtime import flow_run

    ws = Workspace(workspace)
    spec = ws.config.model(model)
    ensure_limits(refresh_limits(ws.config, model))
    with holding(refresh_limit(model), f"reject {model}", wait_seconds):
        result = approval.reject(refresh_ports(ws), spec, str(version), by, flow_run=str(flow_run.id))
    return _published(ws, model, result)


def _published(ws: Workspace, model: str, result: dict[str, Any]) -> dict[str, Any]:
    publish_ledger(ws, model)
    create_markdown_artifact(
        key=artifact_key("approval", model),
        markdown=approval_markdown(result) + "\n".join(ledger_lines(ws, model)) + "\n",
        description=f"{result['decision']} {model} v{result['version']} by {result['by']}",
    )
    return result
