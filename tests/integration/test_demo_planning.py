"""The demo's planning step on the real stack: the phased project's forecast, sponsor's view, chart."""

from __future__ import annotations

from rich.console import Console

from zenops.app.demo.planning import PHASED_PROJECT
from zenops.app.demo.story import Story, plan_backlog
from zenops.workspace import Workspace


def test_the_demo_plans_its_phased_project_and_draws_the_plan(prefect_api, workspace: Workspace) -> None:
    console = Console(record=True, width=200)
    plans = plan_backlog(workspace, Story(console), console, "2024-07-30")
    printed = console.export_text()

    planned = plans["normal"]
    (row,) = [r for r in planned["plan"] if r["title"] == PHASED_PROJECT["title"]]
    names = [p["name"] for p in row["phases"]]
    assert names == ["provision", "build", "search", "deploy"]
    provision, build, search, deploy = row["phases"]
    assert provision["assignee"] is None and provision["start"] <= build["start"]
    assert build["start"] >= provision["end"] and search["gpus"] == 2 and deploy["start"] >= search["end"]
    feature_store = next(r for r in planned["plan"] if r["title"].startswith("Shared feature store"))
    assert build["start"] >= feature_store["end"]  # the project waits for the feature store
    assert deploy["assignee"] == "ana"  # the one senior MLOps engineer who serves models

    assert f"Forecast of the phased project #{row['ticket']}" in printed
    assert f"hand-off search ({search['assignee']}) → deploy (ana)" in printed
    assert "customer-care" in printed and f"#{row['ticket']} {row['title']}:" in printed
    chart = workspace.root / "plan.png"
    assert planned["chart"] == str(chart) and chart.read_bytes().startswith(b"\x89PNG")
    assert f"the plan as a picture: {chart}" in printed
