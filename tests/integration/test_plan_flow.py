"""The planning flow publishes the plan to the Prefect API (table, chart + Gantt, sponsors) and keeps it."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from demand.tickets import TicketDraft, new_ticket
from flows.plan import plan_demand
from zenops.workspace import Workspace


def artifacts(key: str, flow_run_id):
    """The artifacts under ``key`` that one flow run published (other tests publish under it too)."""
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return [a for a in found if a.flow_run_id == flow_run_id]


def test_the_plan_is_visible_in_prefect(prefect_api, workspace: Workspace) -> None:
    config = workspace.config
    store = workspace.ticket_store()
    now = datetime.now(UTC)
    for draft in (
        TicketDraft(kind="refresh", title="Refresh loans", model="loan-default"),
        TicketDraft(
            kind="new_project", title="Churn", sla="silver", effort=8, skills=("tabular",), sponsor="s1"
        ),
        TicketDraft(kind="tooling_rnd", title="Feature store", sla="silver", effort=5, savings=10),
    ):
        store.open_or_update(
            new_ticket(draft, now=now, sla_tiers=config.sla_tiers, models=config.models, team=config.team)
        )
    state = plan_demand(workspace=str(workspace.root), return_state=True)
    result = state.result()
    assert [a["ticket"] for a in result["plan"]][0] == 1
    run = state.state_details.flow_run_id
    (table,) = artifacts("plan", run)
    assert table.type == "table" and "Refresh loans" in str(table.data)
    (gantt,) = artifacts("plan-gantt", run)
    assert gantt.type == "markdown" and "gantt" in str(gantt.data) and "Churn" in str(gantt.data)
    picture = re.search(
        r"!\[the plan as a Gantt chart\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", gantt.data
    )
    assert picture and base64.b64decode(picture.group(1)).startswith(b"\x89PNG")
    (sponsors,) = artifacts("plan-sponsors", run)
    assert sponsors.type == "markdown" and "## s1" in sponsors.data
    kept = workspace.plan_log().last("normal")
    assert {p.ticket for p in kept} == {a["ticket"] for a in result["plan"]}


def test_the_flow_writes_the_chart_it_is_asked_for(prefect_api, workspace: Workspace, tmp_path) -> None:
    config = workspace.config
    draft = TicketDraft(
        kind="new_project",
        title="Complaint triage",
        sla="silver",
        sponsor="care",
        phases=[
            {"name": "provision", "lead_time": 7},
            {"name": "build", "effort": 5, "role": "data_scientist", "skills": ["nlp"]},
            {"name": "search", "effort": 1, "role": "data_scientist", "gpus": 2},
            {"name": "deploy", "effort": 2, "role": "mlops_engineer", "skills": ["serving"]},
        ],
    )
    now = datetime.now(UTC)
    workspace.ticket_store().open_or_update(
        new_ticket(draft, now=now, sla_tiers=config.sla_tiers, models=config.models, team=config.team)
    )
    result = plan_demand(workspace=str(workspace.root), chart_file=str(tmp_path / "plan.svg"))
    assert result["chart"] == str(tmp_path / "plan.svg")
    assert b"<svg" in (tmp_path / "plan.svg").read_bytes()[:500]
    (row,) = result["plan"]
    assert [p["name"] for p in row["phases"]] == ["provision", "build", "search", "deploy"]
    assert row["handoffs"][0]["from"] == "search" and row["handoffs"][0]["to"] == "deploy"
