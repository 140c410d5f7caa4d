"""Benchmark of the drift policy on a fitted model: false tickets, detection delay, the estimate.

Seeded. Fits four logistic-regression champions on a known true relation
(``benchmarks/policy_world.py``) and replays seeded streams of batches through
zenops' own path — :class:`drift.stattests.ScipyDriftEngine`,
:func:`drift.assess.assess` and :func:`drift.policy.decide` — under each way the
performance can be known:

- ``labels lag 1`` / ``labels lag 3``: a batch's measured performance uses the labels
  of the batch that arrived 1 (3) batches earlier, beside the label-free estimate;
- ``estimate only``: no labels ever, the estimate alone;
- ``no reading``: neither (drift alone).

It prints, for the default policy and for drift-only escalation
(``performance_first: false, min_effect: 0``, the behaviour before):

- the false-ticket rate (refresh/rebuild/data_quality) over ``--cycles`` no-drift
  batches of 500, 5,000 and 50,000 rows, and over batches of a harmless shift;
- the detection delay (batches from the first changed batch to a refresh/rebuild,
  the first changed batch counting 1) of a harmful covariate shift and of concept
  drift, ``--trials`` trials each, 3 batches before the change and 6 after;
- the estimate's mean absolute error against the realized ROC AUC and the share of
  batches where the realized value lies within the estimate's own band;
- Evidently's default ``DataDriftPreset`` dataset-drift flag (drifted-column share
  ≥ 0.5, the preset's own test) on a seeded subset of the same batches (``--evidently``
  batches per group);
- the effect-floor sweep that chose the default ``min_effect``: false tickets and
  flags on no-drift and on negligible shifts from 500 to 100,000 rows, and the
  harmful shift's detection, with drift alone deciding.

    python benchmarks/policy.py [--seed 11] [--cycles 200] [--trials 8] [--evidently 8] [--json]
    python benchmarks/monitor_cycle.py --only policy [--json]      # the same
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from policy_report import report  # noqa: E402
from policy_world import CATEGORICAL, NUMERICAL, Batch, Truth, World, fit_world, stream  # noqa: E402

from drift.assess import assess  # noqa: E402
from drift.measurement import sample_reference
from drift.policy import DATA_QUALITY, REBUILD, REFRESH, SEVERITY, WARN  # noqa: E402
from zenops.kernel.config import DriftPolicy  # noqa: E402

SEED = 11
WORLDS, BEFORE, AFTER, WITHIN = 4, 3, 6, 3
SIZES, FLOOR_SIZES = (500, 5_000, 50_000), (500, 5_000, 50_000, 100_000)
SHIFT_ROWS = 5_000
FLOORS = (0.0, 0.02, 0.05, 0.1)
MODES = {
    "labels lag 1": (1, True),
    "labels lag 3": (3, True),
    "estimate only": (None, True),
    "no reading": (None, False),
}
POLICIES = {
    "default": DriftPolicy(),
    "drift only (before)": DriftPolicy(performance_first=False, min_effect=0.0),
}
TICKETS = (REFRESH, REBUILD, DATA_QUALITY)
Stream = list[Batch]


def replay(world: World, batches: Stream, mode: str, policy: DriftPolicy) -> list[str]:
    """The verdicts of one stream, in order, as the monitor would chain them."""
    lag, with_estimate = MODES[mode]
    spec = world.spec.model_copy(update={"drift": policy})
    statuses, streak = [], 0
    for t, batch in enumerate(batches):
        labels = batches[t - lag].labels if lag is not None and t >= lag else None
        measurement = replace(
            batch.measurement, performance=labels, labelled_rows=labels.rows if labels else 0
        )
        verdict = assess(
            measurement,
            spec,
            baseline=world.baseline,
            estimate=batch.estimate if with_estimate else None,
            previous_drift_cycles=streak,
        )
        streak = verdict.consecutive_drift
        statuses.append(verdict.status)
    return statuses


def ticket_rate(streams: list[tuple[World, Stream]], mode: str, policy: DriftPolicy, changed: bool) -> dict:
    """Tickets over the batches that carry the change (``changed``) or over all of them."""
    tickets = cycles = 0
    for world, batches in streams:
        for batch, status in zip(batches, replay(world, batches, mode, policy), strict=True):
            if batch.changed == changed:
                cycles += 1
                tickets += status in TICKETS
    return {"cycles": cycles, "tickets": tickets, "rate": tickets / cycles if cycles else 0.0}


def flag_rate(streams: list[tuple[World, Stream]], policy: DriftPolicy) -> float:
    """Share of batches with at least ``warn`` from drift alone (no performance reading)."""
    flagged = [SEVERITY[s] >= SEVERITY[WARN] for w, b in streams for s in replay(w, b, "no reading", policy)]
    return sum(flagged) / len(flagged)


def delays(streams: list[tuple[World, Stream]], mode: str, policy: DriftPolicy) -> dict:
    """Per trial, the changed batches until the first ticket (None: none within the trial)."""
    found: list[int | None] = []
    for world, batches in streams:
        statuses = replay(world, batches, mode, policy)[BEFORE:]
        found.append(next((i + 1 for i, s in enumerate(statuses) if s in TICKETS), None))
    seen = [d for d in found if d is not None]
    return {
        "delays": found,
        "within_3": sum(d <= WITHIN for d in seen) / len(found),
        "median": statistics.median(seen) if seen else None,
    }


def estimate_accuracy(groups: dict[str, list[Batch]]) -> dict:
    """Mean absolute error of the estimate and share of realized values within its band."""
    out = {}
    for name, batches in groups.items():
        errors = [abs(b.estimate.value - b.realized) for b in batches]
        inside = [b.estimate.lower <= b.realized <= b.estimate.upper for b in batches]
        out[name] = {
            "batches": len(batches),
            "mae": float(np.mean(errors)),
            "within_band": float(np.mean(inside)),
        }
    return out


def evidently_flags(world: World, batches: list[Batch]) -> dict:
    """Evidently's default DataDriftPreset on the features, as zenops' engine builds it."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=NUMERICAL, categorical_columns=CATEGORICAL)
    columns = NUMERICAL + CATEGORICAL
    reference = Dataset.from_pandas(
        sample_reference(world.holdout, world.spec)[columns], data_definition=definition
    )
    flags = []
    for batch in batches:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            current = Dataset.from_pandas(batch.frame[columns], data_definition=definition)
            snapshot = Report([DataDriftPreset()]).run(current, reference)
        count = next(
            m for m in snapshot.dict()["metrics"] if m["metric_name"].startswith("DriftedColumnsCount")
        )
        flags.append(count["value"]["share"] >= 0.5)
    return {
        "batches": len(flags),
        "flagged": int(sum(flags)),
        "rate": float(np.mean(flags)) if flags else 0.0,
    }


