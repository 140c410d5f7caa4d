"""The planning flow publishes the plan to the Prefect API (table + Gantt artifacts)."""

from __future__ import annotations

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
