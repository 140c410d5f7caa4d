"""Run the ``zenops`` command as a user does, against the session's Prefect test API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.workspaces import SavedWorkspace

ZENOPS = str(Path(sys.executable).with_name("zenops"))


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def user_environment(prefect_api: str) -> dict[str, str]:
    """The environment the ``zenops`` command gets: the session's Prefect API, no store overrides."""
    base = {**os.environ, "PREFECT_API_URL": prefect_api, "PREFECT_LOGGING_LEVEL": "WARNING"}
    for variable in ("ZENOPS_WORKSPACE", "ZENOPS_TRACKING_URI", "ZENOPS_TICKETS_URL", "ZENOPS_DVC_REMOTE"):
        base.pop(variable, None)
    return base


def command_runner(prefect_api: str):
    """``run(*args, cwd=..., env=...)``: the ``zenops`` command in the user's environment, as a Result."""
    base = user_environment(prefect_api)

    def call(*args: str, cwd: Path, env: dict | None = None) -> Result:
        done = subprocess.run(
            [ZENOPS, *args], cwd=cwd, env={**base, **(env or {})}, capture_output=True, text=True, timeout=600
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return call


def trained_workspace(run, root: Path, model: str = "loan-default") -> Path:
    """``zenops init`` of ``root`` and ``zenops train MODEL`` on 1,500 seeded demo rows, by ``run``."""
    from zenops.app.demo.datagen import training_frame

    assert run("init", str(root), cwd=root.parent).code == 0
    training_frame(model, rows=1500, seed=5).to_parquet(root / "data" / model / "train.parquet")
    result = run("train", model, cwd=root)
    assert result.code == 0, result.stderr
    return root


@pytest.fixture(scope="session")
def saved_init(prefect_api, tmp_path_factory) -> SavedWorkspace:
    """A workspace made by ``zenops init``, once per test process."""
    root = tmp_path_factory.mktemp("init") / "ws"
    done = subprocess.run(
        [ZENOPS, "init", str(root)], env=user_environment(prefect_api), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return SavedWorkspace(root)


@pytest.fixture(scope="session")
def saved_cli_trained(prefect_api, tmp_path_factory) -> Iterator[SavedWorkspace]:
    """A workspace ``zenops train`` trained (:func:`trained_workspace`), once per test process.

    ``zenops init`` and ``zenops train`` take tens of seconds together; the files whose
    commands start from a trained workspace each get a copy, put back at its own path.
    MLflow in this process keeps one engine per tracking URI: without a connection pool,
    it never reads a database file that a restore has replaced.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_SQLALCHEMYSTORE_POOLCLASS", "NullPool")
        root = trained_workspace(command_runner(prefect_api), tmp_path_factory.mktemp("trained") / "ws")
        yield SavedWorkspace(root)


@pytest.fixture
def initialized(saved_init: SavedWorkspace) -> Path:
    """The folder of a workspace just made by ``zenops init`` (made once, put back for each test)."""
    return saved_init.restore_root()


@pytest.fixture
def zenops(prefect_api, tmp_path: Path):
    base = user_environment(prefect_api)

    def run(*args: str, cwd: Path | None = None, timeout: float = 600, env: dict | None = None) -> Result:
        done = subprocess.run(
            [ZENOPS, *args],
            cwd=cwd or tmp_path,
            env={**base, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run
