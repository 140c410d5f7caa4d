"""The commands of the loop's return path: ``candidate``, ``history``, ``approve`` and ``reject``.

``candidate`` brings a data scientist's rebuilt model back through the promotion gate
(flow ``evaluate-candidate``); ``history`` prints the promotion ledger; ``approve`` and
``reject`` finish a promotion that waits for a person (flows ``approve-promotion`` and
``reject-promotion``). Every check of the input runs before any flow starts and before
anything is stored, so bad input is one line and exit code 2 with nothing changed.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from zenops.app.cli.output import JsonOption, emit, out
from zenops.app.cli.root import checked
from zenops.kernel.errors import UsageError
from zenops.workspace import Workspace

__all__ = ["approve", "candidate", "history", "reject"]

ModelArgument = Annotated[str, typer.Argument(help="Model name from zenops.yaml.")]
VersionArgument = Annotated[int, typer.Argument(help="The registered version waiting for approval.", min=1)]
ByOption = Annotated[str, typer.Option("--by", help="Who decides: a name from the team in zenops.yaml.")]


def candidate(
    model: ModelArgument,
    run: Annotated[
        str | None,
        typer.Option(
            "--run", help="An MLflow run that logged the rebuilt model (registered as a new version)."
        ),
    ] = None,
    version: Annotated[
        int | None, typer.Option("--version", help="A registered version of the model to evaluate.", min=1)
    ] = None,
    ticket: Annotated[
        int | None, typer.Option("--ticket", help="The rebuild (or refresh) ticket it answers.")
    ] = None,
    wait: Annotated[
        float | None,
        typer.Option(
            "--wait", help="Seconds to wait for a refresh or evaluation of the model (default: no limit)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Evaluate a data scientist's rebuilt model through the promotion gate: promote, wait or reject."""
    if (run is None) == (version is None):
        raise UsageError("give --run RUN_ID or --version N (one of them)")
    ws = checked([model], champions="champion")
    from flows.candidate import evaluate_candidate
    from flows.refresh import refresh_ports
    from zenops.services.candidate.read import prepare

    spec = ws.config.model(model)
    found = prepare(
        refresh_ports(ws), spec, run=run, version=None if version is None else str(version), ticket=ticket
    )
    result = evaluate_candidate(
        model=model, version=found, workspace=str(ws.root), ticket=ticket, wait_seconds=wait
    )
    emit(result, as_json, _render_candidate)


def _render_candidate(data: dict[str, Any]) -> None:
    out.print(
        f"[bold]{data['model']}[/]: candidate v{data['candidate_version']} {data['decision']} — "
        f"champion v{data['champion_version']}, serving v{data['serving_version']}"
    )
    for reason in (data.get("comparison") or {}).get("reasons", []):
        out.print(f"  {reason}")
    for note in data.get("notes") or []:
        out.print(f"  {note}")
    if data.get("closed_tickets"):
        out.print(f"  closed: {', '.join(f'#{t}' for t in data['closed_tickets'])}")
    if data.get("approval_ticket"):
        out.print(
            f"  waits for approval: ticket #{data['approval_ticket']} "
            f"(zenops approve {data['model']} {data['candidate_version']} --by NAME)"
        )


def history(model: ModelArgument, as_json: JsonOption = False) -> None:
    """The promotion ledger: every change of champion, newest first."""
    ws = checked([model], training="skip", tickets=False)
    from zenops.services.history import history as ledger_of

    emit(ledger_of(ws.registry(), model), as_json, _render_history)


def _render_history(data: dict[str, Any]) -> None:
    from registry.ledger import LedgerEvent

    out.print(f"[bold]{data['model']}[/]: {len(data['events'])} events, newest first")
    for event in data["events"]:
        out.print(f"  {LedgerEvent(**event).summary()}", markup=False, highlight=False)


def _check_waiting(ws: Workspace, model: str, version: int, by: str, same_champion: bool) -> None:
    """The checks of approve and reject, read-only, before a flow starts."""
    from registry.approval import check_waiting, waiting_version
    from registry.versions import CHAMPION

    ws.config.member(by)
    registry = ws.registry()
    versions = registry.all_version_tags(model)
    champion = registry.aliases(model).get(CHAMPION)
    found = waiting_version(model, versions)
    check_waiting(model, str(version), found, versions, champion, same_champion=same_champion)


def approve(
    model: ModelArgument, version: VersionArgument, by: ByOption, as_json: JsonOption = False
) -> None:
    """Promote the version that waits for approval (a model with promotion.approval: required)."""
    ws = checked([model], champions="champion")
    _check_waiting(ws, model, version, by, same_champion=True)
    from flows.candidate import approve_promotion

    result = approve_promotion(model=model, version=str(version), by=by, workspace=str(ws.root))
    emit(result, as_json, _render_decision)


def reject(model: ModelArgument, version: VersionArgument, by: ByOption, as_json: JsonOption = False) -> None:
    """Turn down the version that waits for approval; the champion keeps serving."""
    ws = checked([model], champions="champion")
    _check_waiting(ws, model, version, by, same_champion=False)
    from flows.candidate import reject_promotion

    result = reject_promotion(model=model, version=str(version), by=by, workspace=str(ws.root))
    emit(result, as_json, _render_decision)


def _render_decision(data: dict[str, Any]) -> None:
    out.print(
        f"[bold]{data['model']}[/] version {data['version']} {data['decision']} by {data['by']}: "
        f"champion is version {data['champion_version']}"
    )
    if data.get("closed_tickets"):
        out.print(f"  closed: {', '.join(f'#{t}' for t in data['closed_tickets'])}")
