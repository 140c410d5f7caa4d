"""SLA escalation: near and breached levels, once per level, remembered in the ticket's evidence."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from demand.escalation import (
    BREACHED,
    NEAR,
    due_escalations,
    escalation_evidence,
    level_at,
)
from demand.repository import InMemoryTicketRepository
from demand.tickets import Ticket, TicketDraft, new_ticket
from zenops.kernel.config import DEFAULT_SLA_TIERS

OPENED = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
KINDS = ("refresh", "rebuild", "data_quality")


def ticket(ident: int = 1, kind: str = "refresh", window: timedelta = timedelta(days=2), **fields) -> Ticket:
    return Ticket(
        id=ident,
        kind=kind,
        title=f"{kind} loan-default",
        due=OPENED + window,
        created=OPENED,
        updated=OPENED,
        model="loan-default",
        sponsor="retail-credit",
        **fields,
    )


@pytest.mark.parametrize(
    ("hours_after_opening", "level"),
    [(0, None), (35.9, None), (36.1, NEAR), (47.9, NEAR), (48.1, BREACHED), (500, BREACHED)],
)
def test_the_level_follows_the_share_of_the_window_left(hours_after_opening: float, level) -> None:
    now = OPENED + timedelta(hours=hours_after_opening)
    assert level_at(ticket(), now, near_share=0.25) == level


def test_a_closed_ticket_is_never_escalated() -> None:
    done = ticket(status="done")
    assert level_at(done, OPENED + timedelta(days=9), 0.25) is None
    assert due_escalations([done], OPENED + timedelta(days=9), 0.25, KINDS) == []


def test_each_level_is_escalated_once_and_near_never_after_breached() -> None:
    late = OPENED + timedelta(hours=40)
    (near,) = due_escalations([ticket()], late, 0.25, KINDS)
    assert (near.level, near.ticket, near.sponsor) == (NEAR, 1, "retail-credit")
    assert near.hours_left == pytest.approx(8.0)
    recorded = ticket(evidence=(escalation_evidence(near, late),))
    assert due_escalations([recorded], late + timedelta(hours=1), 0.25, KINDS) == []

    breached_at = OPENED + timedelta(hours=50)
    (breach,) = due_escalations([recorded], breached_at, 0.25, KINDS)
    assert breach.level == BREACHED and breach.hours_left == pytest.approx(-2.0)
    both = replace(recorded, evidence=(*recorded.evidence, escalation_evidence(breach, breached_at)))
    assert due_escalations([both], breached_at + timedelta(days=3), 0.25, KINDS) == []


def test_a_ticket_first_seen_breached_skips_near_and_is_not_escalated_near_later() -> None:
    moment = OPENED + timedelta(days=5)
    (first,) = due_escalations([ticket()], moment, 0.25, KINDS)
    assert first.level == BREACHED
    recorded = ticket(evidence=(escalation_evidence(first, moment),))
    assert due_escalations([recorded], moment, 0.25, KINDS) == []


def test_only_watched_kinds_are_escalated_most_overdue_first() -> None:
    moment = OPENED + timedelta(days=3)
    tickets = [
        ticket(1, window=timedelta(days=2, hours=12)),  # 12 h late
        ticket(2, kind="new_project", window=timedelta(days=1)),
        ticket(3, kind="data_quality", window=timedelta(days=1)),  # 48 h late
    ]
    found = due_escalations(tickets, moment, 0.25, KINDS)
    assert [e.ticket for e in found] == [3, 1]
    assert "SLA breached 48.0 h ago" in found[0].summary


def test_the_evidence_is_appended_through_a_repository_like_any_other() -> None:
    store = InMemoryTicketRepository(clock=lambda: OPENED)
    draft = TicketDraft(kind="refresh", title="Refresh m", sla="gold")
    opened, _ = store.open_or_update(new_ticket(draft, now=OPENED, sla_tiers=DEFAULT_SLA_TIERS))
    moment = OPENED + timedelta(days=3)
    (escalation,) = due_escalations(store.list(), moment, 0.25, KINDS)
    store.add_evidence(opened.id, escalation_evidence(escalation, moment), actor="zenops sla-watch")
    assert due_escalations(store.list(), moment, 0.25, KINDS) == []
    assert store.get(opened.id).evidence[-1]["event"] == "sla_escalation"