def build(args: argparse.Namespace, log: Any) -> dict[str, Any]:
    """Fit the worlds and measure every stream once."""
    seeds = np.random.default_rng(args.seed)
    truth = Truth()
    log(f"policy benchmark: fitting {WORLDS} models …")
    worlds = [fit_world(truth, int(seeds.integers(0, 2**20)) * 10) for _ in range(WORLDS)]
    per_world = [args.cycles // WORLDS + (w < args.cycles % WORLDS) for w in range(WORLDS)]
    keep_trials = -(-args.evidently // WITHIN)
    data: dict[str, Any] = {"worlds": worlds, "none": {}, "negligible": {}}
    for rows in SIZES:
        log(f"  {args.cycles} no-drift batches of {rows:,} rows …")
        data["none"][rows] = [
            (
                w,
                stream(
                    w, truth, "none", rows, seeds, before=n, after=0, keep=args.evidently if i == 0 else 0
                ),
            )
            for i, (w, n) in enumerate(zip(worlds, per_world, strict=True))
        ]
    for rows in FLOOR_SIZES:
        log(f"  {args.negligible} batches of a negligible shift, {rows:,} rows …")
        per = [args.negligible // WORLDS + (w < args.negligible % WORLDS) for w in range(WORLDS)]
        data["negligible"][rows] = [
            (w, stream(w, truth, "negligible", rows, seeds, before=0, after=n))
            for w, n in zip(worlds, per, strict=True)
        ]
    for scenario, trials in (
        ("harmless", args.trials * 2),
        ("harmful", args.trials),
        ("concept", args.trials),
    ):
        log(f"  {trials} trials of a {scenario} change, {SHIFT_ROWS:,} rows …")
        data[scenario] = [
            (
                worlds[t % WORLDS],
                stream(
                    worlds[t % WORLDS],
                    truth,
                    scenario,
                    SHIFT_ROWS,
                    seeds,
                    before=BEFORE,
                    after=AFTER,
                    keep=WITHIN if t < keep_trials else 0,
                ),
            )
            for t in range(trials)
        ]
    return data


def figures(data: dict[str, Any], args: argparse.Namespace, log: Any) -> dict[str, Any]:
    """Every figure of the benchmark from the measured streams."""
    out: dict[str, Any] = {"seed": args.seed, "worlds": WORLDS, "shift_rows": SHIFT_ROWS}
    out["baseline_roc_auc"] = [round(w.baseline.value, 4) for w in data["worlds"]]
    out["no_drift"] = {
        str(rows): {name: {m: ticket_rate(s, m, p, False) for m in MODES} for name, p in POLICIES.items()}
        for rows, s in data["none"].items()
    }
    out["harmless"] = {
        name: {m: ticket_rate(data["harmless"], m, p, True) for m in MODES} for name, p in POLICIES.items()
    }
    out["detection"] = {
        scenario: {name: {m: delays(data[scenario], m, p) for m in MODES} for name, p in POLICIES.items()}
        for scenario in ("harmful", "concept")
    }
    out["realized_roc_auc"] = {
        scenario: float(np.mean([b.realized for _, s in data[scenario] for b in s if b.changed]))
        for scenario in ("harmless", "harmful", "concept")
    }
    groups: dict[str, list[Batch]] = {
        f"none {rows:,}": [b for _, s in st for b in s] for rows, st in data["none"].items()
    }
    for scenario in ("harmless", "harmful", "concept"):
        groups[scenario] = [b for _, s in data[scenario] for b in s if b.changed]
    groups["all"] = [b for g in groups.values() for b in g]
    out["estimate"] = estimate_accuracy(groups)
    out["effect_floor"] = [floor_row(data, floor) for floor in FLOORS]
    log(f"  Evidently's DataDriftPreset on a subset ({args.evidently} batches per group) …")
    out["evidently"] = evidently_part(data)
    out["goals"] = goals(out)
    return out


def floor_row(data: dict[str, Any], floor: float) -> dict[str, Any]:
    """Drift alone deciding (no reading), at one effect floor."""
    policy = DriftPolicy(min_effect=floor)
    return {
        "min_effect": floor,
        "no_drift_tickets": {
            str(r): ticket_rate(s, "no reading", policy, False)["rate"] for r, s in data["none"].items()
        },
        "negligible_flagged": {str(r): flag_rate(s, policy) for r, s in data["negligible"].items()},
        "negligible_tickets": {
            str(r): ticket_rate(s, "no reading", policy, True)["rate"] for r, s in data["negligible"].items()
        },
        "harmful_within_3": delays(data["harmful"], "no reading", policy)["within_3"],
    }


def evidently_part(data: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for rows, streams in data["none"].items():
        world, batches = streams[0]
        out[f"none {rows:,}"] = evidently_flags(world, [b for b in batches if b.frame is not None])
    for scenario in ("harmless", "harmful", "concept"):
        kept = [(w, [b for b in s if b.frame is not None]) for w, s in data[scenario]]
        results = [evidently_flags(w, b) for w, b in kept if b]
        out[scenario] = {
            "batches": sum(r["batches"] for r in results),
            "flagged": sum(r["flagged"] for r in results),
            "trials": len(results),
            "trials_flagged_within_3": sum(r["flagged"] > 0 for r in results),
        }
        out[scenario]["rate"] = out[scenario]["flagged"] / max(out[scenario]["batches"], 1)
    return out


def goals(out: dict[str, Any]) -> list[dict[str, Any]]:
    """The goals, each met or not, with the figure that decides (default policy)."""
    worst_null = max(out["no_drift"][r]["default"][m]["rate"] for r in out["no_drift"] for m in MODES)
    read = [m for m in MODES if m != "no reading"]  # without any reading drift alone must decide
    worst_harmless = max(out["harmless"]["default"][m]["rate"] for m in read)
    harmful = {m: out["detection"]["harmful"]["default"][m]["within_3"] for m in MODES}
    band = out["estimate"]["all"]["within_band"]
    return [
        {
            "goal": "false tickets ≤ 1% at 500, 5,000 and 50,000 rows (worst mode)",
            "figure": worst_null,
            "met": worst_null <= 0.01,
        },
        {
            "goal": "false tickets ≤ 1% on the harmless shift (worst mode with labels or an estimate)",
            "figure": worst_harmless,
            "met": worst_harmless <= 0.01,
        },
        *(
            {"goal": f"harmful shift detected within 3 batches, {m}", "figure": share, "met": share == 1.0}
            for m, share in harmful.items()
        ),
        {
            "goal": "realized metric within the estimate's band on ≥ 90% of batches",
            "figure": band,
            "met": band >= 0.9,
        },
    ]


def run(args: argparse.Namespace, log: Any) -> dict[str, Any]:
    """Build the streams and compute the figures (seconds included)."""
    started = time.perf_counter()
    data = build(args, log)
    out = figures(data, args, log)
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def parser(root: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """This benchmark's options (also offered by ``monitor_cycle.py``)."""
    parser = root or argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--cycles", type=int, default=200, help="no-drift batches per size")
    parser.add_argument("--trials", type=int, default=8, help="trials of each change (harmless: twice)")
    parser.add_argument("--negligible", type=int, default=40, help="negligible-shift batches per size")
    parser.add_argument("--evidently", type=int, default=8, help="Evidently reports per group of batches")
    return parser


def main() -> None:
    args = parser()
    args.add_argument("--json", action="store_true", help="print one JSON document")
    options = args.parse_args()
    from zenops.kernel.offline import stay_offline

    stay_offline()
    log = (lambda *a: print(*a, file=sys.stderr)) if options.json else print
    out = run(options, log)
    print(json.dumps(out, indent=2) if options.json else "\n" + report(out))


if __name__ == "__main__":
    main()
