"""Workspaces built once per test process and put back, as built, for each test that uses them.

Making a workspace (``zenops init`` creates MLflow's database and DVC's set-up) takes
seconds, training one tens of seconds; many tests start from the same one.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from zenops.workspace import Workspace


class SavedWorkspace:
    """A workspace built once, copied aside, and put back at its own path for each test.

    The copy goes back to the path it was built at because the stores hold absolute
    paths (MLflow's artifact locations, the DVC remote in the committed ``.dvc/config``):
    a copy elsewhere would still write to the original. ``result`` is what the build
    returned (a training report, say). SQLite's shared-memory index (``*-shm``) is not
    copied: SQLite rebuilds it from the write-ahead log when the copy is first opened.
    """

    def __init__(self, root: Path, result: Any = None) -> None:
        self.root = root
        self.result = result
        self._saved = root.with_name(root.name + "-saved")
        shutil.copytree(root, self._saved, symlinks=True, ignore=shutil.ignore_patterns("*-shm"))

    def restore(self) -> Workspace:
        """The workspace as it was built: whatever the previous test changed is gone.

        The champion profiles this process keeps for the workspace's tracking store are
        dropped too, so each test loads its champion as a new process would.
        """
        shutil.rmtree(self.root)
        shutil.copytree(self._saved, self.root, symlinks=True)
        workspace = Workspace(self.root)
        workspace.profiles.clear()
        return Workspace(self.root)

    def restore_root(self) -> Path:
        """Like :meth:`restore`, for tests that need only the folder."""
        return self.restore().root
