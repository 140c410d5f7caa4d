"""Tickets and the plan from the command line, as a user works with them."""

from __future__ import annotations

from pathlib import Path


def new(zenops, root: Path, *args: str):
    return zenops("--workspace", str(root), "tickets", "new", "--json", *args)


def one_line_error(result, *fragments: str) -> None:
    assert result.code == 2, (result.code, result.stdout, result.stderr)
    assert len(result.error_lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.error_lines[0], result.error_lines[0]


def test_tickets_and_plan(zenops, initialized: Path) -> None:
    root = initialized  # a workspace zenops init made
    project = new(
        zenops,
        root,
        "--kind",
        "new_project",
        "--title",
        "Churn model",
        "--sponsor",
        "retail-credit",
        "--value",
        "8",
        "--effort",
        "10",
        "--skill",
        "tabular",
        "--sla",
        "silver",
    )
    assert project.code == 0, project.stderr
    gated = new(
        zenops,
        root,
        "--kind",
        "new_project",
        "--title",
        "Advice shown to customers",
        "--effort",
        "5",
        "--skill",
        "tabular",
        "--sla",
        "silver",
        "--ethics",
    )
    gated_id = gated.json()["ticket"]["id"]
    refresh = new(zenops, root, "--kind", "refresh", "--title", "Refresh loans", "--model", "loan-default")
    assert refresh.json()["ticket"]["due"] < project.json()["ticket"]["due"]

    listed = zenops("tickets", "list", "--json", cwd=root)
    assert listed.code == 0, listed.stderr
    rows = listed.json()["tickets"]
    assert {"id", "kind", "model", "status", "due", "priority"} <= rows[0].keys()
    assert rows[0]["kind"] == "refresh"  # the SLA-bound refresh comes first

    planned = zenops("plan", "--json", cwd=root)
    assert planned.code == 0, planned.stderr
    document = planned.json()
    assert {"ticket", "score", "assignee", "start", "end", "sla_at_risk"} <= document["plan"][0].keys()
    assert gated_id in [u["ticket"] for u in document["unplannable"]]
    assert "ethics" in next(u["reason"] for u in document["unplannable"] if u["ticket"] == gated_id)

    assert zenops("tickets", "approve", str(gated_id), "--by", "ethics-board", cwd=root).code == 0
    planned = zenops("plan", "--json", cwd=root).json()
    assert gated_id in [a["ticket"] for a in planned["plan"]]

    crisis = zenops("plan", "--crisis", "--json", cwd=root).json()
    assert {a["ticket"] for a in crisis["plan"]} == {refresh.json()["ticket"]["id"]}
    assert len(crisis["pushed_back"]) == 2

    shown = zenops("tickets", "show", str(gated_id), "--json", cwd=root).json()
    assert shown["ethics_approved"] is True and "score" in shown["explain"]
    closed = zenops("tickets", "close", str(gated_id), "--outcome", "shipped", "--json", cwd=root)
    assert closed.json()["ticket"]["status"] == "done"


def test_bad_ticket_input_exits_2_and_changes_nothing(zenops, initialized: Path) -> None:
    root = initialized  # a workspace zenops init made
    one_line_error(
        new(zenops, root, "--kind", "new_project", "--title", "x", "--effort", "-3", "--sla", "silver"),
        "effort",
    )
    one_line_error(
        new(zenops, root, "--kind", "new_project", "--title", "x", "--skill", "cobol", "--sla", "gold"),
        "cobol",
    )
    one_line_error(new(zenops, root, "--kind", "party", "--title", "x", "--sla", "gold"), "party")
    one_line_error(new(zenops, root, "--kind", "refresh", "--title", "x", "--model", "nope"), "nope")
    one_line_error(zenops("tickets", "show", "99", cwd=root), "99")
    done = new(zenops, root, "--kind", "new_project", "--title", "y", "--sla", "silver").json()["ticket"][
        "id"
    ]
    assert zenops("tickets", "close", str(done), cwd=root).code == 0
    one_line_error(zenops("tickets", "approve", "99", "--by", "me", cwd=root), "99")
    before = zenops("tickets", "show", str(done), "--json", cwd=root).json()
    one_line_error(zenops("tickets", "close", str(done), "--cancel", cwd=root), "done")
    after = zenops("tickets", "show", str(done), "--json", cwd=root).json()
    assert after["status"] == before["status"] == "done" and after["updated"] == before["updated"]
    assert [t["id"] for t in zenops("tickets", "list", "--json", cwd=root).json()["tickets"]] == [done]


def test_a_ticket_no_plan_could_take_is_refused_and_one_that_became_so_says_why(
    zenops, initialized: Path
) -> None:
    root = initialized  # a workspace zenops init made: a pool of 2 GPUs
    args = ("--kind", "new_project", "--title", "GPU job", "--skill", "tabular", "--sla", "silver")
    one_line_error(new(zenops, root, *args, "--gpus", "5"), "gpus: needs 5 GPUs, the pool has 2")
    assert zenops("tickets", "list", "--json", cwd=root).json()["tickets"] == []
    fits = new(zenops, root, *args, "--gpus", "2")
    assert fits.code == 0, fits.stderr
    config = root / "zenops.yaml"
    config.write_text(config.read_text().replace("gpus: 2", "gpus: 1"))  # the pool shrinks
    planned = zenops("plan", "--json", cwd=root).json()
    (row,) = planned["unplannable"]
    assert row["ticket"] == fits.json()["ticket"]["id"] and row["reason"] == "needs 2 GPUs, the pool has 1"
    shown = zenops("tickets", "show", str(row["ticket"]), "--json", cwd=root).json()
    assert shown["plannable"] is False and shown["unplannable_reason"] == row["reason"]


def test_phases_waits_the_chart_and_the_sponsors_view(zenops, initialized: Path, tmp_path: Path) -> None:
    root = initialized
    tooling = ("--kind", "tooling_rnd", "--title", "Feature store", "--sla", "silver", "--effort", "3")
    opened = new(zenops, root, *tooling, "--skill", "batch", "--sponsor", "platform").json()
    feature_store = opened["ticket"]["id"]
    phases = (
        "--phase", "provision lead_time=10d",
        "--phase", "build effort=6 role=data_scientist skills=nlp",
        "--phase", "search effort=2 role=data_scientist gpus=2",
        "--phase", "deploy effort=2 role=mlops_engineer skills=serving level=senior",
    )  # fmt: skip
    project = new(zenops, root, "--kind", "new_project", "--title", "Complaint triage", "--sponsor", "care",
                  "--sla", "silver", "--after", str(feature_store), *phases)  # fmt: skip
    assert project.code == 0, project.stderr
    ticket = project.json()["ticket"]
    assert [p["name"] for p in ticket["phases"]] == ["provision", "build", "search", "deploy"]
    assert ticket["effort"] == 10 and ticket["gpus"] == 2 and ticket["after"] == [feature_store]

    chart = tmp_path / "plan.png"
    planned = zenops("plan", "--chart", str(chart), "--json", cwd=root)
    assert planned.code == 0, planned.stderr
    document = planned.json()
    assert document["chart"] == str(chart) and chart.read_bytes().startswith(b"\x89PNG")
    row = next(r for r in document["plan"] if r["ticket"] == ticket["id"])
    assert {"ticket", "score", "assignee", "start", "end", "sla_at_risk", "phases"} <= row.keys()
    build = row["phases"][1]
    assert build["assignee"] in ("chen", "raj") and build["start"] >= next(
        r["end"] for r in document["plan"] if r["ticket"] == feature_store
    )
    assert row["handoffs"][0]["from"] == "search" and row["handoffs"][0]["to_person"] == "ana"

    sponsors = zenops("report", "sponsors", "--sponsor", "care", "--json", cwd=root)
    assert sponsors.code == 0, sponsors.stderr
    (view,) = sponsors.json()["sponsors"]
    (item,) = view["planned"]
    assert item["ticket"] == ticket["id"] and item["queue"] == 2 and view["record"]["done"] == 0
    one_line_error(
        zenops("report", "sponsors", "--sponsor", "nobody", cwd=root),
        "sponsor: no tickets for sponsor 'nobody'",
    )
    one_line_error(zenops("plan", "--chart", str(tmp_path / "plan.pdf"), cwd=root), "--chart:", "plan.pdf")
    shown = zenops("tickets", "show", str(ticket["id"]), cwd=root)
    assert "phase search: 2 person-days, data_scientist, 2 GPUs" in shown.stdout


def test_bad_phases_and_waits_exit_2_and_store_nothing(zenops, initialized: Path) -> None:
    root = initialized
    base = ("--kind", "new_project", "--title", "x", "--sla", "silver")
    first = new(zenops, root, *base).json()["ticket"]["id"]
    assert zenops("tickets", "close", str(first), "--cancel", cwd=root).code == 0
    gated = new(zenops, root, *base[:3], "gated", "--sla", "silver", "--ethics").json()["ticket"]["id"]
    before = zenops("tickets", "list", "--json", cwd=root).json()
    review = ("--kind", "ethics_review", "--title", "review", "--sla", "silver", "--subject", str(gated))
    one_line_error(  # the gated ticket waits for its review, which would wait for it
        new(zenops, root, *review, "--after", str(gated)),
        f"after: these tickets would wait for each other: the new ticket → #{gated} → the new ticket",
    )
    for args, fragment in (
        (("--phase", "build effort=0"), "phases[0].effort: must be greater than 0 person-days, got 0"),
        (("--phase", "build effort=-2"), "phases[0].effort: must be greater than 0 person-days, got -2"),
        (
            ("--phase", "build effort=2 role=data_scientist skills=serving"),
            "phases: phase build: needs a data_scientist with skill 'serving'",
        ),
        (("--phase", "search effort=1 gpus=3"), "gpus: needs 3 GPUs in phase search, the pool has 2"),
        (("--phase", "build effort=x"), "--phase: 'effort=x': effort must be a number"),
        (("--after", "99"), "after: ticket 99: no such ticket"),
        (("--after", str(first)), f"after: ticket {first} was cancelled"),
        (("--phases-from", "gpu_project"), "phases_from: no phase template named 'gpu_project'"),
    ):
        one_line_error(new(zenops, root, *base, *args), fragment)
    assert zenops("tickets", "list", "--json", cwd=root).json() == before
    # a wait that became impossible after the ticket was stored: shown with the reason
    upstream = new(zenops, root, *base[:3], "upstream", "--sla", "silver").json()["ticket"]["id"]
    waiter = new(zenops, root, *base, "--after", str(upstream)).json()["ticket"]["id"]
    assert zenops("tickets", "close", str(upstream), "--cancel", cwd=root).code == 0
    shown = zenops("tickets", "show", str(waiter), "--json", cwd=root).json()
    reason = f"waits for ticket #{upstream}, which was cancelled"
    assert shown["plannable"] is False and shown["unplannable_reason"] == reason
