"""Properties every plan of phased tickets has, on generated teams and backlogs.

No phase starts before the phase before it ends, nor before its lead time is over; no
ticket starts before the tickets it waits for end; the GPU pool is never exceeded by
the phases running at once; nobody works on two things at once; each phase goes to a
person of its role, with its skills and at least its level. And the proven bounds
(fluid, Lagrangian) are never above the cost of a valid schedule.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from demand.bounds import fluid_bound
from demand.greedy import list_schedule, ordered
from demand.lagrange import lagrangian_bound
from demand.phases import Phase
from demand.planner import plan
from demand.problem import build_problem, end_of
from demand.schedules import evaluate, violations
from demand.staffing import ROLE_FIT, needs_experience
from demand.tickets import Ticket
from zenops.kernel.config import LEVELS, PlanningPolicy, Resources, TeamMember

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
SKILLS = ("tabular", "nlp", "batch", "serving")
POLICY = PlanningPolicy(time_limit_s=0.2, horizon_days=20, balance_window_days=7, bound_time_s=0)
ROLES = ("data_scientist", "mlops_engineer")


@st.composite
def teams(draw):
    return [
        TeamMember(
            name=f"p{i}",
            role=draw(st.sampled_from(ROLES)),
            skills=sorted(draw(st.sets(st.sampled_from(SKILLS), max_size=3))),
            level=draw(st.sampled_from(LEVELS)),
            capacity=draw(st.sampled_from([0.5, 1.0])),
            available_from=draw(st.sampled_from([None, None, (NOW + timedelta(days=2)).date()])),
        )
        for i in range(draw(st.integers(1, 4)))
    ]


@st.composite
def phases(draw):
    out = []
    if draw(st.booleans()):
        out.append(Phase("provision", lead_time=draw(st.sampled_from([1.0, 3.0, 8.0]))))
    for name in draw(
        st.lists(st.sampled_from(["build", "search", "deploy", "check"]), min_size=1, max_size=3, unique=True)
    ):
        out.append(
            Phase(
                name,
                effort=draw(st.sampled_from([0.5, 1.0, 2.0, 4.0])),
                role=draw(st.sampled_from([None, *ROLES])),
                skills=tuple(sorted(draw(st.sets(st.sampled_from(SKILLS), max_size=1)))),
                level=draw(st.sampled_from([None, None, "mid", "senior"])),
                gpus=draw(st.sampled_from([0, 0, 1, 2])),
            )
        )
    if draw(st.booleans()):
        out.append(Phase("sign-off", lead_time=2.0))
    return tuple(out)


@st.composite
def backlogs(draw):
    count = draw(st.integers(1, 8))
    tickets = []
    for i in range(1, count + 1):
        kind = draw(st.sampled_from(["new_project", "rebuild", "refresh", "data_quality"]))
        steps = draw(phases()) if draw(st.booleans()) else ()
        after = tuple(sorted(draw(st.sets(st.integers(1, count), max_size=2)) - {i}))
        tickets.append(
            Ticket(
                id=i,
                kind=kind,
                title=f"{kind} {i}",
                due=NOW + timedelta(days=draw(st.floats(-3, 25))),
                created=NOW - timedelta(days=draw(st.integers(0, 5))),
                updated=NOW,
                sla=draw(st.sampled_from([None, "gold", "silver"])),
                value=draw(st.integers(1, 10)),
                effort=sum(p.effort for p in steps) if steps else draw(st.sampled_from([0.5, 1.0, 3.0])),
                risk=draw(st.integers(1, 5)),
                gpus=max((p.gpus for p in steps), default=0),
                phases=steps,
                after=after,
                status=draw(st.sampled_from(["open", "open", "open", "blocked", "done", "cancelled"])),
            )
        )
    return tickets


def check(result, tickets, team, gpus):
    people = {p.name: p for p in team}
    by_id = {t.id: t for t in tickets}
    seen = [a.ticket for a in result.assignments] + [
        u.ticket for u in result.unplannable + result.pushed_back
    ]
    assert sorted(seen) == sorted(t.id for t in tickets if t.is_open)
    planned = {a.ticket: a for a in result.assignments}
    busy: dict[str, list[tuple[datetime, datetime]]] = {}
    held: list[tuple[datetime, datetime, int]] = []
    for a in result.assignments:
        ticket = by_id[a.ticket]
        for before in ticket.after:  # every ticket it waits for ends first (or is done)
            if before in planned:
                first_work = next((s.start for s in a.phases if s.kind == "work"), a.start)
                assert first_work >= planned[before].end
            else:
                assert by_id[before].status == "done"
        slots = a.phases or ()
        for previous, slot in zip(slots, slots[1:], strict=False):
            assert slot.start >= previous.end, (a.ticket, previous.name, slot.name)
        for slot, phase in zip(slots, ticket.phases, strict=True):
            assert slot.name == phase.name
            if phase.is_wait:
                assert slot.assignee is None
                assert slot.end - slot.start <= timedelta(days=phase.lead_time) + timedelta(hours=6)
                if slot is slots[0]:  # a first lead time runs from the ticket's creation
                    assert slot.end >= ticket.created + timedelta(days=phase.lead_time)
                continue
            who = people[slot.assignee]
            assert set(phase.skills) <= set(who.skills)
            assert who.role == phase.role if phase.role else who.role in ROLE_FIT[ticket.kind]
            if phase.level:
                assert LEVELS.index(who.level) >= LEVELS.index(phase.level)
            elif needs_experience(ticket) and who.level == "junior":
                assert people[slot.reviewer].level == "senior"
            busy.setdefault(slot.assignee, []).append((slot.start, slot.end))
            if slot.reviewer:
                busy.setdefault(slot.reviewer, []).append((slot.review_start, slot.end))
            if phase.gpus:
                held.append((slot.start, slot.end, phase.gpus))
        if not slots:
            busy.setdefault(a.assignee, []).append((a.start, a.end))
            if a.reviewer:
                busy.setdefault(a.reviewer, []).append((a.review_start, a.end))
            if ticket.gpus:
                held.append((a.start, a.end, ticket.gpus))
    for spans in busy.values():
        spans = sorted(s for s in spans if s[0] < s[1])
        assert all(one[1] <= two[0] for one, two in zip(spans, spans[1:], strict=False))
    for moment in sorted({s for s, _, _ in held}):
        assert sum(g for s, e, g in held if s <= moment < e) <= gpus


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(team=teams(), tickets=backlogs(), gpus=st.integers(0, 2))
def test_every_phased_plan_keeps_every_rule(team, tickets, gpus):
    result = plan(tickets, team, Resources(gpus=gpus), POLICY, NOW)
    check(result, tickets, team, gpus)
    if result.assignments:
        assert result.objective.bound <= result.objective.cost + 1e-9


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    team=teams(), tickets=backlogs(), gpus=st.integers(0, 2), order=st.sampled_from(["score", "edd", "wspt"])
)
def test_no_proven_bound_is_above_a_valid_schedule(team, tickets, gpus, order):
    problem = build_problem(tickets, team, Resources(gpus=gpus), POLICY, NOW)
    if not problem.jobs:
        return
    schedule = list_schedule(problem, ordered(problem, order))
    assert violations(problem, schedule) == []
    cost = evaluate(problem, schedule).cost
    end = max(end_of(j, schedule[j.index]) for j in problem.jobs)
    assert fluid_bound(problem) <= cost
    assert lagrangian_bound(problem, cost, end, time_limit_s=60, rounds=40, schedule=schedule).bound <= cost
