"""The capacity-aware planner: who may do what, the ethics gate, crisis mode, determinism."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from demand import cpsat
from demand import planner as planner_module
from demand.bounds import fluid_bound
from demand.cpsat import SolverResult
from demand.gantt import gantt_mermaid, plan_markdown
from demand.greedy import ORDERS, best_greedy, list_schedule, ordered
from demand.planner import plan
from demand.problem import build_problem
from demand.schedules import evaluate, violations
from demand.staffing import staffing
from demand.tickets import Ticket
from zenops.kernel.config import PlanningPolicy, Resources, TeamMember
from zenops.kernel.errors import UsageError

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
FAST = PlanningPolicy(time_limit_s=0.5, horizon_days=60, bound_time_s=0)


def person(name, role="data_scientist", skills=(), level="senior", capacity=1.0, available_from=None):
    return TeamMember(
        name=name,
        role=role,
        skills=list(skills),
        level=level,
        capacity=capacity,
        available_from=available_from,
    )


def ticket(ident, kind="refresh", days=7.0, effort=1.0, **fields):
    fields.setdefault("value", 5)
    fields.setdefault("sla", "silver")
    return Ticket(
        id=ident,
        kind=kind,
        title=f"{kind} {ident}",
        due=NOW + timedelta(days=days),
        created=NOW - timedelta(days=1),
        updated=NOW,
        effort=effort,
        **fields,
    )


TEAM = [
    person("ana", "mlops_engineer", ["batch", "serving"]),
    person("raj", "data_scientist", ["tabular", "nlp"], level="junior", capacity=0.8),
    person("mei", "data_scientist", ["tabular"], level="mid"),
]


def test_a_ticket_nobody_can_do_is_unplannable_with_the_reason():
    result = plan([ticket(1, skills=("vision",)), ticket(2)], TEAM, Resources(), FAST, NOW)
    assert [(u.ticket, u.reason) for u in result.unplannable] == [(1, "no one has skill 'vision'")]
    assert [a.ticket for a in result.assignments] == [2]


@pytest.mark.parametrize(
    ("item", "team", "reason"),
    [
        (ticket(1, skills=("batch", "nlp")), TEAM, "no one has all of the skills 'batch', 'nlp'"),
        (
            ticket(1, kind="rebuild", skills=("batch",)),
            TEAM,
            "needs a data_scientist with skill 'batch'; none",
        ),
        (
            ticket(1, kind="rebuild"),
            [person("raj", level="junior")],
            "a rebuild needs a mid or senior data_scientist",
        ),
        (ticket(1, risk=5), [person("raj", level="junior")], "complexity 5 needs a mid or senior"),
        (ticket(1), [], "no one is on the team"),
        (ticket(1, gpus=3), TEAM, "needs 3 GPUs, the pool has 2"),
        (ticket(1, status="blocked", status_note="labels missing"), TEAM, "blocked: labels missing"),
    ],
)
def test_unplannable_reasons(item, team, reason):
    result = plan([item], team, Resources(gpus=2), FAST, NOW)
    assert not result.assignments
    assert result.unplannable[0].reason.startswith(reason)


def test_role_fit_and_the_tooling_fallback():
    assert staffing(ticket(1, kind="rebuild"), TEAM).assignees == (2,)
    assert staffing(ticket(1, kind="tooling_rnd"), TEAM).assignees == (0,)
    data_only = [person("mei", skills=["tabular"])]
    fallback = staffing(ticket(1, kind="tooling_rnd"), data_only)
    assert fallback.assignees == (0,) and fallback.note == "no MLOps engineer has the skills"
    assert staffing(ticket(1, kind="data_quality"), TEAM).assignees == (0, 1, 2)


def test_juniors_take_complex_work_only_with_a_senior_reviewer():
    team = [person("sen", skills=["nlp"]), person("jun", skills=["nlp"], level="junior")]
    rebuilds = [ticket(i, kind="rebuild", days=3, effort=3, skills=("nlp",), value=9) for i in (1, 2)]
    result = plan(rebuilds, team, Resources(), FAST, NOW)
    by_person = {a.assignee: a for a in result.assignments}
    assert set(by_person) == {"sen", "jun"}
    stretch = by_person["jun"]
    assert stretch.reviewer == "sen" and "stretch assignment reviewed by sen" in stretch.reason
    assert stretch.review_start is not None and stretch.review_start < stretch.end
    own = by_person["sen"]
    review = (stretch.review_start, stretch.end)
    assert own.end <= review[0] or review[1] <= own.start  # the reviewer's time is counted


def test_without_a_senior_juniors_get_no_complex_work():
    team = [person("mid", skills=["nlp"], level="mid"), person("jun", skills=["nlp"], level="junior")]
    result = plan([ticket(i, kind="rebuild", skills=("nlp",)) for i in (1, 2)], team, Resources(), FAST, NOW)
    assert {a.assignee for a in result.assignments} == {"mid"}


def test_a_gated_ticket_without_a_review_waits_for_approval():
    gated = ticket(1, kind="new_project", effort=5, ethics_required=True)
    result = plan([gated], TEAM, Resources(), FAST, NOW)
    assert result.unplannable[0].reason.startswith("waiting for ethics approval")
    approved = replace(gated, ethics_approved=True, approved_by="board")
    assert [a.ticket for a in plan([approved], TEAM, Resources(), FAST, NOW).assignments] == [1]


def test_a_gated_ticket_starts_after_its_ethics_review_ends():
    gated = ticket(1, kind="new_project", effort=5, ethics_required=True, value=10)
    review = ticket(2, kind="ethics_review", effort=2, subject=1, value=1, days=30)
    result = plan([gated, review], TEAM, Resources(), FAST, NOW)
    starts = {a.ticket: a for a in result.assignments}
    assert starts[1].start >= starts[2].end
    assert "starts after ethics review #2" in starts[1].reason


def test_crisis_mode_plans_operational_work_and_reports_what_it_pushed_back():
    items = [
        ticket(1, kind="refresh"),
        ticket(2, kind="new_project", effort=10),
        ticket(3, kind="data_quality"),
        ticket(4, kind="tooling_rnd", effort=3),
        ticket(5, kind="rebuild", effort=5),
    ]
    result = plan(items, TEAM, Resources(), FAST, NOW, crisis=True)
    assert sorted(a.ticket for a in result.assignments) == [1, 3, 5]
    assert [(u.ticket, u.reason) for u in result.pushed_back] == [
        (2, "crisis mode: operational work only, new_project waits"),
        (4, "crisis mode: operational work only, tooling_rnd waits"),
    ]
    assert result.crisis and result.to_dict()["crisis"]


def test_nobody_starts_before_they_are_available():
    team = [person("late", "mlops_engineer", available_from=date(2025, 1, 10))]
    (assignment,) = plan([ticket(1)], team, Resources(), FAST, NOW).assignments
    assert assignment.start >= datetime(2025, 1, 10, tzinfo=UTC)


def test_urgent_valuable_work_goes_first_and_lateness_is_flagged():
    team = [person("ana", "mlops_engineer")]
    items = [ticket(1, days=30, effort=2, value=2), ticket(2, days=1, effort=2, value=9, sla="gold")]
    result = plan(items, team, Resources(), FAST, NOW)
    assert [a.ticket for a in result.assignments] == [2, 1]
    first = result.assignments[0]
    assert first.sla_at_risk and "SLA at risk" in first.reason
    assert result.objective.late_tickets == 1
    assert result.objective.status == "OPTIMAL"
    assert result.objective.bound == pytest.approx(result.objective.cost)


def test_the_gpu_pool_is_shared():
    team = [person(n) for n in ("a", "b", "c")]
    items = [ticket(i, kind="rebuild", effort=2, gpus=1) for i in (1, 2, 3)]
    result = plan(items, team, Resources(gpus=1), FAST, NOW)
    spans = sorted((a.start, a.end) for a in result.assignments)
    assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:], strict=False))


@pytest.fixture
def no_wall_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """The search stops on deterministic time alone, however busy the machine.

    The wall-clock cap guards a machine far slower than expected, and a run it cuts
    short may differ; on a shared test machine it would, now and then.
    """
    monkeypatch.setattr(cpsat, "WALL_CAP_FACTOR", 1_000.0)


def test_the_plan_is_the_same_every_run(no_wall_cap: None):
    items = [
        ticket(i, kind=k, effort=1 + i % 4, value=1 + i % 10, days=i - 5)
        for i, k in enumerate(
            ["refresh", "data_quality", "rebuild", "tooling_rnd", "refresh", "rebuild"] * 4, start=1
        )
    ]
    first = plan(items, TEAM, Resources(gpus=1), FAST, NOW).to_dict(timings=False)
    second = plan(list(reversed(items)), TEAM, Resources(gpus=1), FAST, NOW).to_dict(timings=False)
    assert first == second
    assert "planner_seconds" not in first["objective"]


def test_the_neighbourhood_search_is_reproducible_too(no_wall_cap: None):
    kinds = ["refresh", "data_quality", "rebuild", "tooling_rnd", "ethics_review"]
    items = [
        ticket(
            i,
            kind=kinds[i % 5],
            effort=0.5 + i % 6,
            value=1 + i * 7 % 10,
            days=i % 11 - 4,
            gpus=int(i % 9 == 0),
        )
        for i in range(1, 61)
    ]
    team = [*TEAM, person("lee", "mlops_engineer", ["batch"], level="junior"), person("kim", skills=["nlp"])]
    quick = FAST.model_copy(update={"time_limit_s": 0.25})
    runs = [plan(items, team, Resources(gpus=1), quick, NOW) for _ in range(2)]
    assert runs[0].objective.neighbourhoods > 0
    assert runs[0].to_dict(timings=False) == runs[1].to_dict(timings=False)


def test_to_dict_has_the_documented_keys_and_is_json_ready():
    result = plan([ticket(1), ticket(2, skills=("vision",))], TEAM, Resources(), FAST, NOW)
    data = json.loads(json.dumps(result.to_dict()))
    assert {"ticket", "score", "assignee", "start", "end", "sla_at_risk"} <= set(data["plan"][0])
    assert data["unplannable"] == [
        {"ticket": 2, "title": "refresh 2", "kind": "refresh", "reason": "no one has skill 'vision'"}
    ]
    assert {"sla_weighted_lateness", "value_delivered", "bound", "status", "planner_seconds"} <= set(
        data["objective"]
    )


def test_an_empty_plan():
    result = plan([], TEAM, Resources(), FAST, NOW)
    assert result.assignments == () and result.objective.status == "EMPTY"
    assert plan_markdown(result).startswith("# zenops plan")


def test_unsaved_tickets_cannot_be_planned():
    with pytest.raises(UsageError, match="only stored tickets"):
        plan([replace(ticket(1), id=None)], TEAM, Resources(), FAST, NOW)


def test_the_greedy_plan_is_the_fallback(monkeypatch):
    def nothing(problem, start, policy):
        return SolverResult(start, "UNKNOWN", None, 0.0, 0.0)

    monkeypatch.setattr(planner_module, "optimise", nothing)
    items = [ticket(i, effort=3, days=1) for i in range(1, 6)]
    result = plan(items, TEAM, Resources(), FAST, NOW)
    assert result.objective.solver == "greedy"
    assert result.objective.status == "cp-sat UNKNOWN: greedy plan kept"
    assert len(result.assignments) == 5


def test_every_greedy_order_is_valid_and_above_the_bound():
    items = [
        ticket(i, kind=k, effort=0.5 + i % 5, days=i % 9 - 3, gpus=i % 2)
        for i, k in enumerate(["refresh", "rebuild", "data_quality", "tooling_rnd"] * 5, start=1)
    ]
    problem = build_problem(items, TEAM, Resources(gpus=1), FAST, NOW)
    bound = fluid_bound(problem)
    for name in ORDERS:
        schedule = list_schedule(problem, ordered(problem, name))
        assert violations(problem, schedule) == []
        assert evaluate(problem, schedule).cost >= bound
    assert best_greedy(problem)[2].cost == min(
        evaluate(problem, list_schedule(problem, ordered(problem, n))).cost for n in ORDERS
    )


def test_gantt_chart_and_markdown():
    result = plan(
        [ticket(1, days=0.1, effort=2), ticket(2, kind="tooling_rnd")], TEAM, Resources(), FAST, NOW
    )
    chart = gantt_mermaid(result)
    assert chart.startswith("gantt\n") and "section ana" in chart
    assert ":crit, t1, 2025-01-06 09:00, 2025-01-08 09:00" in chart
    text = plan_markdown(result)
    assert "```mermaid" in text and "| 1 | 1 refresh 1 |" in text
