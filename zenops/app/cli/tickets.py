"""The ``tickets`` commands: the demand queue's tickets, listed, shown, opened, approved and closed.

They need the ticket store only: no model tracking, no Prefect.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from demand.phases import parse_spec
from demand.tickets import TicketDraft
from zenops.app.cli.output import JsonOption, emit, out
from zenops.app.cli.root import checked
from zenops.kernel.errors import UsageError
from zenops.workspace import Workspace

__all__ = ["tickets_approve", "tickets_close", "tickets_list", "tickets_new", "tickets_show"]

TicketArgument = Annotated[int, typer.Argument(help="Ticket id.")]
ACTOR = "zenops cli"


def _store_workspace() -> Workspace:
    return checked(uses_models=False, tracking=False)


def _ticket_table(rows: list[dict[str, Any]], title: str = "tickets") -> Table:
    table = Table(title=title)
    for column in ("id", "kind", "model", "status", "due", "priority", "title"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["kind"],
            row["model"] or "—",
            row["status"],
            row["due"][:16].replace("T", " "),
            f"{row['priority']:.2f}",
            row["title"],
        )
    return table


def tickets_list(
    status: Annotated[
        str | None, typer.Option(help="Only this status ('active': not done or cancelled).")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    model: Annotated[str | None, typer.Option(help="Only this model's tickets.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The demand queue, by priority."""
    from zenops.services.plan import done_assets, ticket_row  # loads the planner (OR-Tools, pandas)

    ws = _store_workspace()
    store = ws.ticket_store()
    everything = store.list()
    assets = done_assets(everything)
    chosen = store.list(status=status, kind=kind, model=model)
    rows = sorted((ticket_row(t, ws, assets) for t in chosen), key=lambda r: (-r["priority"], r["id"]))
    emit({"tickets": rows}, as_json, lambda data: out.print(_ticket_table(data["tickets"])))


def tickets_show(ticket: TicketArgument, as_json: JsonOption = False) -> None:
    """One ticket: fields, phases, evidence, score breakdown, history; can the plan take it."""
    from zenops.services.tickets import ticket_details  # loads the planner (OR-Tools, pandas)

    emit(ticket_details(_store_workspace(), ticket), as_json, _render_ticket)


def _render_ticket(d: dict[str, Any]) -> None:
    out.print(f"[bold]#{d['id']} {d['title']}[/]  ({d['kind']}, {d['status']}, due {d['due'][:16]})")
    for key in ("model", "sponsor", "value", "effort", "risk", "skills", "gpus", "ethics_required"):
        out.print(f"  {key}: {d[key]}")
    for phase in d["phases"]:
        if phase["lead_time"]:
            out.print(f"  phase {phase['name']}: lead time {phase['lead_time']:g}d (occupies no one)")
        else:
            who = " ".join(x for x in (phase["level"], phase["role"] or "anyone fit for the kind") if x)
            skills = f" with {', '.join(phase['skills'])}" if phase["skills"] else ""
            gpus = f", {phase['gpus']} GPUs" if phase["gpus"] else ""
            out.print(f"  phase {phase['name']}: {phase['effort']:g} person-days, {who}{skills}{gpus}")
    if d["after"]:
        out.print(f"  after: {', '.join(f'#{i}' for i in d['after'])}")
    if d["unplannable_reason"]:
        out.print(f"  [yellow]the plan cannot take it[/]: {d['unplannable_reason']}")
    out.print(f"  priority: {d['explain']}")
    for item in d["evidence"]:
        out.print(f"  evidence: {json.dumps(item, default=str)[:300]}")
    for event in d["history"]:
        out.print(f"  {event.get('at', '')[:19]} {event.get('action')} {event.get('actor') or ''}")


def _due(due: str | None) -> date | None:
    try:
        return date.fromisoformat(due) if due else None
    except ValueError:
        raise UsageError(f"--due: '{due}' is not a date (YYYY-MM-DD)") from None


