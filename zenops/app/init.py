"""``zenops init``: create a workspace, idempotently.

Creates what is missing and keeps what exists: the git repository, DVC with its
default remote, the ``.zenops/`` state folder, the MLflow tracking store with an
experiment per model, the ticket database, ``.gitignore`` and an example
``zenops.yaml``. Running it again changes nothing and loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from registry.adapters.git import Git
from zenops.kernel.paths import STATE_DIR
from zenops.services.train.pipeline import write_pipeline
from zenops.workspace import GITIGNORE, Workspace, example_config


@dataclass
class InitReport:
    root: str
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    stores: dict[str, str] = field(default_factory=dict)


def _exists(url: str) -> bool:
    """Whether an SQLite store's file exists; a server store is taken as existing."""
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).is_file()
    return True


def init_workspace(workspace: Workspace) -> InitReport:
    """Create (or complete) the workspace at ``workspace.root``."""
    report = InitReport(root=str(workspace.root))
    root = workspace.root
    root.mkdir(parents=True, exist_ok=True)

    def note(what: str, created: bool) -> None:
        (report.created if created else report.kept).append(what)

    git = Git(root)
    fresh_git = not git.is_repo()
    if fresh_git:
        git.init()
    note("git repository", fresh_git)

    config_missing = not workspace.config_path.is_file()
    if config_missing:
        workspace.config_path.write_text(example_config(), encoding="utf-8")
    note("zenops.yaml", config_missing)
    config = workspace.config  # validates, even a kept file

    ignore = root / ".gitignore"
    lines = ignore.read_text().splitlines() if ignore.is_file() else []
    missing = [entry for entry in GITIGNORE if entry not in lines]
    if missing:
        ignore.write_text("\n".join([*lines, *missing]) + "\n")
    note(".gitignore", bool(missing))

    (root / STATE_DIR).mkdir(exist_ok=True)
    stores = workspace.stores
    fresh_dvc = not (root / ".dvc").is_dir()
    workspace.data_store().init()
    note(f"DVC with remote {stores.dvc_remote}", fresh_dvc)

    fresh_tracking = not _exists(stores.tracking_uri)
    registry = workspace.registry()
    for spec in config.models:
        registry.ensure_experiment(spec.name)
    note(f"MLflow tracking store {stores.tracking_uri}", fresh_tracking)

    fresh_tickets = not _exists(stores.tickets_url)
    workspace.ticket_store()
    note(f"ticket database {stores.tickets_url}", fresh_tickets)

    for spec in config.models:
        for folder in (spec.batches, spec.labels):
            workspace.path(folder).mkdir(parents=True, exist_ok=True)

    pipeline_files = write_pipeline(workspace)
    note("dvc.yaml and params.yaml (the training pipeline)", bool(pipeline_files))

    # Commit only what this run created or changed; the user's own edits stay theirs.
    dvc_files = [".dvc/config", ".dvc/.gitignore", ".dvcignore"]
    changed = set(git.run("status", "--porcelain", "--", *dvc_files).split()) & set(dvc_files)
    ours = [
        *(["zenops.yaml"] if config_missing else []),
        *([".gitignore"] if missing else []),
        *sorted(changed),
        *pipeline_files,
    ]
    if ours:
        git.commit_paths([p for p in ours if (root / p).exists()], "zenops workspace")
    report.stores = {
        "tracking_uri": stores.tracking_uri,
        "tickets_url": stores.tickets_url,
        "dvc_remote": stores.dvc_remote,
        "artifact_root": stores.artifact_root,
    }
    return report
