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


def test_a_ticket_no_one_can_do_is_unplannable_with_the_reason(zenops, initialized: Path) -> None:
    root = initialized  # a workspace zenops init made
    config = (
        (root / "zenops.yaml").read_text().replace("skills: [tabular, forecasting, nlp]", "skills: [tabular]")
    )
    config = config.replace("skills: [tabular, nlp]", "skills: [tabular]")
    (root / "zenops.yaml").write_text(
        config.replace("[batch, serving, tabular]", "[batch, serving, tabular, gpu]")
    )
    lonely = new(
        zenops,
        root,
        "--kind",
        "new_project",
        "--title",
        "GPU job",
        "--skill",
        "gpu",
        "--gpus",
        "5",
        "--sla",
        "silver",
    )
    assert lonely.code == 0, lonely.stderr
    planned = zenops("plan", "--json", cwd=root).json()
    (row,) = planned["unplannable"]
    assert row["ticket"] == lonely.json()["ticket"]["id"] and "GPU" in row["reason"]
