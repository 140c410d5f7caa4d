"""The demand over time: ``plan`` (who does what, when) and ``sla-watch`` (escalations).

Both run their Prefect flow, imported by the command that runs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from zenops.app.cli.output import JsonOption, emit, out
from zenops.app.cli.root import checked
from zenops.app.views import render_plan, render_sponsors
from zenops.kernel.errors import UsageError

__all__ = ["plan", "report_sponsors", "sla_watch_command"]

CHART_SUFFIXES = (".png", ".svg")


def plan(
    crisis: Annotated[
        bool, typer.Option("--crisis", help="Operational work only; say what is pushed back.")
    ] = False,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="Also draw the plan as a picture: FILE.png or FILE.svg.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """A prioritised, capacity-aware plan of every open ticket."""
    if chart is not None:
        chart = chart_path(chart)
    ws = checked(uses_models=False, tracking=False)
    from flows.plan import run_plan

    result = run_plan(ws, crisis=crisis, chart_file=str(chart) if chart else None)

    def render(data: dict[str, Any]) -> None:
        render_plan(data, out)
        if data.get("chart"):
            out.print(f"  chart: {data['chart']}")

    emit(result, as_json, render)


def chart_path(path: Path) -> Path:
    """The chart's file, if its name says PNG or SVG and its folder exists."""
    if path.suffix.lower() not in CHART_SUFFIXES:
        raise UsageError(f"--chart: '{path}' must end in .png or .svg")
    folder = path.resolve().parent
    if not folder.is_dir():
        raise UsageError(f"--chart: folder '{folder}' does not exist")
    return path.resolve()


def report_sponsors(
    sponsor: Annotated[str | None, typer.Option("--sponsor", help="Only this sponsor.")] = None,
    days: Annotated[float, typer.Option("--days", help="The window of delivered work, in days.")] = 90.0,
    as_json: JsonOption = False,
) -> None:
    """Per sponsor: planned items, what comes before them and why; work delivered and SLAs kept."""
    if not days > 0:
        raise UsageError(f"--days: must be greater than 0, got {days:g}")
    ws = checked(uses_models=False, tracking=False)
    from zenops.services.sponsors import sponsors_report

    emit(sponsors_report(ws, sponsor, days), as_json, lambda data: render_sponsors(data, out))


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
