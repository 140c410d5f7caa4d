"""``zenops status``: models, their champions and the data they were built from."""

from __future__ import annotations

from typing import Any

from registry import lineage
from registry.models import CHAMPION
from zenops.workspace import Workspace


def workspace_status(workspace: Workspace) -> dict[str, Any]:
    """Per model: aliases, the champion's version, data version and holdout metric."""
    registry = workspace.registry()
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
            }
        )
    return {"workspace": str(workspace.root), "models": models}
