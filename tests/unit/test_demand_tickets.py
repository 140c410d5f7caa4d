"""Tickets: drafts, validation, SLA due times and the status machine."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from demand import sla
from demand.ticket_changes import add_evidence, approve, close, move
from demand.tickets import MOVES, STATUSES, TicketDraft, incident_key, new_ticket
from zenops.kernel.config import DEFAULT_SLA_TIERS, ModelSpec, TeamMember
from zenops.kernel.errors import NotFoundError, TransitionError, UsageError

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def model_spec(name: str = "loan-default", tier: str = "gold", value: int = 8) -> ModelSpec:
    return ModelSpec.model_validate(
        {
            "name": name,
            "task": "classification",
            "target": "defaulted",
            "id_column": "loan_id",
            "timestamp_column": "applied_at",
            "features": {"numerical": ["income"]},
            "training_data": "data/train.parquet",
            "batches": "data/batches",
            "labels": "data/labels",
            "trainer": {"estimator": "sklearn.linear_model.LogisticRegression"},
            "sla": tier,
            "value": value,
            "sponsor": "retail-credit",
        }
    )


def test_a_model_ticket_takes_its_models_tier_value_and_sponsor():
    ticket = new_ticket(TicketDraft(kind="refresh", model="loan-default"), now=NOW, models=[model_spec()])
    assert ticket.sla == "gold"
    assert ticket.due == NOW + timedelta(days=2)
    assert (ticket.value, ticket.sponsor) == (8, "retail-credit")
    assert ticket.status == "open" and ticket.id is None
    assert ticket.title == "refresh loan-default"


@pytest.mark.parametrize(
    ("kind", "days"), [("refresh", 7), ("rebuild", 30), ("data_quality", 3), ("new_project", 90)]
)
def test_due_time_follows_the_tier_by_kind(kind, days):
    ticket = new_ticket(TicketDraft(kind=kind, sla="silver"), now=NOW)
    assert ticket.due == NOW + timedelta(days=days)
    assert ticket.due == sla.due_at(kind, NOW, DEFAULT_SLA_TIERS["silver"])


def test_an_explicit_due_date_wins_and_is_utc():
    ticket = new_ticket(TicketDraft(kind="new_project", due=date(2025, 3, 1)), now=NOW)
    assert ticket.due == datetime(2025, 3, 1, tzinfo=UTC)
    assert ticket.sla is None


def test_defaults_by_kind():
    ticket = new_ticket(TicketDraft(kind="rebuild", sla="gold"), now=NOW)
    assert ticket.effort == 10.0 and ticket.risk == 4 and ticket.value == 5


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        (TicketDraft(kind="refresh", sla="gold", effort=-1), "effort"),
        (TicketDraft(kind="refresh", sla="gold", effort=0), "effort"),
        (TicketDraft(kind="refactor", sla="gold"), "kind"),
        (TicketDraft(kind="refresh", sla="gold", value=11), "value"),
        (TicketDraft(kind="refresh", sla="gold", value=0), "value"),
        (TicketDraft(kind="refresh", sla="gold", value=True), "value"),
        (TicketDraft(kind="refresh", sla="gold", risk=6), "risk"),
        (TicketDraft(kind="refresh", sla="gold", gpus=-1), "gpus"),
        (TicketDraft(kind="refresh", sla="platinum"), "sla"),
        (TicketDraft(kind="refresh"), "due"),
        (TicketDraft(kind="refresh", sla="gold", evidence={"when": NOW}), "evidence"),
        (TicketDraft(kind="refresh", sla="gold", subject=3), "subject"),
        (TicketDraft(kind="tooling_rnd", sla="gold", savings=-2), "savings"),
    ],
)
def test_invalid_fields_raise_one_line_naming_the_field(draft, field):
    with pytest.raises(UsageError) as caught:
        new_ticket(draft, now=NOW)
    message = str(caught.value)
    assert message.startswith(f"{field}:")
    assert "\n" not in message
    assert caught.value.exit_code == 2


def test_an_unknown_skill_is_refused_when_the_team_is_known():
    team = [TeamMember(name="ana", role="mlops_engineer", skills=["batch"])]
    with pytest.raises(UsageError, match=r"skills: unknown skill 'nlp' \(team skills: batch\)"):
        new_ticket(TicketDraft(kind="refresh", sla="gold", skills=["nlp"]), now=NOW, team=team)
    ticket = new_ticket(TicketDraft(kind="refresh", sla="gold", skills=["nlp"]), now=NOW)
    assert ticket.skills == ("nlp",)


def test_an_unknown_model_is_not_found_when_models_are_known():
    with pytest.raises(NotFoundError, match="model: no model named 'churn'"):
        new_ticket(TicketDraft(kind="refresh", model="churn"), now=NOW, models=[model_spec()])


def test_incident_key_names_one_incident():
    assert (
        incident_key("loan-default", "refresh", " Drift  detected ") == "loan-default/refresh/drift detected"
    )
    assert incident_key(None, "data_quality", "nulls") == "*/data_quality/nulls"
    ticket = new_ticket(TicketDraft(kind="refresh", model="m", sla="gold", incident="drift"), now=NOW)
    assert ticket.idempotency_key == "m/refresh/drift"
    with pytest.raises(UsageError, match="kind"):
        incident_key("m", "nope", "drift")


def test_the_status_machine_allows_the_documented_path():
    ticket = new_ticket(TicketDraft(kind="refresh", sla="gold"), now=NOW)
    for status in ("scheduled", "in_progress", "blocked", "in_progress", "done"):
        ticket, event = move(ticket, status, now=NOW, note="why")
        assert ticket.status == status and event.action == "moved" and event.detail["to"] == status
    assert not ticket.is_open


@pytest.mark.parametrize("start", STATUSES)
@pytest.mark.parametrize("target", STATUSES)
def test_illegal_moves_raise_transition_errors(start, target):
    ticket = new_ticket(TicketDraft(kind="refresh", sla="gold"), now=NOW)
    ticket = type(ticket)(**{**ticket.__dict__, "status": start, "id": 12})
    if target in MOVES[start]:
        assert move(ticket, target, now=NOW)[0].status == target
    else:
        with pytest.raises(TransitionError, match=f"^ticket 12: cannot move from {start} to {target}$"):
            move(ticket, target, now=NOW)


def test_done_is_terminal():
    ticket = new_ticket(TicketDraft(kind="refresh", sla="gold"), now=NOW)
    ticket = type(ticket)(**{**ticket.__dict__, "status": "done", "id": 12})
    with pytest.raises(TransitionError, match="ticket 12: cannot move from done to in_progress"):
        move(ticket, "in_progress", now=NOW)


def test_close_records_the_outcome_and_refuses_other_statuses():
    ticket = new_ticket(TicketDraft(kind="refresh", sla="gold"), now=NOW)
    cancelled, event = close(ticket, outcome="duplicate", status="cancelled", now=NOW)
    assert (cancelled.status, cancelled.outcome, event.action) == ("cancelled", "duplicate", "closed")
    with pytest.raises(UsageError, match="status"):
        close(ticket, outcome="x", status="open", now=NOW)


def test_approval_opens_the_ethics_gate():
    ticket = new_ticket(TicketDraft(kind="new_project", sla="gold", ethics_required=True), now=NOW)
    assert ticket.awaits_approval
    approved, event = approve(ticket, by="ethics-board", now=NOW)
    assert (
        approved.ethics_approved and approved.approved_by == "ethics-board" and not approved.awaits_approval
    )
    assert event.actor == "ethics-board"
    with pytest.raises(UsageError, match="needs no ethics approval"):
        approve(new_ticket(TicketDraft(kind="refresh", sla="gold"), now=NOW), by="x", now=NOW)


def test_evidence_is_appended_and_must_be_json_ready():
    ticket = new_ticket(TicketDraft(kind="refresh", sla="gold", evidence={"drift_share": 0.4}), now=NOW)
    ticket, event = add_evidence(ticket, {"drift_share": 0.5}, now=NOW)
    assert ticket.evidence == ({"drift_share": 0.4}, {"drift_share": 0.5})
    assert event.detail == {"drift_share": 0.5}
    with pytest.raises(UsageError, match="evidence"):
        add_evidence(ticket, {"x": float("nan")}, now=NOW)


def test_a_batch_reported_again_replaces_its_evidence_instead_of_adding_a_second():
    def item(batch: str, version: str, run: str) -> dict:
        return {"batch": batch, "champion_version": version, "mlflow_run": run}

    ticket = new_ticket(TicketDraft(kind="refresh", sla="gold", evidence=item("b1.csv", "1", "r1")), now=NOW)
    ticket, _ = add_evidence(ticket, item("b2.csv", "1", "r2"), now=NOW)
    ticket, _ = add_evidence(ticket, item("b1.csv", "1", "r3"), now=NOW)
    assert [(e["batch"], e["mlflow_run"]) for e in ticket.evidence] == [("b2.csv", "r2"), ("b1.csv", "r3")]
    # the same batch under another champion is other evidence
    ticket, _ = add_evidence(ticket, item("b1.csv", "2", "r4"), now=NOW)
    assert len(ticket.evidence) == 3


def test_to_dict_is_json_ready():
    import json

    ticket = new_ticket(TicketDraft(kind="refresh", sla="gold", skills=["batch"]), now=NOW)
    data = json.loads(json.dumps(ticket.to_dict()))
    assert data["due"] == "2025-01-08T09:00:00+00:00" and data["skills"] == ["batch"]
