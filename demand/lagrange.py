"""A lower bound on any plan's cost: the Lagrangian relaxation of a time-indexed model.

In a time-indexed model each job picks a staffing option and a start tick; a person
works on at most one job in each tick, the GPU pool holds at most its size. Moving
those capacity constraints into the cost with prices ``λ[person, tick] ≥ 0`` and
``λ_gpu[tick] ≥ 0`` splits the model into one small problem per ticket: pick each
phase's person and start, in phase order, paying its lateness, its undelivered value
and the prices of the ticks it uses — solved exactly by dynamic programming over the
ticks. For any prices,

    Σ_tickets (cheapest priced schedule of the ticket) − Σ λ · capacity

is at most the cost of every valid plan (a valid plan never uses more than the
capacity, so the prices it is charged are at most what the capacity is worth). What
is dropped only lowers the bound: reviews, the portfolio shortfall, the change cost,
and, of a ticket that waits for several tickets, all waits but one. The kept waits
(``after``, ethics reviews) join the tickets into a forest, each ticket below the one
it waits for, and each tree is solved whole by dynamic programming backwards in time:
a ticket's cost from each earliest start includes the cheapest costs of the tickets
below it from its end on. Subgradient steps (Polyak's, aimed at the plan's own cost)
raise the prices where the tickets crowd a person or the pool; the best bound seen is
kept. Jobs never split, which makes the bound strong on long work.

Prices are kept for the ticks up to a valid plan's end; later ticks are free, so a
ticket's cheapest schedule never needs to start later than that end, and the bound
holds for plans that end later too. The search starts from prices read off the plan:
a person's tick is worth the lateness of the late work they do after it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from demand.problem import Problem, Schedule, end_of

INFINITE = 1e18
STALL_ROUNDS = 20
FIRST_STEP = 1.0
SMALLEST_STEP = 1e-4
START_SHARE = 0.5  # of the lateness-after-each-tick estimate, as the first prices
CELLS_PER_SECOND = 2e7  # option × tick cells a round prices, per second on two busy cores
WALL_CAP_FACTOR = 3.0
MOST_ROUNDS = 400


@dataclass(frozen=True)
class DualBound:
    """The best bound the prices gave (None: no round ran), after how many rounds and seconds."""

    bound: int | None
    rounds: int
    seconds: float


class _Tables:
    """The tickets' jobs as arrays: per option and end tick, its person, start, and whether allowed.

    Tickets of one job that wait for no ticket and that no ticket waits for are stacked in
    one table (``flat``) and solved at once. The others form a forest: each ticket keeps
    one of the tickets it waits for as its parent (the other waits are dropped), and is
    solved, with the tickets below it, by dynamic programming backwards in time.
    """

    def __init__(self, problem: Problem, end: int) -> None:
        self.problem = problem
        self.people = len(problem.team)
        self.ticks = max(1, end)
        self.chains = {ident: list(chain) for ident, chain in problem.chains.items()}
        self.parent = {ident: self._parent(chain) for ident, chain in self.chains.items()}
        self.children: dict[int, list[int]] = {ident: [] for ident in self.chains}
        for ident, parent in self.parent.items():
            if parent is not None:
                self.children[parent].append(ident)
        self.span = self.ticks + max(self._path(ident) for ident in self.chains) + 1
        self.firsts = {i: c.index(self.first_work(c)) for i, c in self.chains.items()}
        self.leads = {  # when the lead times before the first phase of work end (from the creation)
            i: min(self.span - 1, sum(problem.jobs[j].options[0].duration for j in c[: self.firsts[i]]))
            for i, c in self.chains.items()
        }
        simple = [
            i
            for i, c in self.chains.items()
            if len(c) == 1 and self.parent[i] is None and not self.children[i]
        ]
        self.trees = self._post_order([i for i in self.chains if i not in simple and self.parent[i] is None])
        self.rows = {j: self._rows([j], ahead=True) for i in self.trees for j in self.chains[i]}
        self.single = np.array([self.chains[i][0] for i in simple], dtype=np.int64)
        longest_single = max(
            (max(o.duration for o in problem.jobs[i].options) for i in self.single), default=0
        )
        self.flat_span = min(self.span, self.ticks + longest_single + 1)  # no later end can be cheaper
        self.flat = self._rows(list(self.single), span=self.flat_span)
        self.flat_first = np.cumsum([0] + [len(problem.jobs[i].options) for i in self.single])[:-1]
        self.capacity = np.zeros((self.people, self.ticks))
        for index, free_from in enumerate(problem.available):
            self.capacity[index, min(free_from, self.ticks) :] = 1.0

    def _parent(self, chain: list[int]) -> int | None:
        """The first ticket whose end the ticket's first phase of work waits for, if any."""
        gated = self.problem.jobs[self.first_work(chain)]
        others = sorted(
            self.problem.jobs[k].ticket.id
            for k in gated.after
            if self.problem.jobs[k].ticket is not gated.ticket
        )
        return others[0] if others else None

    def first_work(self, chain: list[int]) -> int:
        """The ticket's first job of work (the lead times before it run from its creation)."""
        return next((j for j in chain if not self.problem.jobs[j].is_wait), chain[0])

    def _path(self, ident: int) -> int:
        """The longest chain of this ticket and the tickets below it, each phase at its slowest."""
        own = sum(max(o.duration for o in self.problem.jobs[j].options) for j in self.chains[ident])
        return own + max((self._path(c) for c in self.children[ident]), default=0)

    def _post_order(self, roots: list[int]) -> list[int]:
        """Every ticket of the forest, each after the tickets below it."""
        out: list[int] = []
        stack = [(root, False) for root in sorted(roots)]
        while stack:
            ident, expanded = stack.pop()
            if expanded:
                out.append(ident)
                continue
            stack.append((ident, True))
            stack += [(child, False) for child in sorted(self.children[ident])]
        return out

    def _rows(self, jobs: list[int], ahead: bool = False, span: int | None = None) -> tuple[np.ndarray, ...]:
        """Per option of ``jobs``: where its end and start ticks sit in the flattened prices
        (one row of ``span + 1`` per person), its duration, the rows holding GPUs, and which
        end ticks it may not reach (it would start before its person is available)."""
        options = [(i, o) for i in jobs for o in self.problem.jobs[i].options]
        person = np.array([self.people if o.person is None else o.person for _, o in options], dtype=np.int64)
        duration = np.array([o.duration for _, o in options], dtype=np.int64)
        gpus = np.array([self.problem.jobs[i].gpus for i, _ in options], dtype=float)
        ready = np.array([self.problem.ready(o) for _, o in options], dtype=np.int64)
        ends = np.arange(span or self.span)[None, :]
        start = np.clip(ends - duration[:, None], 0, self.span - 1)
        barred = ends - duration[:, None] < ready[:, None]
        row = (person * (self.span + 1))[:, None]
        holding = np.flatnonzero(gpus)
        at_end, at_start = (row + ends).astype(np.int32), (row + start).astype(np.int32)
        finish = ends + duration[:, None]  # for a start tick, its end tick (past the span: never)
        beyond = finish >= self.span if ahead else None
        finish = np.minimum(finish, self.span - 1).astype(np.int32) if ahead else None
        return at_end, at_start, duration, holding, gpus[holding], start[holding], barred, finish, beyond


