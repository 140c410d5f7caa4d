"""Properties every plan has, on generated teams and tickets.

No person works on two things at once (work and reviews), nobody lacks a skill,
nothing starts before its ethics approval (its review's end) or before its
assignee is available, the GPU pool is never exceeded, complex work goes to a
junior only with a senior reviewer, roles fit, every ticket is accounted for
once, and no plan costs less than the proven bound.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from demand.bounds import fluid_bound
from demand.greedy import ORDERS, list_schedule, ordered
from demand.planner import plan
from demand.problem import build_problem
from demand.schedules import evaluate, violations
from demand.staffing import ROLE_FIT, needs_experience
from demand.tickets import Ticket
from zenops.kernel.config import TICKET_KINDS, PlanningPolicy, Resources, TeamMember

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
SKILLS = ("tabular", "nlp", "batch", "gpu")
POLICY = PlanningPolicy(time_limit_s=0.2, horizon_days=20, balance_window_days=7, bound_time_s=0)


@st.composite
def teams(draw):
    size = draw(st.integers(0, 5))
    return [
        TeamMember(
            name=f"p{i}",
            role=draw(st.sampled_from(["mlops_engineer", "data_scientist"])),
            skills=sorted(draw(st.sets(st.sampled_from(SKILLS), max_size=3))),
            level=draw(st.sampled_from(["junior", "mid", "senior"])),
            capacity=draw(st.sampled_from([0.5, 0.8, 1.0])),
            available_from=draw(st.sampled_from([None, None, (NOW + timedelta(days=3)).date()])),
        )
        for i in range(size)
    ]


@st.composite
def backlogs(draw):
    count = draw(st.integers(1, 10))
    tickets = []
    for i in range(1, count + 1):
        kind = draw(st.sampled_from(TICKET_KINDS))
        subject = draw(st.sampled_from([None, *range(1, count + 1)])) if kind == "ethics_review" else None
        ethics = draw(st.booleans()) if kind == "new_project" else False
        tickets.append(
            Ticket(
                id=i,
                kind=kind,
                title=f"{kind} {i}",
                due=NOW + timedelta(days=draw(st.floats(-5, 20))),
                created=NOW - timedelta(days=draw(st.integers(0, 10))),
                updated=NOW,
                sla=draw(st.sampled_from([None, "gold", "silver"])),
                value=draw(st.integers(1, 10)),
                effort=draw(st.sampled_from([0.25, 0.5, 1.0, 2.0, 5.0])),
                risk=draw(st.integers(1, 5)),
                skills=tuple(sorted(draw(st.sets(st.sampled_from(SKILLS), max_size=2)))),
                gpus=draw(st.sampled_from([0, 0, 1, 2])),
                ethics_required=ethics,
                ethics_approved=ethics and draw(st.booleans()),
                subject=subject,
                status=draw(st.sampled_from(["open", "open", "scheduled", "blocked"])),
            )
        )
    return tickets


def check(result, tickets, team, gpus):
    people = {p.name: p for p in team}
    by_id = {t.id: t for t in tickets}
    seen = [a.ticket for a in result.assignments] + [
        u.ticket for u in result.unplannable + result.pushed_back
    ]
    assert sorted(seen) == sorted(by_id)

    busy: dict[str, list[tuple[datetime, datetime]]] = {}
    for a in result.assignments:
        t, who = by_id[a.ticket], people[a.assignee]
        assert set(t.skills) <= set(who.skills)
        assert who.role in ROLE_FIT[t.kind] or (t.kind == "tooling_rnd" and "MLOps" in a.reason)
        if who.available_from:
            assert a.start >= datetime.combine(who.available_from, datetime.min.time(), tzinfo=UTC)
        busy.setdefault(a.assignee, []).append((a.start, a.end))
        if needs_experience(t) and who.level == "junior":
            reviewer = people[a.reviewer]
            assert reviewer.level == "senior" and set(t.skills) <= set(reviewer.skills)
        if a.reviewer:
            busy.setdefault(a.reviewer, []).append((a.review_start, a.end))
        if t.awaits_approval:
            reviews = [r for r in result.assignments if by_id[r.ticket].subject == t.id]
            assert reviews and all(
                a.start >= r.end for r in reviews if by_id[r.ticket].kind == "ethics_review"
            )
        assert t.status != "blocked"
    for spans in busy.values():
        spans = sorted(s for s in spans if s[0] < s[1])
        assert all(one[1] <= two[0] for one, two in zip(spans, spans[1:], strict=False))
    moments = sorted({a.start for a in result.assignments})
    for moment in moments:
        used = sum(by_id[a.ticket].gpus for a in result.assignments if a.start <= moment < a.end)
        assert used <= gpus
    if result.assignments:
        assert result.objective.bound <= result.objective.cost + 1e-9


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(team=teams(), tickets=backlogs(), gpus=st.integers(0, 2), crisis=st.booleans())
def test_every_plan_keeps_every_rule(team, tickets, gpus, crisis):
    result = plan(tickets, team, Resources(gpus=gpus), POLICY, NOW, crisis=crisis)
    check(result, tickets, team, gpus)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(team=teams(), tickets=backlogs(), gpus=st.integers(0, 2), order=st.sampled_from(sorted(ORDERS)))
def test_every_list_schedule_is_valid_and_no_cheaper_than_the_bound(team, tickets, gpus, order):
    problem = build_problem(tickets, team, Resources(gpus=gpus), POLICY, NOW)
    schedule = list_schedule(problem, ordered(problem, order))
    assert violations(problem, schedule) == []
    assert evaluate(problem, schedule).cost >= fluid_bound(problem)
