"""The seeded demo workspace that the repository's own ``dvc.yaml`` trains.

``python scripts/demo_workspace.py eval/workspace --seed 42 --rows 12000`` creates a
fresh workspace there (``zenops init``: git, DVC, the MLflow store, the example
``zenops.yaml`` with its two demo models, and the workspace's ``dvc.yaml`` and
``params.yaml``), writes each model's seeded training data as ``zenops demo``
draws it, and versions it (``dvc add``, push, git commit), so that the training
stages can run ``zenops train MODEL --pipeline`` on it. An earlier workspace of
this script or of ``zenops demo`` in that folder is replaced; any other non-empty
folder is refused.

``python scripts/demo_workspace.py --stages`` prints the repository's training
stages as :func:`zenops.services.train.pipeline.train_stage` defines them, for ``dvc.yaml``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zenops.app.demo.story import MARKER, SEED, TRAINING_ROWS, prepare_folder  # noqa: E402

WORKSPACE = "eval/workspace"
"""The demo workspace's folder, relative to the repository (ignored by git)."""
TRAINING_CODE = ("zenops", "registry", "flows")
"""The source folders whose change retrains the demo models in the repository's pipeline."""


def demo_models() -> list[Any]:
    """The model specs of the example ``zenops.yaml`` that ``zenops init`` writes."""
    import yaml

    from zenops.kernel.config import parse_config
    from zenops.workspace import example_config

    return list(parse_config(yaml.safe_load(example_config()), source="zenops/templates/zenops.yaml").models)


def training_stages() -> dict[str, dict[str, Any]]:
    """The repository's training stages: the shared stage, for the demo workspace."""
    from zenops.services.train.pipeline import train_stages

    return train_stages(demo_models(), workspace=WORKSPACE, code=TRAINING_CODE)


def build(folder: str | Path, seed: int, rows: int) -> dict[str, Any]:
    """Create the workspace in ``folder`` with each model's seeded, versioned training data."""
    from zenops.app.demo.datagen import training_frame
    from zenops.app.init import init_workspace
    from zenops.services.train.steps import snapshot_training_data
    from zenops.workspace import Workspace

    root = prepare_folder(folder)
    init_workspace(Workspace(root))
    (root / MARKER).write_text("created by scripts/demo_workspace.py; a rerun replaces this folder\n")
    workspace = Workspace(root)
    summary: dict[str, Any] = {}
    for spec in workspace.config.models:
        frame = training_frame(spec.name, rows=rows, seed=seed)
        path = workspace.path(spec.training_data)
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(path, index=False)
        version = snapshot_training_data(workspace.data_store(), spec)
        summary[spec.name] = {"path": spec.training_data, "rows": len(frame), "md5": version.md5}
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=WORKSPACE)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--rows", type=int, default=max(TRAINING_ROWS.values()), help="training rows per model"
    )
    parser.add_argument("--stages", action="store_true", help="print the training stages of dvc.yaml")
    args = parser.parse_args(argv)
    if args.stages:
        import yaml

        print(yaml.safe_dump({"stages": training_stages()}, sort_keys=False), end="")
        return 0
    from zenops.kernel.offline import stay_offline

    stay_offline()
    print(json.dumps(build(args.folder, args.seed, args.rows), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
