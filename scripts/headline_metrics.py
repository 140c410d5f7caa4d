"""The headline figures of a benchmark's JSON document, small enough for ``dvc metrics show``.

    python scripts/headline_metrics.py planner eval/planner.json > eval/metrics/planner.json
    python scripts/headline_metrics.py policy eval/policy.json > eval/metrics/policy.json

The full documents (``benchmarks/planner.py --json``, ``benchmarks/policy.py
--json``) stay beside them; these keep what a change is judged by:

- ``planner``: per backlog size, the planner's cost, SLA-weighted lateness and
  value delivered, the best baseline's cost, the planner's saving against it, the
  gap to the proven bound, the planner's seconds, and the share of its assignments a
  re-plan after one new ticket moves;
- ``policy``: how many of the benchmark's goals were met, each goal's figure (by
  the goal's own words) and the benchmark's seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def planner(document: dict[str, Any]) -> dict[str, Any]:
    """Per size: the planner against the best of the baselines."""
    out: dict[str, Any] = {}
    for size in document["sizes"]:
        results = dict(size["results"])
        mine = results.pop("planner")
        best = min(results.values(), key=lambda row: row["cost"])
        out[f"{size['tickets']} tickets"] = {
            "cost": mine["cost"],
            "lateness": mine["lateness"],
            "value": mine["value"],
            "best_baseline_cost": best["cost"],
            "saving_vs_best_baseline": round(1 - mine["cost"] / best["cost"], 4) if best["cost"] else 0.0,
            "gap_to_bound": size["gap"],
            "seconds": size["planner_seconds"],
        }
        again = size.get("stability")
        if again:
            share = again["moved"] / again["assignments"] if again["assignments"] else 0.0
            out[f"{size['tickets']} tickets"]["replan_moved_share"] = round(share, 4)
    return out


def policy(document: dict[str, Any]) -> dict[str, Any]:
    """The goals met, each goal's figure, and the time taken."""
    goals = document["goals"]
    return {
        "goals_met": sum(bool(goal["met"]) for goal in goals),
        "goals": len(goals),
        "figures": {goal["goal"]: goal["figure"] for goal in goals},
        "seconds": document["seconds"],
    }


HEADLINES = {"planner": planner, "policy": policy}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmark", choices=sorted(HEADLINES))
    parser.add_argument("document", type=Path, help="the benchmark's --json output")
    args = parser.parse_args(argv)
    document = json.loads(args.document.read_text(encoding="utf-8"))
    print(json.dumps(HEADLINES[args.benchmark](document), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
