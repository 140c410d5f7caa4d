"""The plan, tickets and sponsors services on a workspace of fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from demand.tickets import TicketDraft
from tests.fakes.workspace import FakeWorkspace
from zenops.kernel import clock
from zenops.kernel.config import parse_config
from zenops.kernel.errors import UsageError
from zenops.services.plan import make_plan, publish
from zenops.services.sponsors import sponsors_report
from zenops.services.tickets import open_ticket, ticket_details
from zenops.workspace import example_config

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def ws(tmp_path: Path) -> FakeWorkspace:
    data = yaml.safe_load(example_config())
    data["planning"] = {
        "time_limit_s": 0.3,
        "bound_time_s": 0.3,
        "phases": {
            "serving_project": [
                {"name": "provision", "lead_time": "10d"},
                {"name": "build", "share": 0.6, "role": "data_scientist", "skills": ["tabular"]},
                {"name": "search", "share": 0.15, "role": "data_scientist", "gpus": 2},
                {"name": "deploy", "share": 0.25, "role": "mlops_engineer", "skills": ["serving"]},
            ]
        },
    }
    return FakeWorkspace(tmp_path, parse_config(data))


def project(**fields) -> TicketDraft:
    return TicketDraft(kind="new_project", title="Churn", sla="silver", sponsor="retail", **fields)


def test_a_ticket_no_plan_could_take_is_refused_and_nothing_is_stored(ws: FakeWorkspace) -> None:
    with clock.pinned(NOW):
        for draft, line in (
            (project(gpus=5), "gpus: needs 5 GPUs, the pool has 2"),
            (
                project(
                    phases=[{"name": "deploy", "effort": 2, "role": "mlops_engineer", "skills": ["nlp"]}]
                ),
                "phases: phase deploy: needs a mlops_engineer with skill 'nlp'; none is on the team",
            ),
            (
                project(
                    phases=[
                        {
                            "name": "build",
                            "effort": 2,
                            "role": "data_scientist",
                            "level": "senior",
                            "skills": ["forecasting", "nlp", "tabular", "batch"],
                        }
                    ]
                ),
                "phases: phase build: no one has all of the skills",
            ),
            (project(after=[3]), "after: ticket 3: no such ticket"),
        ):
            with pytest.raises(UsageError) as raised:
                open_ticket(ws, draft, actor="test")
            assert str(raised.value).startswith(line), str(raised.value)
        assert ws.ticket_store().list() == []


def test_a_stored_ticket_that_became_unplannable_is_shown_with_the_reason(ws: FakeWorkspace) -> None:
    with clock.pinned(NOW):
        first, _ = open_ticket(ws, TicketDraft(kind="refresh", title="r", model="loan-default"), actor="test")
        waiting, _ = open_ticket(
            ws, project(phases_from="serving_project", effort=10, after=[first.id]), actor="test"
        )
        details = ticket_details(ws, waiting.id)
        assert details["plannable"] and details["unplannable_reason"] is None
        assert [p["name"] for p in details["phases"]] == ["provision", "build", "search", "deploy"]
        ws.ticket_store().close(first.id, outcome="not needed", status="cancelled")
        details = ticket_details(ws, waiting.id)
        assert not details["plannable"]
        assert details["unplannable_reason"] == f"waits for ticket #{first.id}, which was cancelled"
        result = make_plan(ws)
        assert [(u.ticket, u.reason) for u in result.unplannable] == [
            (waiting.id, details["unplannable_reason"])
        ]


def test_a_published_plan_is_kept_by_the_next_one(ws: FakeWorkspace) -> None:
    with clock.pinned(NOW):
        for i in range(4):
            open_ticket(ws, TicketDraft(kind="refresh", title=f"r{i}", sla="silver", effort=2), actor="test")
        open_ticket(ws, project(phases_from="serving_project", effort=10), actor="test")
        first = make_plan(ws)
        assert first.objective.anchored == 0
        publish(ws, first)
    with clock.pinned(NOW + timedelta(hours=2)):
        again = make_plan(ws)
    assert again.objective.anchored == len(first.planned()) and again.objective.moved == 0
    crisis = make_plan(ws, crisis=True)  # a crisis plan keeps the last crisis plan, of which there is none
    assert crisis.objective.anchored == 0


def test_the_sponsors_report_has_each_sponsor_and_refuses_an_unknown_one(ws: FakeWorkspace) -> None:
    with clock.pinned(NOW - timedelta(days=20)):
        old, _ = open_ticket(ws, TicketDraft(kind="refresh", title="old", model="loan-default"), actor="test")
        ws.ticket_store().transition(old.id, "in_progress")
    with clock.pinned(NOW - timedelta(days=15)):
        ws.ticket_store().close(old.id, outcome="promoted")
    with clock.pinned(NOW):
        open_ticket(ws, project(phases_from="serving_project", effort=10), actor="test")
        report = sponsors_report(ws)
        assert [s["sponsor"] for s in report["sponsors"]] == ["retail", "retail-credit"]
        credit = report["sponsors"][1]
        assert credit["record"]["done"] == 1 and credit["record"]["sla_missed"] == 1
        assert credit["delivered"][0]["days_late"] == pytest.approx(3.0)
        only = sponsors_report(ws, sponsor="retail")
        assert [s["sponsor"] for s in only["sponsors"]] == ["retail"] and only["sponsors"][0]["planned"]
        with pytest.raises(
            UsageError,
            match="^sponsor: no tickets for sponsor 'nobody' \\(sponsors: retail, retail-credit\\)$",
        ):
            sponsors_report(ws, sponsor="nobody")
