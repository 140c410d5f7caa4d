"""``zenops status``: the fleet at a glance.

Per model: the champion (version, data version, metric, since when and how old), the
last monitoring cycle (when, verdict, drift share, performance measured or estimated
against the champion's holdout), its open tickets and when the next scheduled cycle
runs. :func:`fleet_rows` flattens it into the rows the terminal table and the monitor
flow's ``fleet`` artifact show.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from demand.tickets import ACTIVE
from registry import lineage
from registry.promotion import CHAMPION_SINCE
from registry.versions import CHAMPION, RunSummary
from zenops.kernel import clock
from zenops.kernel.config import ModelSpec
from zenops.ports import ModelRegistry
from zenops.services.monitor.records import MONITORED_AT
from zenops.services.monitor.wiring import MonitorWorkspace

__all__ = ["fleet_rows", "workspace_status"]

PERFORMANCE_KINDS = ("measured", "estimated")


def workspace_status(workspace: MonitorWorkspace, now: datetime | None = None) -> dict[str, Any]:
    """Per model: champion and its age, last cycle, open tickets, next scheduled cycle."""
    now = now or clock.now()
    registry = workspace.registry()
    states = {state.model: state for state in workspace.monitor_state().all()}
    active = workspace.ticket_store().list(status=ACTIVE)
    next_cycle = workspace.config.schedules.next_monitor(now).isoformat()
    models = []
    for spec in workspace.config.models:
        aliases = registry.aliases(spec.name)
        state = states.get(spec.name)
        champion = _champion(registry, spec, aliases[CHAMPION], now) if CHAMPION in aliases else None
        last_run = registry.latest_run(spec.name, {lineage.RUN_KIND: "monitoring"})
        models.append(
            {
                "model": spec.name,
                "task": spec.task,
                "metric": spec.metric_name,
                "champion": champion,
                "aliases": aliases,
                "last_batch": state.last_batch if state else None,
                "last_verdict": state.last_verdict if state else None,
                "last_cycle": None if last_run is None else _last_cycle(last_run, champion),
                "open_tickets": [t.id for t in active if t.model == spec.name],
                "next_cycle": next_cycle,
            }
        )
    return {
        "workspace": str(workspace.root),
        "at": now.isoformat(),
        "next_cycle": next_cycle,
        "models": models,
        "open_tickets": [
            {"id": t.id, "kind": t.kind, "model": t.model, "due": t.due.isoformat()} for t in active
        ],
    }


def _champion(registry: ModelRegistry, spec: ModelSpec, version: str, now: datetime) -> dict[str, Any]:
    """The champion's lineage and metric, since when it is champion and its age in days."""
    info = registry.version(spec.name, version)
    since_tag = registry.version_tags(spec.name, version).get(CHAMPION_SINCE)
    since = datetime.fromisoformat(since_tag) if since_tag else info.created
    age = None if since is None else max(0.0, (now - since).total_seconds() / 86400)
    return {
        "version": info.version,
        "run_id": info.run_id,
        "data_path": info.tags.get(lineage.DATA_PATH),
        "data_rev": info.tags.get(lineage.DATA_REV),
        "data_md5": info.tags.get(lineage.DATA_MD5),
        "metric": info.metrics.get(f"holdout_{spec.metric_name}"),
        "since": None if since is None else since.isoformat(),
        "age_days": None if age is None else round(age, 2),
    }


def _last_cycle(run: RunSummary, champion: dict[str, Any] | None) -> dict[str, Any]:
    """The last monitoring run: when its batch was recorded, its verdict and figures."""
    return {
        "at": run.tags.get(MONITORED_AT) or run.started.isoformat(),
        "batch": run.tags.get("zenops.batch"),
        "verdict": run.tags.get("zenops.verdict"),
        "drift_share": run.metrics.get("drift_share"),
        "performance": _performance(run.metrics, champion),
        "run_id": run.run_id,
        "champion_version": run.tags.get("zenops.champion.version") or None,
    }


def _performance(metrics: dict[str, float], champion: dict[str, Any] | None) -> dict[str, Any] | None:
    """The run's performance figure (``measured_M`` or ``estimated_M``) with the holdout baseline."""
    for kind in PERFORMANCE_KINDS:
        for key, value in sorted(metrics.items()):
            if key.startswith(f"{kind}_"):
                baseline = champion.get("metric") if champion else None
                return {"kind": kind, "metric": key[len(kind) + 1 :], "value": value, "baseline": baseline}
    return None


def fleet_rows(status: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per model: what the terminal table and the ``fleet`` artifact show."""
    rows = []
    for model in status["models"]:
        champion = model["champion"] or {}
        cycle = model["last_cycle"] or {}
        perf = cycle.get("performance")
        rows.append(
            {
                "model": model["model"],
                "champion": champion.get("version"),
                "age_days": champion.get("age_days"),
                "data_rev": (champion.get("data_rev") or "")[:10] or None,
                "last_cycle": cycle.get("at"),
                "verdict": cycle.get("verdict") or model["last_verdict"],
                "drift_share": None if cycle.get("drift_share") is None else round(cycle["drift_share"], 3),
                "performance": _performance_text(perf),
                "open_tickets": ", ".join(f"#{t}" for t in model["open_tickets"]) or None,
                "next_cycle": model["next_cycle"],
            }
        )
    return rows


def _performance_text(perf: dict[str, Any] | None) -> str | None:
    if not perf:
        return None
    baseline = perf.get("baseline")
    against = f" (holdout {baseline:.4f})" if isinstance(baseline, float) else ""
    return f"{perf['kind']} {perf['metric']} {perf['value']:.4f}{against}"
