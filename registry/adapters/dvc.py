"""The data store adapter: DVC + git in the workspace.

A *data version* is a DVC-tracked file at a git commit of the workspace (the
commit holding its ``.dvc`` pointer). Snapshots push the content to the DVC
remote, so any version can be re-hydrated later from ``(path, rev)`` alone,
and every read checks the content against the recorded md5.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

import pandas as pd
import yaml

from registry.adapters.git import Git
from registry.lineage import DataVersion
from zenops.kernel.errors import LineageError, NotFoundError, StoreError
from zenops.kernel.paths import STATE_DIR, is_uri

REMOTE_NAME = "origin"


def quiet_dvc() -> None:
    """DVC's hints to run git commands are for people at a shell; zenops commits itself."""
    logging.getLogger("dvc").setLevel(logging.WARNING)


def md5_of(data: bytes) -> str:
    """The md5 DVC 3 records for a file's content."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class DvcDataStore:
    """Versions files of one workspace with DVC and its git repository."""

    def __init__(self, root: Path, remote_url: str) -> None:
        self.root = Path(root)
        self.remote_url = remote_url
        self.git = Git(self.root)

    @contextmanager
    def _repo(self) -> Iterator[object]:
        from dvc.exceptions import DvcException
        from dvc.repo import Repo

        quiet_dvc()
        try:
            repo = Repo(str(self.root))
        except DvcException as error:
            raise StoreError(f"DVC repository {self.root}: {error}") from None
        try:
            yield repo
        finally:
            repo.close()

    # -- set-up -----------------------------------------------------------

    def init(self) -> None:
        """Initialise DVC in the (git) workspace and point its default remote at ``remote_url``.

        Idempotent: an existing DVC set-up is kept; only the default remote is (re)set.
        """
        from dvc.repo import Repo

        if not (self.root / ".dvc").is_dir():
            quiet_dvc()
            with redirect_stdout(io.StringIO()):
                Repo.init(str(self.root))
        with self._repo() as repo, repo.config.edit() as conf:  # type: ignore[attr-defined]
            remotes = conf.setdefault("remote", {})
            current = remotes.get(REMOTE_NAME, {}).get("url")
            if current != self.remote_url:
                remotes[REMOTE_NAME] = {"url": self.remote_url}
            conf.setdefault("core", {})["remote"] = REMOTE_NAME
            conf["core"]["analytics"] = False
        if not is_uri(self.remote_url):
            Path(self.remote_url).mkdir(parents=True, exist_ok=True)

    # -- versions ---------------------------------------------------------

    def snapshot(self, path: str, message: str) -> DataVersion:
        """Track ``path`` with DVC, push its content to the remote, commit the pointer.

        Returns the version: the commit that holds the pointer and the content's md5.
        Snapshotting unchanged content creates no new commit.
        """
        from dvc.exceptions import DvcException

        file = self.root / path
        if not file.is_file():
            raise NotFoundError(f"{path}: no such file in workspace {self.root}")
        with self._exclusive():
            try:
                with self._repo() as repo:
                    repo.add([str(file)])  # type: ignore[attr-defined]
                with self._repo() as repo:
                    repo.push(targets=[str(file)], remote=REMOTE_NAME)  # type: ignore[attr-defined]
            except DvcException as error:
                raise StoreError(f"DVC remote {self.remote_url}: could not store {path}: {error}") from None
            pointer = f"{path}.dvc"
            ignore = str(Path(path).parent / ".gitignore")
            tracked = [p for p in (pointer, ignore) if (self.root / p).exists()]
            md5 = self.pointer_md5(pointer)
            rev = self.git.commit_paths(tracked, f"{message}\n\n{path} md5 {md5}")
            return DataVersion(path=path, rev=rev, md5=md5)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One snapshot at a time in this workspace, across processes (workers, served runs).

        DVC's repository lock and git's index lock refuse a second writer instead of
        waiting for it; two refreshes of different models, each in its own process,
        would otherwise fail each other's snapshot.
        """
        lock = self.root / STATE_DIR / "locks" / "data-versions.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        with lock.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def committed_version(self, path: str) -> DataVersion:
        """The version of ``path`` that HEAD holds, checked against the work tree's file.

        For callers that may not snapshot (``dvc repro`` holds the repository lock):
        the data must already be versioned, committed and unchanged.
        """
        pointer = f"{path}.dvc"
        head = self.git.head()
        text = self.git.run("show", f"HEAD:{pointer}", check=False) if head else ""
        if not text:
            raise LineageError(f"{path}: not versioned yet; run 'zenops train' once to snapshot it")
        try:
            recorded = str(yaml.safe_load(text)["outs"][0]["md5"])
        except (KeyError, IndexError, TypeError, yaml.YAMLError):
            raise StoreError(f"{pointer} at HEAD: not a readable DVC pointer") from None
        actual = md5_of((self.root / path).read_bytes())
        if actual != recorded:
            raise LineageError(
                f"{path}: md5 {actual} differs from the committed version {recorded}; "
                "snapshot it with 'zenops train'"
            )
        return DataVersion(path=path, rev=str(head), md5=recorded)

    def head(self) -> str | None:
        """The workspace's current git commit, or None before the first."""
        return self.git.head()

    def pointer_md5(self, pointer: str) -> str:
        """The md5 recorded in a ``.dvc`` pointer file of the work tree."""
        try:
            meta = yaml.safe_load((self.root / pointer).read_text())
            return str(meta["outs"][0]["md5"])
        except (OSError, KeyError, IndexError, TypeError, yaml.YAMLError) as error:
            raise StoreError(f"{pointer}: not a readable DVC pointer ({error})") from None

    def read_bytes(self, version: DataVersion) -> bytes:
        """The exact content of ``version``, from the DVC cache or remote, md5-checked."""
        import dvc.api
        from dvc.exceptions import DvcException

        if not self.git.has_commit(version.rev):
            raise LineageError(
                f"{version.path}: data revision {version.rev} is not in the workspace's git history"
            )
        try:
            with dvc.api.open(
                version.path, repo=str(self.root), rev=version.rev, remote=REMOTE_NAME, mode="rb"
            ) as handle:
                data = handle.read()
        except (DvcException, FileNotFoundError, OSError):
            problem = self.remote_problem()
            if problem is not None:
                raise StoreError(
                    f"DVC remote {self.remote_url}: unreachable ({problem}); "
                    f"cannot restore {version.path}@{version.rev[:10]}"
                ) from None
            raise LineageError(
                f"{version.path}@{version.rev[:10]}: cannot restore: its content (md5 {version.md5}) "
                f"is in neither the workspace's DVC cache nor the DVC remote {self.remote_url} "
                "(was the remote emptied? push it again from a copy that has it)"
            ) from None
        actual = md5_of(data)
        if actual != version.md5:
            raise LineageError(
                f"{version.path}@{version.rev[:10]}: md5 {actual} does not match the recorded {version.md5}"
            )
        return data

    def remote_problem(self) -> str | None:
        """Why the default remote cannot be reached now, or None when it answers.

        Tells a store that is down (a missing mount, a server that does not answer:
        worth another try later) from content that is missing from a remote that
        answers (lost data: a lineage error).
        """
        try:
            with self._repo() as repo:
                remote = repo.cloud.get_remote(REMOTE_NAME)  # type: ignore[attr-defined]
                if not remote.fs.exists(remote.path):
                    return f"{remote.path} does not exist"
        except StoreError as error:
            return str(error)
        except Exception as error:  # the remote's own client failed: it is not reachable
            return " ".join(f"{type(error).__name__}: {error}".split())[:300]
        return None

    def read_frame(self, version: DataVersion) -> pd.DataFrame:
        """The version's content as a DataFrame (CSV or Parquet by extension)."""
        data = self.read_bytes(version)
        if version.path.lower().endswith(".parquet"):
            return pd.read_parquet(io.BytesIO(data))
        return pd.read_csv(io.BytesIO(data))
