"""Phases, templates and waits: how a ticket gets them, and each bad input's one line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from demand.dependencies import blocked_waits, check_dependencies
from demand.phases import Phase, parse_spec, phase_from
from demand.tickets import Ticket, TicketDraft, new_ticket
from zenops.kernel.config import PhaseTemplate, TeamMember, parse_config
from zenops.kernel.errors import ConfigError, NotFoundError, UsageError

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
TEAM = [
    TeamMember(name="ana", role="mlops_engineer", skills=["batch", "serving"], level="senior"),
    TeamMember(name="chen", role="data_scientist", skills=["tabular", "nlp"], level="senior"),
]
SERVING = [
    PhaseTemplate(name="provision", lead_time="10d"),
    PhaseTemplate(name="build", share=0.7, role="data_scientist", skills=["tabular"]),
    PhaseTemplate(name="deploy", share=0.3, role="mlops_engineer", skills=["serving"]),
]


def make(**fields) -> Ticket:
    fields.setdefault("kind", "new_project")
    fields.setdefault("sla", "silver")
    return new_ticket(TicketDraft(**fields), now=NOW, team=TEAM, templates={"serving_project": SERVING})


def test_a_template_gives_its_phases_with_the_effort_shared_out():
    ticket = make(effort=20, phases_from="serving_project")
    assert [p.name for p in ticket.phases] == ["provision", "build", "deploy"]
    assert ticket.phases[0] == Phase("provision", lead_time=10.0)
    assert (ticket.phases[1].effort, ticket.phases[2].effort) == (14.0, 6.0)
    assert ticket.effort == 20.0 and ticket.skills == ("tabular", "serving") and ticket.gpus == 0


def test_a_phase_named_on_the_command_line_changes_the_templates_phase():
    ticket = make(effort=20, phases_from="serving_project", phases=[parse_spec("build effort=10 gpus=2")])
    assert ticket.phases[1] == Phase("build", effort=10.0, role="data_scientist", skills=("tabular",), gpus=2)
    assert ticket.effort == 16.0 and ticket.gpus == 2


def test_a_kinds_template_applies_unless_the_ticket_asks_for_none():
    templates = {"new_project": SERVING}
    phased = new_ticket(TicketDraft(kind="new_project", sla="silver"), now=NOW, templates=templates)
    assert len(phased.phases) == 3 and phased.effort == 30.0  # the kind's default effort, shared out
    plain = new_ticket(
        TicketDraft(kind="new_project", sla="silver", phases_from="none"), now=NOW, templates=templates
    )
    assert plain.phases == () and plain.effort == 30.0
    refresh = new_ticket(TicketDraft(kind="refresh", sla="silver"), now=NOW, templates=templates)
    assert refresh.phases == ()


def test_own_phases_in_order_and_waits():
    ticket = make(
        phases=[parse_spec("provision lead_time=2w"), parse_spec("build effort=3 skills=nlp,tabular")],
        after=[4, 4, 2],
    )
    assert ticket.phases == (
        Phase("provision", lead_time=14.0),
        Phase("build", effort=3.0, skills=("nlp", "tabular")),
    )
    assert ticket.after == (4, 2)


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        (
            {"phases": [{"name": "build", "effort": 0}]},
            "phases[0].effort: must be greater than 0 person-days, got 0",
        ),
        (
            {"phases": [{"name": "build", "effort": -2}]},
            "phases[0].effort: must be greater than 0 person-days, got -2",
        ),
        (
            {"phases": [{"name": "wait", "lead_time": "soon"}]},
            "phases[0].lead_time: 'soon' is not a duration",
        ),
        ({"phases": [{"name": "wait", "lead_time": 3}]}, "phases: a ticket needs at least one phase of work"),
        (
            {"phases": [{"name": "wait", "lead_time": 3, "role": "data_scientist"}]},
            "phases[0].role: a lead time occupies no one",
        ),
        (
            {"phases": [{"name": "build", "effort": 1, "role": "manager"}]},
            "phases[0].role: unknown role 'manager'",
        ),
        (
            {"phases": [{"name": "build", "effort": 1, "level": "guru"}]},
            "phases[0].level: unknown level 'guru'",
        ),
        (
            {"phases": [{"name": "build", "effort": 1}, {"name": "build", "effort": 2}]},
            "phases[1].name: phase 'build' is named twice",
        ),
        (
            {"phases": [{"name": "build", "effort": 1, "colour": "red"}]},
            "phases[0].colour: unknown phase field",
        ),
        (
            {"phases": [{"name": "build", "effort": 2}], "effort": 5},
            "effort: the phases' efforts add up to 2 person-days, not 5",
        ),
        (
            {"phases": [{"name": "build", "effort": 2}], "skills": ["nlp"]},
            "skills: this ticket has phases; give each phase its skills",
        ),
        (
            {"phases": [{"name": "build", "effort": 2}], "gpus": 1},
            "gpus: this ticket has phases; give each phase its gpus",
        ),
        (
            {"phases_from": "gpu_project"},
            "phases_from: no phase template named 'gpu_project' (templates: serving_project)",
        ),
        (
            {"phases_from": "serving_project", "phases": [{"name": "test", "effort": 1}]},
            "phases: 'test' is not a phase of planning.phases.serving_project",
        ),
        ({"phases": [{"name": "build", "effort": 1, "skills": ["cobol"]}]}, "skills: unknown skill 'cobol'"),
        ({"after": [0]}, "after: 0 is out of range"),
    ],
)
def test_bad_phases_and_waits_are_one_line_naming_the_field(fields, line):
    with pytest.raises(UsageError) as raised:
        make(**fields)
    assert str(raised.value).startswith(line), str(raised.value)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("effort=3", "--phase: 'effort=3' does not start with the phase's name"),
        ("build effort", "--phase: 'effort' is not KEY=VALUE"),
        ("build effort=lots", "--phase: 'effort=lots': effort must be a number"),
        ("build colour=red", "--phase: 'colour=red' is not KEY=VALUE"),
    ],
)
def test_a_bad_phase_on_the_command_line_is_one_line(text, line):
    with pytest.raises(UsageError, match="^" + line.replace("(", r"\(").replace(")", r"\)")):
        parse_spec(text)


def test_a_phase_round_trips_through_its_fields():
    phase = Phase("search", effort=2.5, role="data_scientist", skills=("nlp",), level="mid", gpus=2)
    assert phase_from(phase.to_dict(), "phases[0]") == phase


def stored(ident, status="open", after=(), **fields):
    fields.setdefault("kind", "refresh")
    return Ticket(
        id=ident, kind=fields.pop("kind"), title=f"t{ident}", due=NOW + timedelta(days=3),
        created=NOW, updated=NOW, status=status, after=tuple(after), **fields,
    )  # fmt: skip


def test_waits_for_unknown_or_cancelled_tickets_and_cycles_are_refused():
    known = {1: stored(1), 2: stored(2, "cancelled"), 3: stored(3, after=(1,))}
    check_dependencies(stored(None, after=(1, 3)), known)  # fine
    with pytest.raises(NotFoundError, match="^after: ticket 7: no such ticket$"):
        check_dependencies(stored(None, after=(7,)), known)
    with pytest.raises(UsageError, match="^after: ticket 2 was cancelled"):
        check_dependencies(stored(None, after=(2,)), known)
    gated = {5: stored(5, kind="new_project", ethics_required=True)}
    review = stored(None, kind="ethics_review", subject=5, after=(5,))
    with pytest.raises(
        UsageError, match="would wait for each other: #5 → the new ticket → #5|the new ticket → #5"
    ):
        check_dependencies(review, gated)


def test_stored_tickets_whose_waits_broke_say_why():
    tickets = [
        stored(1, "cancelled"),
        stored(2, after=(1,)),
        stored(3, after=(99,)),
        stored(4, after=(5,)),
        stored(5, after=(4,)),
        stored(6, after=(2,)),  # waits for one that cannot start: the planner's to leave out
        stored(7, "done", after=(1,)),
    ]
    assert blocked_waits(tickets) == {
        2: "waits for ticket #1, which was cancelled",
        3: "waits for ticket #99, which does not exist",
        4: "in a cycle of waits: #4 → #5 → #4",
        5: "in a cycle of waits: #4 → #5 → #4",
    }


@pytest.mark.parametrize(
    ("phases", "line"),
    [
        (
            [{"name": "build", "share": 0.5}, {"name": "deploy", "share": 0.4}],
            "the shares add up to 0.9, not 1",
        ),
        (
            [{"name": "build", "share": 0.5}, {"name": "deploy", "effort": 2}],
            "give every phase of work a share, or every one an effort",
        ),
        (
            [{"name": "build", "effort": 1, "lead_time": "2d"}],
            "give exactly one of effort, share or lead_time",
        ),
        ([{"name": "wait", "lead_time": "2d"}], "give at least one phase of work"),
        (
            [{"name": "wait", "lead_time": "2d", "gpus": 1}, {"name": "b", "effort": 1}],
            "a lead time occupies no one",
        ),
        (
            [{"name": "b", "effort": 1, "role": "mlops_engineer", "skills": ["nlp"]}],
            "planning.phases.p[0]: no mlops engineer with nlp is on the team",
        ),
        (
            [{"name": "b", "effort": 1, "level": "senior", "skills": ["batch"], "role": "data_scientist"}],
            "no senior data scientist with batch is on the team",
        ),
        ([{"name": "b", "effort": 1, "gpus": 3}], "planning.phases.p[0].gpus: needs 3 GPUs, the pool has 2"),
    ],
)
def test_phase_templates_are_checked_against_the_team_and_the_pool(phases, line):
    data = {
        "team": [t.model_dump(exclude_none=True) for t in TEAM],
        "resources": {"gpus": 2},
        "planning": {"phases": {"p": phases}},
    }
    with pytest.raises(ConfigError) as raised:
        parse_config(data)
    assert line in str(raised.value) and str(raised.value).startswith("zenops.yaml: "), str(raised.value)


def test_a_template_cannot_be_called_none():
    with pytest.raises(ConfigError, match="'none' is reserved"):
        parse_config({"planning": {"phases": {"none": [{"name": "b", "effort": 1}]}}})
