"""A thin adapter over the git command line, for the workspace repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

from zenops.kernel.errors import StoreError


class Git:
    """Runs git in one repository; failures become :class:`StoreError` naming the command."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def run(self, *args: str, check: bool = True) -> str:
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=self.root,
                capture_output=True,
                text=True,
                check=False,
            )
        except FileNotFoundError:
            raise StoreError("git is not installed (needed for data versions)") from None
        if check and done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()
            raise StoreError(
                f"git {' '.join(args)} failed in {self.root}: {detail[-1] if detail else 'error'}"
            )
        return done.stdout.strip()

    def is_repo(self) -> bool:
        return (self.root / ".git").exists()

    def init(self) -> None:
        self.run("init", "--quiet", "--initial-branch=main")
        if not self.run("config", "user.email", check=False):
            self.run("config", "user.email", "zenops@localhost")
        if not self.run("config", "user.name", check=False):
            self.run("config", "user.name", "zenops")

    def head(self) -> str | None:
        """The current commit, or None before the first commit."""
        out = self.run("rev-parse", "--verify", "--quiet", "HEAD", check=False)
        return out or None

    def commit_paths(self, paths: list[str], message: str) -> str:
        """Stage ``paths`` and commit them if anything changed; return HEAD."""
        self.run("add", "--", *paths)
        staged = self.run("diff", "--cached", "--name-only", "--", *paths)
        if staged:
            self.run("commit", "--quiet", "--no-verify", "-m", message, "--", *paths)
        head = self.head()
        if head is None:
            raise StoreError(f"git repository {self.root} has no commit after committing {paths}")
        return head

    def has_commit(self, rev: str) -> bool:
        return bool(self.run("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False))
