"""The demand over time: ``plan`` (who does what, when) and ``sla-watch`` (escalations).

Both run their Prefect flow, imported by the command that runs it.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from zenops.app.cli.output import JsonOption, emit, out
from zenops.app.cli.root import checked
from zenops.app.views import render_plan

__all__ = ["plan", "sla_watch_command"]


def plan(
    crisis: Annotated[
        bool, typer.Option("--crisis", help="Operational work only; say what is pushed back.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """A prioritised, capacity-aware plan of every open ticket."""
    ws = checked(uses_models=False, tracking=False)
    from flows.plan import run_plan

    emit(run_plan(ws, crisis=crisis), as_json, lambda data: render_plan(data, out))


def sla_watch_command(as_json: JsonOption = False) -> None:
    """Escalate tickets near or past their SLA due time, once per level."""
    ws = checked(uses_models=False, tracking=False)
    from flows.sla_watch import sla_watch

    emit(sla_watch(workspace=str(ws.root)), as_json, _render_escalations)


def _render_escalations(data: dict[str, Any]) -> None:
    out.print(f"SLA watch: {len(data['escalations'])} escalated of {data['watched']} active tickets")
    for item in data["escalations"]:
        out.print(
            f"  #{item['ticket']} {item['kind']} {item['model'] or ''}: {item['level']} "
            f"(due {item['due'][:16].replace('T', ' ')})"
        )
