"""Results as a person reads them, shared by the command line and the demo.

Rich renderings only: each takes the JSON-ready dict a command prints with
``--json`` and draws it on a console.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["render_plan"]


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
    for row in data["unplannable"]:
        console.print(f"  [yellow]unplannable[/] #{row['ticket']} {row['title']}: {row['reason']}")
    for row in data["pushed_back"]:
        console.print(f"  [dim]pushed back[/] #{row['ticket']} {row['title']}: {row['reason']}")
    o = data["objective"]
    console.print(
        f"  SLA-weighted lateness {o['sla_weighted_lateness']:.1f}, value delivered "
        f"{o['value_delivered']:.1f} of {o['value_total']:.1f}, solver {o['solver']} ({o['status']})"
    )
