"""What a ticket waits for, and the checks that keep those waits possible.

A ticket waits for every ticket it names in ``after`` and, while it awaits an ethics
approval, for every open ``ethics_review`` naming it as its ``subject``. The waits
must form no cycle, and a ticket may not wait for one that does not exist or was
cancelled (:func:`check_dependencies`, run before a new ticket is stored). Stored
tickets whose waits became impossible since are left out of the plan with the reason
(:func:`blocked_waits`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from demand.tickets import Ticket
from zenops.kernel.errors import NotFoundError, UsageError

NEW = 0  # the key of a ticket not stored yet


def waits_for(tickets: Iterable[Ticket]) -> dict[int, list[int]]:
    """For each open ticket (by id; :data:`NEW` for one not stored), the tickets it waits for."""
    by_key = {_key(t): t for t in tickets if t.is_open}
    graph = {key: list(t.after) for key, t in by_key.items()}
    for key, review in by_key.items():
        subject = by_key.get(review.subject) if review.kind == "ethics_review" else None
        if subject is not None and subject.awaits_approval:
            graph[review.subject].append(key)  # type: ignore[index]
    return graph


def find_cycle(graph: Mapping[int, list[int]]) -> list[int] | None:
    """A cycle of waits (its tickets, the first repeated at the end), or None."""
    state: dict[int, int] = {}  # 1 on the current path, 2 done
    for root in sorted(graph):
        if state.get(root):
            continue
        path, stack = [root], [iter(graph.get(root, ()))]
        state[root] = 1
        while stack:
            following = next(stack[-1], None)
            if following is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(following) == 1:
                return [*path[path.index(following) :], following]
            elif following in graph and not state.get(following):
                state[following] = 1
                path.append(following)
                stack.append(iter(graph[following]))
    return None


def describe_cycle(cycle: list[int]) -> str:
    """``#3 → #5 → #3`` (the new ticket as ``the new ticket``)."""
    return " → ".join("the new ticket" if key == NEW else f"#{key}" for key in cycle)


def check_dependencies(ticket: Ticket, stored: Mapping[int, Ticket]) -> None:
    """Refuse a new ticket that waits for an unknown or cancelled ticket, or closes a cycle.

    ``stored``: the stored tickets by id (at least the open ones and those ``after`` names).
    """
    for ident in ticket.after:
        other = stored.get(ident)
        if other is None:
            raise NotFoundError(f"after: ticket {ident}: no such ticket")
        if other.status == "cancelled":
            raise UsageError(f"after: ticket {ident} was cancelled; nothing can wait for it")
    cycle = find_cycle(waits_for([*stored.values(), ticket]))
    if cycle is not None:
        raise UsageError(f"after: these tickets would wait for each other: {describe_cycle(cycle)}")


def blocked_waits(tickets: Iterable[Ticket]) -> dict[int, str]:
    """Open tickets that can never start because of what they wait for, with the reason.

    A wait for a ticket that does not exist or was cancelled, or a cycle of waits.
    Tickets that wait (directly or not) for such a ticket are the planner's to leave
    out; this names only the first cause.
    """
    tickets = list(tickets)
    by_id = {t.id: t for t in tickets if t.id is not None}
    reasons: dict[int, str] = {}
    for ticket in tickets:
        if not ticket.is_open or ticket.id is None:
            continue
        for ident in ticket.after:
            other = by_id.get(ident)
            if other is None:
                reasons[ticket.id] = f"waits for ticket #{ident}, which does not exist"
            elif other.status == "cancelled":
                reasons[ticket.id] = f"waits for ticket #{ident}, which was cancelled"
            if ticket.id in reasons:
                break
    graph = waits_for(tickets)
    while (cycle := find_cycle({k: v for k, v in graph.items() if k not in reasons})) is not None:
        for key in cycle[:-1]:
            reasons[key] = f"in a cycle of waits: {describe_cycle(cycle)}"
    return reasons


def _key(ticket: Ticket) -> int:
    return NEW if ticket.id is None else ticket.id
