"""What each sponsor sees: their items in the plan, what comes before them and why, and
the work delivered for them with how its SLAs were kept.

Pure: :func:`sponsor_views` reads a :class:`~demand.planner.Plan`, the tickets and when
each done ticket was closed (the ticket history's ``closed`` event).

- **Planned**: each of the sponsor's planned tickets with its dates, who works on it,
  its phases, its position in the queue (all planned tickets by priority score, highest
  first) and the higher-scored tickets ahead of it that share its people — those are
  what it waits for — each with its score's explanation.
- **Waiting**: the sponsor's tickets the plan leaves out or pushes back, with why.
- **Delivered**: the sponsor's tickets closed as done within the window, their value and
  whether each met its SLA, or by how many days it missed it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from demand.planner import Assignment, Plan
from demand.tickets import Ticket
from zenops.kernel.errors import NotFoundError

AHEAD_SHOWN = 5
NO_SPONSOR = "(no sponsor)"


@dataclass(frozen=True)
class SponsorView:
    """One sponsor's planned items, items left out, and delivered work with its SLA record."""

    sponsor: str | None
    planned: tuple[dict[str, Any], ...]
    waiting: tuple[dict[str, Any], ...]
    delivered: tuple[dict[str, Any], ...]

    @property
    def record(self) -> dict[str, Any]:
        """Tickets done in the window, their value, SLAs met and missed, days late."""
        late = [d["days_late"] for d in self.delivered if not d["sla_met"]]
        return {
            "done": len(self.delivered),
            "value": sum(d["value"] for d in self.delivered),
            "sla_met": len(self.delivered) - len(late),
            "sla_missed": len(late),
            "days_late_total": round(sum(late), 2),
            "days_late_worst": round(max(late, default=0.0), 2),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "sponsor": self.sponsor,
            "planned": list(self.planned),
            "waiting": list(self.waiting),
            "delivered": list(self.delivered),
            "record": self.record,
        }


def sponsor_views(
    plan: Plan,
    tickets: Iterable[Ticket],
    closed_at: Mapping[int, datetime],
    window_days: float,
    sponsor: str | None = None,
) -> list[SponsorView]:
    """Every sponsor's view (or only ``sponsor``'s), sponsors by name, no sponsor last.

    ``closed_at``: when each done ticket was closed. An unknown ``sponsor`` is a
    :class:`NotFoundError` naming the sponsors there are.
    """
    tickets = list(tickets)
    queue = sorted(plan.assignments, key=lambda a: (-a.score, a.ticket))
    since = plan.now - timedelta(days=window_days)
    names = sorted({t.sponsor for t in tickets if t.sponsor}, key=str)
    if sponsor is not None and sponsor not in names:
        raise NotFoundError(
            f"sponsor: no tickets for sponsor '{sponsor}' (sponsors: {', '.join(names) or 'none'})"
        )
    chosen: list[str | None] = [sponsor] if sponsor is not None else [*names, None]
    views = []
    for name in chosen:
        planned = tuple(_planned(a, queue) for a in queue if a.sponsor == name)
        waiting = tuple(
            {**u.to_dict(), "status": "pushed back" if u in plan.pushed_back else "unplannable"}
            for u in (*plan.unplannable, *plan.pushed_back)
            if u.sponsor == name
        )
        delivered = tuple(
            _delivered(t, closed_at.get(t.id, t.updated))  # type: ignore[arg-type]
            for t in tickets
            if t.sponsor == name and t.status == "done" and closed_at.get(t.id, t.updated) >= since  # type: ignore[arg-type]
        )
        if planned or waiting or delivered or (sponsor is not None and name == sponsor):
            views.append(SponsorView(name, planned, waiting, delivered))
    return views


def _planned(item: Assignment, queue: list[Assignment]) -> dict[str, Any]:
    position = queue.index(item)
    people = set(item.people)
    ahead = [a for a in queue[:position] if people & set(a.people) and a.start < item.end]
    return {
        "ticket": item.ticket,
        "title": item.title,
        "kind": item.kind,
        "position": position + 1,
        "queue": len(queue),
        "score": round(item.score, 3),
        "start": item.start.isoformat(),
        "end": item.end.isoformat(),
        "due": item.due.isoformat(),
        "sla_at_risk": item.sla_at_risk,
        "people": list(item.people),
        "phases": [
            {"name": p.name, "assignee": p.assignee, "start": p.start.isoformat(), "end": p.end.isoformat()}
            for p in item.phases
        ],
        "ahead": position,
        "ahead_sharing_people": len(ahead),
        "ahead_shown": [
            {
                "ticket": a.ticket,
                "title": a.title,
                "sponsor": a.sponsor,
                "score": round(a.score, 3),
                "people": sorted(people & set(a.people)),
                "why": a.explain,
            }
            for a in ahead[:AHEAD_SHOWN]
        ],
        "reason": item.reason,
    }


def _delivered(ticket: Ticket, closed: datetime) -> dict[str, Any]:
    late = (closed - ticket.due).total_seconds() / 86400
    return {
        "ticket": ticket.id,
        "title": ticket.title,
        "kind": ticket.kind,
        "value": ticket.value,
        "closed": closed.isoformat(),
        "due": ticket.due.isoformat(),
        "sla_met": late <= 0,
        "days_late": round(max(0.0, late), 2),
        "outcome": ticket.outcome,
    }


def sponsors_markdown(views: Iterable[SponsorView], window_days: float) -> str:
    """The sponsors' views as markdown, for the plan flow's artifact."""
    lines = ["# Sponsors: planned work and delivered work", ""]
    for view in views:
        record = view.record
        lines += [
            f"## {view.sponsor or NO_SPONSOR}",
            "",
            f"Last {window_days:g} days: {record['done']} tickets done, value {record['value']}, "
            f"SLA met {record['sla_met']}, missed {record['sla_missed']} "
            f"({record['days_late_total']:g} days late in all).",
            "",
        ]
        if view.planned:
            lines += [
                "| ticket | position | who | start | end | due | SLA | ahead of it (sharing its people) |"
            ]
            lines += ["|---|---|---|---|---|---|---|---|"]
            for item in view.planned:
                ahead = ", ".join(f"#{a['ticket']} ({a['score']:.2f})" for a in item["ahead_shown"]) or "—"
                when = f"{item['start'][:10]} | {item['end'][:10]} | {item['due'][:10]}"
                lines.append(
                    f"| #{item['ticket']} {_cell(item['title'])} | {item['position']} of {item['queue']} | "
                    f"{', '.join(item['people'])} | {when} | "
                    f"{'**at risk**' if item['sla_at_risk'] else 'ok'} | {ahead} |"
                )
            lines.append("")
        for item in view.waiting:
            lines.append(
                f"- #{item['ticket']} {_cell(item['title'])}: {item['status']}, {_cell(item['reason'])}"
            )
        for item in view.delivered:
            kept = "SLA met" if item["sla_met"] else f"SLA missed by {item['days_late']:g}d"
            lines.append(f"- done #{item['ticket']} {_cell(item['title'])} on {item['closed'][:10]}: {kept}")
        lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return str(text).replace("|", "/").replace("\n", " ")
