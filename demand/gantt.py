"""The plan as text for people: a Mermaid gantt chart and a markdown table.

Both are pure functions of a :class:`~demand.planner.Plan`. Mermaid renders where
markdown viewers support it (GitHub, many wikis); the table reads everywhere,
so :func:`plan_markdown` gives both.
"""

from __future__ import annotations

import re
from datetime import datetime

from demand.planner import Plan

_UNSAFE = re.compile(r"[:;#%\n\r]+")


def _label(text: str) -> str:
    """Text Mermaid accepts inside a task or section name."""
    return " ".join(_UNSAFE.sub(" ", text).split()) or "-"


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def gantt_mermaid(plan: Plan, title: str = "zenops plan") -> str:
    """A Mermaid ``gantt`` chart: one section per person, SLA-at-risk tickets marked ``crit``."""
    lines = [
        "gantt",
        f"    title {_label(title)}",
        "    dateFormat YYYY-MM-DD HH:mm",
        "    axisFormat %m-%d",
    ]
    people = sorted(
        {a.assignee for a in plan.assignments} | {a.reviewer for a in plan.assignments if a.reviewer}
    )
    for person in people:
        lines.append(f"    section {_label(person)}")
        for a in plan.assignments:
            if a.assignee == person:
                tags = "crit, " if a.sla_at_risk else ""
                lines.append(
                    f"    T{a.ticket} {_label(a.title)} :{tags}t{a.ticket}, {_time(a.start)}, {_time(a.end)}"
                )
            elif a.reviewer == person and a.review_start is not None:
                lines.append(
                    f"    review T{a.ticket} :active, r{a.ticket}, {_time(a.review_start)}, {_time(a.end)}"
                )
    return "\n".join(lines) + "\n"


def plan_markdown(plan: Plan, title: str = "zenops plan") -> str:
    """The plan as markdown: figures, a table of assignments, what was left out, and the gantt chart."""
    o = plan.objective
    mode = " (crisis mode: operational work only)" if plan.crisis else ""
    lines = [
        f"# {title}{mode}",
        "",
        f"{len(plan.assignments)} tickets planned from {_time(plan.now)} UTC; "
        f"{len(plan.at_risk)} with SLA at risk; SLA-weighted lateness {o.lateness:.1f}; "
        f"value delivered within the horizon {o.value_delivered:g} of {o.value_total:g} "
        f"({o.solver}, {o.status}).",
        "",
    ]
    if plan.assignments:
        lines += [
            "| # | ticket | kind | assignee | reviewer | start | end | due | SLA | why |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for i, a in enumerate(plan.assignments, 1):
            risk = "**at risk**" if a.sla_at_risk else "ok"
            lines.append(
                f"| {i} | {a.ticket} {_cell(a.title)} | {a.kind} | {a.assignee} | {a.reviewer or ''} | "
                f"{_time(a.start)} | {_time(a.end)} | {_time(a.due)} | {risk} | {_cell(a.reason)} |"
            )
        lines.append("")
    for heading, items in (("Not planned", plan.unplannable), ("Pushed back", plan.pushed_back)):
        if items:
            lines += [f"## {heading}", ""]
            lines += [f"- {u.ticket} {_cell(u.title)} ({u.kind}): {_cell(u.reason)}" for u in items]
            lines.append("")
    if plan.assignments:
        lines += ["## Timeline", "", "```mermaid", gantt_mermaid(plan, title).rstrip(), "```", ""]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")
