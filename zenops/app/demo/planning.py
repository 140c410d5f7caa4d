"""The demo's phased project: a forecast of its phases, its sponsor's view, the plan's chart.

The complaint-triage project waits for the shared feature store, then for its data
and GPU environment to be provisioned by another team (a lead time that occupies no
one); a data scientist builds the model, searches its hyper-parameters on the GPU pool,
and an MLOps engineer deploys it as a service. The demo shows when the data-science
work is expected to end and the deployment to start, what the sponsor sees, and the
plan drawn as a picture. The story imports this module when its planning step runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from demand.tickets import TicketDraft
from zenops.app.views import render_sponsors
from zenops.services.sponsors import sponsors_report

CHART_FILE = "plan.png"
"""The chart of the demo's plan, in the demo's workspace."""

PHASED_PROJECT = dict(
    kind="new_project",
    title="Complaint triage with language models",
    sponsor="customer-care",
    value=7,
    risk=4,
    data_assets=("complaints", "customer-360"),
    phases=(
        {"name": "provision", "lead_time": "15d"},
        {"name": "build", "effort": 12, "role": "data_scientist", "skills": ["nlp"]},
        {"name": "search", "effort": 4, "role": "data_scientist", "skills": ["nlp"], "gpus": 2},
        {"name": "deploy", "effort": 6, "role": "mlops_engineer", "skills": ["serving"], "level": "senior"},
    ),
)
"""A project in phases: a provisioning lead time, build, a GPU search, a deployment."""


def add_phased_project(store: Any, waits_for: int) -> int:
    """Open the phased project, waiting for ticket ``waits_for``; its id."""
    draft = TicketDraft(sla="silver", after=(waits_for,), **PHASED_PROJECT)  # type: ignore[arg-type]
    stored, _ = store.open_or_update(draft, actor="zenops demo")
    return stored.id


def chart_file(workspace: Any) -> Path:
    """Where the demo writes the chart of its plan."""
    return workspace.root / CHART_FILE


def show_phased_project(workspace: Any, plan: dict[str, Any], ticket: int, story: Any) -> None:
    """The project's forecast phase by phase, its hand-offs, its sponsor's view, the chart's path."""
    row = next((r for r in plan["plan"] if r["ticket"] == ticket), None)
    with story.step(f"Forecast of the phased project #{ticket} and its sponsor's view"):
        if row is None:
            reason = next(u["reason"] for u in plan["unplannable"] if u["ticket"] == ticket)
            story.say(f"#{ticket} is not in the plan: {reason}")
        else:
            for line in forecast_lines(row):
                story.say(line)
        view = sponsors_report(workspace, PHASED_PROJECT["sponsor"])  # type: ignore[arg-type]
    render_sponsors(view, story.console)
    story.say(f"the plan as a picture: {plan['chart']}")


def forecast_lines(row: dict[str, Any]) -> list[str]:
    """A planned ticket's phases (who, when, why then) and its hand-offs, as lines to print."""
    lines = [f"#{row['ticket']} {row['title']}: due {_day(row['due'])}, ends {_day(row['end'])}"]
    for phase in row.get("phases", ()):
        who = phase["assignee"] or "outside the team"
        late = " [red](late)[/]" if phase["late"] else ""
        gpus = f", {phase['gpus']} GPUs" if phase["gpus"] else ""
        lines.append(
            f"  {phase['name']:<10} {_day(phase['start'])} → {_day(phase['end'])}  {who}{gpus}{late}: "
            f"{phase['reason']}"
        )
    for handoff in row.get("handoffs", ()):
        risk = "[bold red]at risk[/]" if handoff["at_risk"] else "[green]on track[/]"
        lines.append(
            f"  hand-off {handoff['from']} ({handoff['from_person']}) → {handoff['to']} "
            f"({handoff['to_person']}): ready {_day(handoff['ready'])}, starts {_day(handoff['starts'])}, "
            f"{risk}"
        )
    return lines


def _day(moment: str) -> str:
    return moment[:16].replace("T", " ")
