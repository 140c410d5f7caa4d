"""``zenops status``: models, their champions and the data they were built from."""

from __future__ import annotations

from typing import Any

from demand.tickets import ACTIVE
from registry import lineage
from registry.versions import CHAMPION
from zenops.workspace import Workspace


def workspace_status(workspace: Workspace) -> dict[str, Any]:
    """Per model: aliases, the champion's version, data version and metric, last verdict, open tickets."""
    registry = workspace.registry()
    states = {state.model: state for state in workspace.monitor_state().all()}
    active = workspace.ticket_store().list(status=ACTIVE)
    models = []
    for spec in workspace.config.models:
        aliases = registry.aliases(spec.name)
        champion = None
        if CHAMPION in aliases:
            info = registry.version(spec.name, aliases[CHAMPION])
            champion = {
                "version": info.version,
                "run_id": info.run_id,
                "data_path": info.tags.get(lineage.DATA_PATH),
                "data_rev": info.tags.get(lineage.DATA_REV),
                "data_md5": info.tags.get(lineage.DATA_MD5),
                "metric": info.metrics.get(f"holdout_{spec.metric_name}"),
            }
        models.append(
            {
                "model": spec.name,
                "task": spec.task,
                "metric": spec.metric_name,
                "champion": champion,
                "aliases": aliases,
                "last_batch": states[spec.name].last_batch if spec.name in states else None,
                "last_verdict": states[spec.name].last_verdict if spec.name in states else None,
                "open_tickets": [t.id for t in active if t.model == spec.name],
            }
        )
    return {
        "workspace": str(workspace.root),
        "models": models,
        "open_tickets": [
            {"id": t.id, "kind": t.kind, "model": t.model, "due": t.due.isoformat()} for t in active
        ],
    }
