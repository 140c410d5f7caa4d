"""Importing any module of zenops has no side effects: no file, folder or setting appears."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PACKAGES = ("zenops", "flows", "drift", "registry", "demand")
ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import importlib, json, os, pkgutil, sys
before = dict(os.environ)
names = []
for package in %r:
    module = importlib.import_module(package)
    names.append(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        importlib.import_module(info.name)
        names.append(info.name)
after = dict(os.environ)
changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
print(json.dumps({"modules": names, "changed": changed}))
"""


def test_importing_every_module_changes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT % (PACKAGES,)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(report["modules"]) > 30
    assert report["changed"] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]
    # Prefect makes its own home folder when it is imported; nothing else may appear.
    created = [str(p.relative_to(home)) for p in home.rglob("*") if not p.is_relative_to(home / ".prefect")]
    assert created == []
