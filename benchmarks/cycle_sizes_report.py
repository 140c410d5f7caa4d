"""The ``sizes`` part's figures (``benchmarks/cycle_sizes.py``) as text for a person."""

from __future__ import annotations

from typing import Any

ROWS = (
    ("first cycle (loads champions, no HTML)", "first_cycle"),
    ("warm cycle (in process)", "warm"),
    ("bare DataDriftPreset, summed", "bare_evidently"),
    ("floor: exact scipy tests, summed", "floor"),
    ("cold, PREFECT_API_URL set", "cold_with_server"),
    ("cold, own temporary server", "cold_own_server"),
)


def met(value: bool) -> str:
    return "met" if value else "NOT met"


def seconds(cycle: dict[str, Any]) -> str:
    return f"{cycle['wall_s']:9.2f} {cycle['cpu_s']:9.2f}"


def load(figures: dict[str, Any]) -> str:
    start, end = figures["load_average_start"], figures["load_average_end"]
    return (
        f"load average {start[0]:.2f} / {start[1]:.2f} at the start, {end[0]:.2f} / {end[1]:.2f} at the end"
    )


def size_lines(size: dict[str, Any]) -> list[str]:
    n = size["models"]
    lines = [
        f"\n{n} model(s) × {size['rows']:,} rows (trained on {size['training_rows']:,}, reference "
        f"{'/'.join(str(r) for r in size['reference_rows'])} rows; {n} model-batches per cycle)",
        f"  {'':40s} {'wall (s)':>9s} {'CPU (s)':>9s}   peak RSS",
    ]
    for label, key in ROWS:
        if key in size:
            peak = size[key].get("peak_rss_mb")
            lines.append(f"  {label:40s} {seconds(size[key])}   {'' if peak is None else f'{peak:,.0f} MB'}")
    lines += [
        f"  warm / bare         {size['warm_to_bare_wall']} (CPU {size['warm_to_bare_cpu']})",
        f"  warm / floor        {size['warm_to_floor_wall']} (CPU {size['warm_to_floor_cpu']})",
        f"  cold / bare         {size.get('cold_with_server_to_bare_wall')} with a server, "
        f"{size.get('cold_own_server_to_bare_wall')} with its own",
        f"  fixed cost per model-batch (warm − floor) / {n}: {size['fixed_per_model_batch_wall_s']:.3f} s "
        f"(CPU {size['fixed_per_model_batch_cpu_s']:.3f} s)",
        f"  fixed cost per process (cold − warm): {size['fixed_per_process_cold_with_server_wall_s']:.2f} s "
        f"(CPU {size['fixed_per_process_cold_with_server_cpu_s']:.2f} s) with a server, "
        f"{size['fixed_per_process_cold_own_server_wall_s']:.2f} s "
        f"(CPU {size['fixed_per_process_cold_own_server_cpu_s']:.2f} s) with its own",
        f"  warm cycle used {size['warm_cores_used']} core(s)",
        f"  goal warm ≤ 0.5 × bare: {met(size['goal_warm_half_of_bare'])}; "
        f"warm ≤ 3 × floor + 0.1 s × {n} = {size['goal_warm_near_floor_limit_s']:.2f} s: "
        f"{met(size['goal_warm_near_floor'])}",
    ]
    return lines


def fit_text(fit: dict[str, Any]) -> str:
    if fit["slope_s_per_model"] is None:
        return "—"
    return f"{fit['slope_s_per_model']:.3f} s/model + {fit['intercept_s']:.2f} s, R² {fit['r2']:.3f}"


def growth_lines(growth: dict[str, Any]) -> list[str]:
    lines = [
        f"\ngrowth: {growth['rows']:,}-row batches (trained on {growth['training_rows']:,} rows); "
        "cold with a server",
        f"  {'models':>6s} {'warm wall':>10s} {'warm CPU':>9s} {'cold wall':>10s} {'cold CPU':>9s}   load",
    ]
    for point in growth["points"]:
        warm, cold = point["warm"], point["cold_with_server"]
        lines.append(
            f"  {point['models']:6d} {warm['wall_s']:10.2f} {warm['cpu_s']:9.2f}"
            f" {cold['wall_s']:10.2f} {cold['cpu_s']:9.2f}   {point.get('load_average', [0])[0]:.2f}"
        )
    for kind in ("warm", "cold_with_server"):
        for measure, label in (("wall_s", "wall"), ("cpu_s", "CPU")):
            lines.append(f"  fit, {kind} {label}: {fit_text(growth[f'fit_{kind}_{measure}'])}")
    return lines


def growth_report(figures: dict[str, Any]) -> str:
    """The ``growth`` part run alone: its table and fits, with the machine's load."""
    header = (
        f"monitoring cycle, growth ({figures['cpu_count']} CPUs; {load(figures)}; {figures['seconds']:.0f} s)"
    )
    return "\n".join([header, *growth_lines(figures)])


def fan_out_lines(fan: dict[str, Any]) -> list[str]:
    lines = [
        f"\nfan-out: warm cycle over {fan['models']} model(s) × {fan['rows']:,} rows",
        f"  {'runner':18s} {'wall (s)':>9s} {'CPU (s)':>9s} {'cores':>6s}",
    ]
    for key, label in (
        ("thread_1_worker", "threads, 1 worker"),
        ("thread_2_workers", "threads, 2 workers"),
        ("dask_2_workers", "Dask, 2 workers"),
        ("process_2_workers_first", "processes, 2, first"),
        ("process_2_workers", "processes, 2, warm"),
    ):
        if key in fan:
            lines.append(f"  {label:18s} {seconds(fan[key])} {fan[key]['cores_used']:6.2f}")
    if "cold_process_2_workers" in fan:
        lines.append(f"  {'cold, processes, 2':18s} {seconds(fan['cold_process_2_workers'])}   (new process)")
    return lines


def report(figures: dict[str, Any]) -> str:
    """The part's figures, one block per size, then growth, fan-out and the goals."""
    one = figures["one_model"]
    lines = [
        f"monitoring cycle by size ({figures['cpu_count']} CPUs; {load(figures)}; "
        f"{figures['seconds']:.0f} s)",
        f"\none model × {one['rows']} rows, cold (wall, CPU seconds, peak RSS):",
    ]
    for label, key in ROWS[4:]:
        cycle = one[key]
        lines.append(f"  {label:40s} {seconds(cycle)}   {cycle['peak_rss_mb']:,.0f} MB")
    for size in figures["sizes"]:
        lines += size_lines(size)
    if "fan_out" in figures:
        lines += fan_out_lines(figures["fan_out"])
    if "growth" in figures:
        lines += growth_lines(figures["growth"])
    goals = figures["goals"]
    lines += [
        "\ngoals:",
        f"  warm ≤ 0.5 × bare Evidently at every size: {met(goals['warm_half_of_bare_every_size'])}",
        "  warm ≤ 3 × floor + 0.1 s × model-batches at every size: "
        f"{met(goals['warm_near_floor_every_size'])}",
        "  cold one-model 600-row cycle under 10 CPU-seconds: "
        f"{met(goals['cold_one_model_under_10_cpu_s'])} with a server, "
        f"{met(goals['cold_one_model_own_server_under_10_cpu_s'])} with its own",
    ]
    return "\n".join(lines)
