"""Versioned training data in memory: the :class:`zenops.ports.DataStore` port without DVC or git.

Files are read from the workspace's work tree as the DVC adapter reads them; each
snapshot of changed content is a new "commit" (a made-up 40-hex revision) that holds the
file's md5, and the content stays in a dict standing in for the cache and the remote.
Like the real store, an unchanged snapshot makes no new commit, an unknown revision or
lost or altered content is a :class:`LineageError`. Tests read ``commits`` and
``contents`` to assert on what a service versioned.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from registry.lineage import DataVersion
from zenops.kernel.errors import LineageError, NotFoundError, StoreError


@dataclass(frozen=True)
class FakeCommit:
    """One commit: its revision, message and the md5 of every file versioned at it."""

    rev: str
    message: str
    files: dict[str, str]


class FakeDataStore:
    """Snapshots of the files of one work tree, kept in memory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.initialised = False
        self.commits: list[FakeCommit] = []
        self.contents: dict[str, bytes] = {}  # by md5: the cache and the remote in one
        self.down: str | None = None  # set to make the remote unreachable

    def init(self) -> None:
        self.initialised = True

    def head(self) -> str | None:
        return self.commits[-1].rev if self.commits else None

    def _files_at_head(self) -> dict[str, str]:
        return dict(self.commits[-1].files) if self.commits else {}

    def snapshot(self, path: str, message: str) -> DataVersion:
        file = self.root / path
        if not file.is_file():
            raise NotFoundError(f"{path}: no such file in workspace {self.root}")
        if self.down is not None:
            raise StoreError(f"fake DVC remote: could not store {path}: {self.down}")
        data = file.read_bytes()
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        self.contents[md5] = data
        files = self._files_at_head()
        if files.get(path) != md5:
            files[path] = md5
            seed = f"{len(self.commits)}:{path}:{md5}".encode()
            rev = hashlib.sha1(seed, usedforsecurity=False).hexdigest()
            self.commits.append(FakeCommit(rev, f"{message}\n\n{path} md5 {md5}", files))
        return DataVersion(path=path, rev=str(self.head()), md5=md5)

    def committed_version(self, path: str) -> DataVersion:
        recorded = self._files_at_head().get(path)
        if recorded is None:
            raise LineageError(f"{path}: not versioned yet; run 'zenops train' once to snapshot it")
        actual = hashlib.md5((self.root / path).read_bytes(), usedforsecurity=False).hexdigest()
        if actual != recorded:
            raise LineageError(
                f"{path}: md5 {actual} differs from the committed version {recorded}; "
                "snapshot it with 'zenops train'"
            )
        return DataVersion(path=path, rev=str(self.head()), md5=recorded)

    def pointer_md5(self, pointer: str) -> str:
        md5 = self._files_at_head().get(pointer.removesuffix(".dvc"))
        if md5 is None:
            raise StoreError(f"{pointer}: not a readable DVC pointer (no such file)")
        return md5

    def read_bytes(self, version: DataVersion) -> bytes:
        commit = next((c for c in self.commits if c.rev == version.rev), None)
        if commit is None:
            raise LineageError(
                f"{version.path}: data revision {version.rev} is not in the workspace's git history"
            )
        if self.down is not None:
            raise StoreError(f"fake DVC remote: unreachable ({self.down})")
        data = self.contents.get(commit.files.get(version.path, ""))
        if data is None:
            raise LineageError(f"{version.path}@{version.rev[:10]}: cannot restore: its content is lost")
        actual = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if actual != version.md5:
            raise LineageError(
                f"{version.path}@{version.rev[:10]}: md5 {actual} does not match the recorded {version.md5}"
            )
        return data

    def read_frame(self, version: DataVersion) -> pd.DataFrame:
        data = self.read_bytes(version)
        if version.path.lower().endswith(".parquet"):
            return pd.read_parquet(io.BytesIO(data))
        return pd.read_csv(io.BytesIO(data))

    def remote_problem(self) -> str | None:
        return self.down
