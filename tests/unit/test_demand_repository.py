"""The ticket repository's promises, checked on the in-memory implementation.

:class:`RepositoryContract` holds the tests every :class:`TicketRepository` must
pass; the SQL store runs the same class in ``tests/integration/test_ticket_store.py``.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from demand.phases import Phase
from demand.repository import InMemoryTicketRepository, TicketRepository
from demand.tickets import TicketDraft, new_ticket
from zenops.kernel.errors import NotFoundError, TransitionError, UsageError

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


class Clock:
    """A clock that ticks one second per call, so timestamps differ and are known."""

    def __init__(self) -> None:
        self.now = NOW
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self.now += timedelta(seconds=1)
            return self.now


def draft(incident: str | None = "drift", **fields):
    fields.setdefault("kind", "refresh")
    fields.setdefault("model", "loan-default")
    fields.setdefault("sla", "gold")
    return new_ticket(TicketDraft(incident=incident, **fields), now=NOW)


class RepositoryContract:
    """Tests for any TicketRepository; subclasses provide a ``repo`` fixture."""

    def test_it_implements_the_protocol(self, repo):
        assert isinstance(repo, TicketRepository)

    def test_one_incident_opens_one_ticket_and_repeats_add_evidence(self, repo):
        first, created = repo.open_or_update(draft(evidence={"drift_share": 0.3}))
        again, created_again = repo.open_or_update(draft(evidence={"drift_share": 0.4}))
        assert created and not created_again
        assert again.id == first.id
        assert again.evidence == ({"drift_share": 0.3}, {"drift_share": 0.4})
        assert repo.get(first.id).evidence == again.evidence
        assert [t.id for t in repo.list()] == [first.id]
        assert [e.action for e in repo.history(first.id)] == ["opened", "evidence", "evidence"]

    def test_other_incidents_and_keyless_reports_open_their_own_tickets(self, repo):
        a, _ = repo.open_or_update(draft("drift"))
        b, _ = repo.open_or_update(draft("performance"))
        c, _ = repo.open_or_update(draft(None))
        d, created = repo.open_or_update(draft(None))
        assert created and len({a.id, b.id, c.id, d.id}) == 4

    def test_a_closed_incident_reopens_as_a_new_ticket(self, repo):
        first, _ = repo.open_or_update(draft())
        repo.close(first.id, outcome="false alarm", status="cancelled")
        second, created = repo.open_or_update(draft())
        assert created and second.id != first.id
        assert repo.get(first.id).status == "cancelled"

    def test_unknown_tickets_are_not_found(self, repo):
        for call in (
            lambda: repo.get(999),
            lambda: repo.transition(999, "scheduled"),
            lambda: repo.approve(999, by="x"),
            lambda: repo.close(999, outcome="x"),
            lambda: repo.add_evidence(999, {"x": 1}),
            lambda: repo.history(999),
        ):
            with pytest.raises(NotFoundError, match="^ticket 999: no such ticket$"):
                call()

    def test_an_illegal_transition_leaves_the_ticket_unchanged(self, repo):
        ticket, _ = repo.open_or_update(draft(evidence={"a": 1}))
        repo.transition(ticket.id, "in_progress", note="started")
        done = repo.close(ticket.id, outcome="promoted v3")
        events = len(repo.history(ticket.id))
        with pytest.raises(
            TransitionError, match=f"ticket {ticket.id}: cannot move from done to in_progress"
        ):
            repo.transition(ticket.id, "in_progress")
        assert repo.get(ticket.id) == done
        assert len(repo.history(ticket.id)) == events

    def test_phases_and_waits_are_stored_as_given(self, repo):
        first, _ = repo.open_or_update(draft(None))
        steps = (
            Phase("provision", lead_time=10.0),
            Phase("build", effort=6.0, role="data_scientist", skills=("nlp",), gpus=1),
        )
        phased, _ = repo.open_or_update(
            draft(None, kind="new_project", model=None, sla="silver", phases=steps, after=(first.id,))
        )
        stored = repo.get(phased.id)
        assert stored.phases == steps and stored.after == (first.id,)
        assert stored.effort == 6.0 and stored.skills == ("nlp",) and stored.gpus == 1
        assert [t.phases for t in repo.list(kind="new_project")] == [steps]
        assert repo.get(first.id).phases == () and repo.get(first.id).after == ()

    def test_a_wait_for_an_unknown_or_cancelled_ticket_or_a_cycle_stores_nothing(self, repo):
        gated, _ = repo.open_or_update(
            draft(None, kind="new_project", model=None, sla="silver", ethics_required=True)
        )
        gone, _ = repo.open_or_update(draft(None))
        repo.close(gone.id, outcome="not needed", status="cancelled")
        before = repo.list()
        with pytest.raises(NotFoundError, match="^after: ticket 99: no such ticket$"):
            repo.open_or_update(draft(None, after=(99,)))
        with pytest.raises(UsageError, match=f"^after: ticket {gone.id} was cancelled"):
            repo.open_or_update(draft(None, after=(gone.id,)))
        review = draft(
            None, kind="ethics_review", model=None, sla="silver", subject=gated.id, after=(gated.id,)
        )
        with pytest.raises(
            UsageError, match=f"would wait for each other: the new ticket → #{gated.id} → the new ticket"
        ):
            repo.open_or_update(review)
        assert repo.list() == before

    def test_bad_input_changes_nothing(self, repo):
        ticket, _ = repo.open_or_update(draft())
        before = repo.get(ticket.id)
        with pytest.raises(UsageError, match="status: unknown status 'finished'"):
            repo.transition(ticket.id, "finished")
        with pytest.raises(UsageError, match="needs no ethics approval"):
            repo.approve(ticket.id, by="board")
        with pytest.raises(UsageError, match="evidence"):
            repo.add_evidence(ticket.id, {"bad": float("inf")})
        with pytest.raises(UsageError, match="status: a ticket closes as done or cancelled"):
            repo.close(ticket.id, outcome="x", status="blocked")
        assert repo.get(ticket.id) == before

    def test_status_moves_record_notes_and_history(self, repo):
        ticket, _ = repo.open_or_update(draft())
        blocked = repo.transition(ticket.id, "blocked", note="waiting for labels", actor="ana")
        assert blocked.status == "blocked" and blocked.status_note == "waiting for labels"
        event = repo.history(ticket.id)[-1]
        assert (event.action, event.actor, event.detail["note"]) == ("moved", "ana", "waiting for labels")
        assert event.at.tzinfo is not None

    def test_approval_and_close(self, repo):
        ticket, _ = repo.open_or_update(draft(kind="new_project", model=None, ethics_required=True))
        approved = repo.approve(ticket.id, by="ethics-board")
        assert approved.ethics_approved and approved.approved_by == "ethics-board"
        assert repo.get(ticket.id).approved_at == approved.approved_at
        repo.transition(ticket.id, "in_progress")
        closed = repo.close(ticket.id, outcome="shipped")
        assert (closed.status, closed.outcome) == ("done", "shipped")

    def test_evidence_appends(self, repo):
        ticket, _ = repo.open_or_update(draft())
        repo.add_evidence(ticket.id, {"rows": 1200})
        assert repo.add_evidence(ticket.id, {"rows": 900}).evidence == ({"rows": 1200}, {"rows": 900})

    def test_list_filters(self, repo):
        a, _ = repo.open_or_update(draft("drift", model="a"))
        b, _ = repo.open_or_update(draft("nulls", kind="data_quality", model="b"))
        repo.close(a.id, outcome="x", status="cancelled")
        assert [t.id for t in repo.list(status="active")] == [b.id]
        assert [t.id for t in repo.list(status=["cancelled", "open"])] == [a.id, b.id]
        assert [t.id for t in repo.list(kind="data_quality")] == [b.id]
        assert [t.id for t in repo.list(model="a")] == [a.id]
        with pytest.raises(UsageError, match="status"):
            repo.list(status="finished")

    def test_drafts_are_validated_and_stamped_by_the_repository(self, repo):
        ticket, created = repo.open_or_update(
            TicketDraft(kind="refresh", model="m", sla="gold", incident="x")
        )
        assert created and ticket.due == ticket.created + timedelta(days=2)
        with pytest.raises(UsageError, match="^effort: must be greater than 0"):
            repo.open_or_update(TicketDraft(kind="refresh", sla="gold", effort=-1))
        assert [t.id for t in repo.list()] == [ticket.id]

    def test_stored_tickets_are_not_opened_again(self, repo):
        ticket, _ = repo.open_or_update(draft())
        with pytest.raises(UsageError, match="already stored"):
            repo.open_or_update(ticket)

    def test_timestamps_survive_as_aware_utc(self, repo):
        ticket, _ = repo.open_or_update(draft())
        stored = repo.get(ticket.id)
        assert stored.due == ticket.due and stored.created == ticket.created
        assert stored.due.tzinfo is not None and stored.due.utcoffset() == timedelta(0)

    def test_concurrent_reports_of_one_incident_open_one_ticket(self, repo):
        threads = 8
        barrier = threading.Barrier(threads)
        results: list[tuple[int, bool]] = []
        errors: list[BaseException] = []

        def report(i: int) -> None:
            try:
                barrier.wait()
                ticket, created = repo.open_or_update(draft(evidence={"reporter": i}))
                results.append((ticket.id, created))
            except BaseException as error:  # noqa: BLE001 - surfaced below
                errors.append(error)

        workers = [threading.Thread(target=report, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert not errors, errors
        assert len({ticket_id for ticket_id, _ in results}) == 1
        assert sum(created for _, created in results) == 1
        (ticket,) = repo.list(status="active")
        assert sorted(e["reporter"] for e in ticket.evidence) == list(range(threads))
        actions = [e.action for e in repo.history(ticket.id)]
        assert actions.count("opened") == 1 and actions.count("evidence") == threads


class TestInMemoryRepository(RepositoryContract):
    @pytest.fixture
    def repo(self):
        return InMemoryTicketRepository(clock=Clock())
