"""The policy benchmark's figures as text tables (``benchmarks/policy.py``)."""

from __future__ import annotations

from typing import Any

MODES = ("labels lag 1", "labels lag 3", "estimate only", "no reading")


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def report(out: dict[str, Any]) -> str:
    """The figures as text tables."""
    modes = list(MODES)
    head = "| " + " | ".join(["", *modes]) + " |\n|" + "---|" * (len(modes) + 1)
    lines = [
        f"Policy benchmark, seed {out['seed']}: {out['worlds']} logistic-regression champions, "
        f"baseline ROC AUC {', '.join(map(str, out['baseline_roc_auc']))}.",
        "",
    ]
    lines += ["False tickets without drift (refresh/rebuild/data_quality):", "", head]
    for rows, by_policy in out["no_drift"].items():
        for name, by_mode in by_policy.items():
            cycles = next(iter(by_mode.values()))["cycles"]
            cells = [f"{by_mode[m]['tickets']}/{cycles} ({by_mode[m]['rate']:.1%})" for m in modes]
            lines.append(f"| {int(rows):,} rows, {name} | " + " | ".join(cells) + " |")
    real = out["realized_roc_auc"]
    lines += [
        "",
        f"False tickets on the harmless shift ({out['shift_rows']:,} rows, "
        f"realized ROC AUC {real['harmless']:.3f}):",
        "",
        head,
    ]
    for name, by_mode in out["harmless"].items():
        cycles = next(iter(by_mode.values()))["cycles"]
        lines.append(
            f"| {name} | "
            + " | ".join(f"{by_mode[m]['tickets']}/{cycles} ({by_mode[m]['rate']:.1%})" for m in modes)
            + " |"
        )
    lines += [
        "",
        "Detection: share of trials with a ticket within 3 changed batches; median delay; "
        "per-trial delays (– none within 6):",
        "",
        head,
    ]
    for scenario, by_policy in out["detection"].items():
        for name, by_mode in by_policy.items():
            cells = []
            for m in modes:
                d = by_mode[m]
                listed = ",".join("–" if x is None else str(x) for x in d["delays"])
                median = "–" if d["median"] is None else f"{d['median']:g}"
                cells.append(f"{d['within_3']:.0%}, median {median} ({listed})")
            lines.append(f"| {scenario} (AUC {real[scenario]:.3f}), {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines + [tables(out)])


def tables(out: dict[str, Any]) -> str:
    """The estimate, Evidently, effect-floor and goal tables."""
    lines: list[str] = []
    lines += [
        "",
        "Label-free estimate (CBPE) against the realized ROC AUC:",
        "",
        "| batches | n | mean abs. error | realized within the band |",
        "|---|---|---|---|",
    ]
    for name, e in out["estimate"].items():
        lines.append(f"| {name} | {e['batches']} | {e['mae']:.4f} | {e['within_band']:.1%} |")
    lines += [
        "",
        "Evidently's default DataDriftPreset (dataset drift: ≥ 50% of columns drifted), same batches:",
        "",
        "| batches | reports | flagged |",
        "|---|---|---|",
    ]
    for name, e in out["evidently"].items():
        extra = f"; {e['trials_flagged_within_3']} of {e['trials']} trials within 3" if "trials" in e else ""
        lines.append(f"| {name} | {e['batches']} | {e['flagged']} ({e['rate']:.0%}){extra} |")
    lines += [
        "",
        "Effect floor, drift alone deciding (no reading):",
        "",
        "| min_effect | no-drift tickets 500 / 5k / 50k | negligible shift flagged 500 / 5k / 50k / 100k | "
        "negligible tickets 50k / 100k | harmful within 3 |",
        "|---|---|---|---|---|",
    ]
    for row in out["effect_floor"]:
        null = " / ".join(percent(v) for v in row["no_drift_tickets"].values())
        flagged = " / ".join(percent(v) for v in row["negligible_flagged"].values())
        tickets = " / ".join(percent(row["negligible_tickets"][k]) for k in ("50000", "100000"))
        lines.append(
            f"| {row['min_effect']:g} | {null} | {flagged} | {tickets} | {row['harmful_within_3']:.0%} |"
        )
    lines += ["", "Goals (default policy):", ""]
    for g in out["goals"]:
        lines.append(f"- {g['goal']}: {g['figure']:.1%} — {'met' if g['met'] else 'NOT MET'}")
    lines.append(f"\n{out['seconds']:.0f} s in all.")
    return "\n".join(lines)