def tickets_new(
    kind: Annotated[
        str, typer.Option(help="refresh, rebuild, data_quality, new_project, tooling_rnd, ethics_review.")
    ],
    title: Annotated[str, typer.Option(help="What the work is.")],
    model: Annotated[str | None, typer.Option(help="The model it concerns.")] = None,
    sla: Annotated[str | None, typer.Option(help="SLA tier (default: the model's).")] = None,
    due: Annotated[str | None, typer.Option(help="Explicit due date (YYYY-MM-DD).")] = None,
    value: Annotated[int | None, typer.Option(help="Business value 1–10.")] = None,
    sponsor: Annotated[str | None, typer.Option(help="Who asks for it.")] = None,
    effort: Annotated[float | None, typer.Option(help="Person-days.")] = None,
    risk: Annotated[int | None, typer.Option(help="Complexity/risk 1–5.")] = None,
    skill: Annotated[list[str] | None, typer.Option(help="A required skill (repeatable).")] = None,
    gpus: Annotated[int, typer.Option(help="GPUs the work holds.")] = 0,
    uses: Annotated[list[str] | None, typer.Option(help="A data asset it uses (repeatable).")] = None,
    produces: Annotated[list[str] | None, typer.Option(help="A data asset it produces (repeatable).")] = None,
    ethics: Annotated[
        bool, typer.Option("--ethics", help="Needs an ethics approval before it starts.")
    ] = False,
    subject: Annotated[int | None, typer.Option(help="For an ethics review: the ticket it reviews.")] = None,
    savings: Annotated[float, typer.Option(help="For tooling R&D: person-days it saves later.")] = 0.0,
    phase: Annotated[
        list[str] | None,
        typer.Option(
            help="A phase, in order (repeatable): 'NAME effort=D role=R skills=a,b level=L gpus=N', "
            "or 'NAME lead_time=10d'; with a template, changes its phase NAME."
        ),
    ] = None,
    phases_from: Annotated[
        str | None,
        typer.Option(
            help="Phases from this planning.phases template (default: the kind's, if any; 'none': no phases)."
        ),
    ] = None,
    after: Annotated[
        list[int] | None, typer.Option(help="A ticket that must end first (repeatable).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Open a ticket (one per incident: a repeat adds evidence)."""
    from zenops.services.tickets import open_ticket  # loads the planner (OR-Tools, pandas)

    ws = _store_workspace()
    draft = TicketDraft(
        kind=kind,
        title=title,
        model=model,
        sla=sla,
        due=_due(due),
        value=value,
        sponsor=sponsor,
        effort=effort,
        risk=risk,
        skills=skill or (),
        gpus=gpus,
        data_assets=uses or (),
        produces=produces or (),
        ethics_required=ethics,
        subject=subject,
        savings=savings,
        phases=[parse_spec(text) for text in phase or ()],
        phases_from=phases_from,
        after=after or (),
    )
    stored, created = open_ticket(ws, draft, actor=ACTOR)
    data = {"ticket": stored.to_dict(), "created": created}
    said = "opened" if created else "updated"
    emit(data, as_json, lambda d: out.print(f"ticket #{d['ticket']['id']} {said}"))


def tickets_approve(
    ticket: TicketArgument,
    by: Annotated[str, typer.Option(help="Who grants the ethics approval.")],
    as_json: JsonOption = False,
) -> None:
    """Grant a ticket's ethics approval, so its work may start."""
    approved = _store_workspace().ticket_store().approve(ticket, by=by)
    emit({"ticket": approved.to_dict()}, as_json, lambda d: out.print(f"ticket #{ticket} approved by {by}"))


def tickets_close(
    ticket: TicketArgument,
    outcome: Annotated[str, typer.Option(help="What came of it.")] = "done",
    cancel: Annotated[bool, typer.Option("--cancel", help="Cancel instead of completing.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Close a ticket as done (or cancelled)."""
    store = _store_workspace().ticket_store()
    current = store.get(ticket)
    if not cancel and current.status in ("open", "scheduled", "blocked"):
        store.transition(ticket, "in_progress", note="closed from the command line", actor=ACTOR)
    closed = store.close(ticket, outcome=outcome, status="cancelled" if cancel else "done", actor=ACTOR)
    data = {"ticket": closed.to_dict()}
    emit(data, as_json, lambda d: out.print(f"ticket #{ticket} {d['ticket']['status']}"))
