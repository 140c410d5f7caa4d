"""The refresh service, run on fakes in a fresh interpreter, loads no outside system and no adapter.

A fresh interpreter imports, trains and refreshes from nothing (seconds), so this runs
with the integration tests; the service's behaviour on the same fakes is in
``tests/unit/test_refresh_service.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCENARIO = """
import json, sys, tempfile
from pathlib import Path
from tests.unit.training_world import MODEL, arrive, ports, workspace
from zenops.services.refresh.run import refresh
from zenops.services.train.run import train
world = ports(workspace(Path(tempfile.mkdtemp()) / "ws"))
spec = world.workspace.config.model(MODEL)
train(world, spec)
arrive(world.workspace)
decision = refresh(world, spec)["decision"]
heavy = ("mlflow", "prefect", "dvc", "evidently", "nannyml", "sqlalchemy", "skops", "apprise")
loaded = sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in heavy} | {
    m for m in sys.modules if ".adapters." in m or m.endswith(".adapters")})
print(json.dumps({"decision": decision, "loaded": loaded}))
"""


def test_the_services_run_without_any_outside_system_or_adapter() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCENARIO], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"decision": "promoted", "loaded": []}
