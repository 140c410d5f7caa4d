"""Results as a person reads them, shared by the command line and the demo.

Rich renderings only: each takes the JSON-ready dict a command prints with
``--json`` and draws it on a console.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["render_plan", "render_sponsors"]


def render_plan(data: dict[str, Any], console: Console) -> None:
    """The plan for a person: who does what, when, and which SLA is at risk."""
    table = Table(title="plan (crisis mode: operational work only)" if data["crisis"] else "plan")
    for column in ("ticket", "score", "assignee", "reviewer", "start", "end", "due", "SLA", "title"):
        table.add_column(column)
    for row in data["plan"]:
        table.add_row(
            f"#{row['ticket']}",
            f"{row['score']:.2f}",
            row["assignee"],
            row["reviewer"] or "—",
            row["start"][:16].replace("T", " "),
            row["end"][:16].replace("T", " "),
            row["due"][:10],
            "[bold red]at risk[/]" if row["sla_at_risk"] else "[green]ok[/]",
            row["title"],
        )
    console.print(table)
    for row in data["plan"]:
        if row.get("phases"):
            steps = "; ".join(
                f"{p['name']} {p['assignee'] or '(lead time)'} {_day(p['start'])}→{_day(p['end'])}"
                + (" [red]late[/]" if p["late"] else "")
                for p in row["phases"]
            )
            console.print(f"  #{row['ticket']} phases: {steps}")
        for handoff in row.get("handoffs", ()):
            if handoff["at_risk"]:
                console.print(
                    f"  #{row['ticket']} [bold red]hand-off at risk[/] {handoff['from']} → {handoff['to']}: "
                    f"{handoff['reason']}"
                )
    for row in data["unplannable"]:
        console.print(f"  [yellow]unplannable[/] #{row['ticket']} {row['title']}: {row['reason']}")
    for row in data["pushed_back"]:
        console.print(f"  [dim]pushed back[/] #{row['ticket']} {row['title']}: {row['reason']}")
    o = data["objective"]
    console.print(
        f"  SLA-weighted lateness {o['sla_weighted_lateness']:.1f}, value delivered "
        f"{o['value_delivered']:.1f} of {o['value_total']:.1f}, solver {o['solver']} ({o['status']})"
    )
    if o.get("bound") is not None:
        console.print(
            f"  cost {o['cost']:.1f}, proven bound {o['bound']:.1f} ({o['bound_source']}), gap {o['gap']:.1%}"
        )
    if o.get("anchored"):
        console.print(f"  {o['moved']} of {o['anchored']} assignments of the last plan moved")


def render_sponsors(data: dict[str, Any], console: Console) -> None:
    """Each sponsor's planned items (position, who, why others come first) and delivered work."""
    for view in data["sponsors"]:
        record = view["record"]
        console.print(
            f"[bold]{view['sponsor'] or '(no sponsor)'}[/]: last {data['window_days']:g} days "
            f"{record['done']} done (value {record['value']}), SLA met {record['sla_met']}, "
            f"missed {record['sla_missed']} ({record['days_late_total']:g} days late in all)"
        )
        for item in view["planned"]:
            risk = "[bold red]SLA at risk[/]" if item["sla_at_risk"] else "[green]on time[/]"
            console.print(
                f"  #{item['ticket']} {item['title']}: {item['position']} of {item['queue']} in the queue, "
                f"{', '.join(item['people'])}, {_day(item['start'])} → {_day(item['end'])} "
                f"(due {_day(item['due'])}), {risk}"
            )
            for ahead in item["ahead_shown"]:
                console.print(
                    f"      after #{ahead['ticket']} {ahead['title']} ({ahead['sponsor'] or 'no sponsor'}, "
                    f"shares {', '.join(ahead['people'])}): {ahead['why']}"
                )
        for item in view["waiting"]:
            console.print(
                f"  [yellow]{item['status']}[/] #{item['ticket']} {item['title']}: {item['reason']}"
            )
        for item in view["delivered"]:
            kept = "SLA met" if item["sla_met"] else f"SLA missed by {item['days_late']:g}d"
            console.print(f"  done #{item['ticket']} {item['title']} on {_day(item['closed'])}: {kept}")


def _day(moment: str) -> str:
    return moment[:16].replace("T", " ")