def _prefix(prices: np.ndarray, span: int) -> np.ndarray:
    """Cumulative prices over ``[0, span]`` (free after the priced ticks), one row per person."""
    rows, ticks = prices.shape
    out = np.zeros((rows, span + 1))
    out[:, 1 : ticks + 1] = np.cumsum(prices, axis=1)
    out[:, ticks + 1 :] = out[:, ticks : ticks + 1]
    return out


def _charge(problem: Problem, finals: np.ndarray, span: int) -> np.ndarray:
    """Per final job and end tick: its lateness and undelivered value."""
    ends = np.arange(span)[None, :]
    late = np.array([problem.jobs[i].late_coef for i in finals], dtype=float)[:, None]
    due = np.array([problem.jobs[i].due for i in finals], dtype=float)[:, None]
    miss = np.array([problem.jobs[i].miss_coef for i in finals], dtype=float)[:, None]
    return late * np.maximum(0, ends - due) + miss * (ends > problem.horizon)


def _priced(rows: tuple, people: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """Per option and end tick: the prices of the ticks it uses (never: where it may not end)."""
    at_end, at_start, _, holding, gpus, gpu_start, barred = rows[:7]
    flat = people.ravel()
    cost = flat[at_end]
    cost -= flat[at_start]
    if len(holding):
        span = at_end.shape[1]
        cost[holding] += gpus[:, None] * (pool[:span][None, :] - pool[gpu_start])
    cost[barred] = INFINITE
    return cost


def _solve(tables: _Tables, prices: np.ndarray, gpu_prices: np.ndarray) -> tuple[float, list]:
    """Every ticket's cheapest priced schedule: the total, and the (job, option, start) chosen."""
    people = _prefix(np.vstack([prices, np.zeros((1, tables.ticks))]), tables.span)
    pool = _prefix(gpu_prices[None, :], tables.span)[0]
    total, chosen = 0.0, []
    if len(tables.single):
        cost = _priced(tables.flat, people, pool)
        best = np.minimum.reduceat(cost, tables.flat_first, axis=0)
        best += _charge(tables.problem, tables.single, tables.flat_span)
        ticks = np.argmin(best, axis=1)
        total += float(best[np.arange(len(ticks)), ticks].sum())
        counts = np.diff([*tables.flat_first, len(cost)])
        at = cost[np.arange(len(cost)), np.repeat(ticks, counts)]  # each option, at its ticket's tick
        for first, count, index, tick in zip(tables.flat_first, counts, tables.single, ticks, strict=True):
            option = int(np.argmin(at[first : first + count]))
            chosen.append((int(index), option, int(tick) - int(tables.flat[2][first + option])))
    solved: dict[int, np.ndarray] = {}
    costs: dict[int, np.ndarray] = {}  # per job of the forest: per option and end tick, what it leads to
    for ident in tables.trees:  # children first
        solved[ident] = _backwards(tables, ident, people, pool, solved, costs)
        if tables.parent[ident] is None:
            total += float(solved[ident][tables.leads[ident]])
            chosen += _pick(tables, ident, tables.leads[ident], costs)
    return total, chosen


def _tail(tables: _Tables, ident: int, solved: dict[int, np.ndarray]) -> np.ndarray:
    """Per end tick of the ticket: its lateness and undelivered value, and the tickets below it."""
    after = _charge(tables.problem, np.array(tables.chains[ident][-1:]), tables.span)[0]
    ticks = np.arange(tables.span)
    for child in tables.children[ident]:
        after = after + solved[child][np.maximum(ticks, tables.leads[child])]
    return after


def _backwards(tables: _Tables, ident: int, people, pool, solved, costs) -> np.ndarray:
    """The cheapest priced cost of a ticket and the tickets below it, per earliest start of its work.

    Backwards from its last phase: a phase ending at a tick costs its prices there plus the
    cheapest rest from that tick on; the cheapest end at or after each tick, per option,
    gives the rest from each earliest start of the phase.
    """
    chain = tables.chains[ident]
    following = _tail(tables, ident, solved)
    for index in reversed(chain[tables.firsts[ident] :]):
        rows = tables.rows[index]
        cost = costs[index] = _priced(rows, people, pool) + following[None, :]
        cheapest = np.minimum.accumulate(cost[:, ::-1], axis=1)[:, ::-1]
        following = np.take_along_axis(cheapest, rows[7], axis=1)
        following[rows[8]] = INFINITE
        following = following.min(axis=0)
    return following


def _pick(tables: _Tables, ident: int, earliest: int, costs: dict[int, np.ndarray]) -> list:
    """The schedule the backward values chose: each phase's option and start, then the tickets below."""
    chain, first = tables.chains[ident], tables.firsts[ident]
    picks, begin = [], 0
    for index in chain[:first]:  # lead times, back to back from the creation
        picks.append((index, 0, begin))
        begin += tables.problem.jobs[index].options[0].duration
    tick = earliest
    for index in chain[first:]:
        cost, duration = costs[index], tables.rows[index][2]
        reach = [
            cost[o, tick + d :].min() if tick + d < tables.span else INFINITE for o, d in enumerate(duration)
        ]
        option = int(np.argmin(reach))
        end = tick + int(duration[option]) + int(np.argmin(cost[option, tick + int(duration[option]) :]))
        picks.append((index, option, end - int(duration[option])))
        tick = end
    for child in tables.children[ident]:
        picks += _pick(tables, child, max(tick, tables.leads[child]), costs)
    return picks


def _use(tables: _Tables, chosen: list) -> tuple[np.ndarray, np.ndarray]:
    """Ticks each person, and the GPU pool, are used by the chosen schedules (priced ticks only)."""
    problem, ticks = tables.problem, tables.ticks
    people = np.zeros((tables.people + 1, ticks + 1))
    gpus = np.zeros(ticks + 1)
    for index, option, start in chosen:
        job = problem.jobs[index]
        picked = job.options[option]
        begin, end = min(start, ticks), min(start + picked.duration, ticks)
        row = tables.people if picked.person is None else picked.person
        people[row, begin] += 1
        people[row, end] -= 1
        if job.gpus:
            gpus[begin] += job.gpus
            gpus[end] -= job.gpus
    return np.cumsum(people, axis=1)[: tables.people, :ticks], np.cumsum(gpus)[:ticks]


def first_prices(tables: _Tables, schedule: Schedule | None) -> np.ndarray:
    """Prices to start from: a person's tick is worth the lateness of the late work they do after it."""
    prices = np.zeros((tables.people, tables.ticks + 1))
    if not schedule:
        return prices[:, :-1]
    problem = tables.problem
    for chain in problem.chains.values():
        final = problem.jobs[chain[-1]]
        if end_of(final, schedule[final.index]) <= final.due:
            continue
        for index in chain:
            option = problem.jobs[index].options[schedule[index].option]
            if option.person is not None:
                prices[option.person, min(schedule[index].start, tables.ticks)] += final.late_coef
    return START_SHARE * np.cumsum(prices[:, ::-1], axis=1)[:, ::-1][:, :-1] * tables.capacity


def rounds_for(problem: Problem, end: int, seconds: float) -> int:
    """How many rounds fit in ``seconds``, by the cells a round prices (reproducible: no clock)."""
    tables_cells = sum(len(job.options) for job in problem.jobs) * (max(1, end) + 1)
    return max(1, min(MOST_ROUNDS, int(seconds * CELLS_PER_SECOND / max(1, tables_cells))))


def lagrangian_bound(
    problem: Problem,
    upper: int,
    end: int,
    time_limit_s: float,
    rounds: int = 400,
    schedule: Schedule | None = None,
) -> DualBound:
    """The best Lagrangian bound on the cost within ``rounds`` subgradient steps or ``time_limit_s``.

    ``upper``: a valid plan's cost (the steps aim at it); ``end``: where prices stop (that
    plan's last tick); ``schedule``: that plan, for the first prices. Reproducible: the
    rounds, not the clock, end the search unless the clock runs out first.
    """
    began = time.perf_counter()
    if not problem.jobs:
        return DualBound(0, 0, 0.0)
    tables = _Tables(problem, end)
    prices, gpu_prices = first_prices(tables, schedule), np.zeros(tables.ticks)
    best, step, stalled, done = -math.inf, FIRST_STEP, 0, 0
    while done < rounds and time.perf_counter() - began < time_limit_s and step >= SMALLEST_STEP:
        total, chosen = _solve(tables, prices, gpu_prices)
        value = total - float((prices * tables.capacity).sum()) - problem.gpus * float(gpu_prices.sum())
        done += 1
        if value > best + 1e-9:
            best, stalled = value, 0
        elif (stalled := stalled + 1) >= STALL_ROUNDS:
            step, stalled = step / 2, 0
        used, gpus_used = _use(tables, chosen)
        slope, gpu_slope = used - tables.capacity, gpus_used - problem.gpus
        norm = float((slope**2).sum() + (gpu_slope**2).sum())
        if norm == 0 or best >= upper:
            break  # the priced schedules fit the capacity, or meet the plan: no plan is cheaper
        move = step * (upper - value) / norm
        prices = np.maximum(0.0, prices + move * slope)
        gpu_prices = np.maximum(0.0, gpu_prices + move * gpu_slope)
    bound = None if best == -math.inf else max(0, math.floor(best - 1e-6 * abs(best)))
    return DualBound(bound, done, time.perf_counter() - began)
