"""The champion profile on the real stack: built at training, read by the cycle, hash-checked.

MLflow on SQLite with its artifact store, git + DVC with a folder remote, the Prefect
flow that trains, NannyML's fitted estimator inside the profile.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from flows.monitor import monitor_models
from registry.adapters.dvc import DvcDataStore
from registry.versions import CHAMPION
from zenops.adapters.monitor_state import MonitorStateStore
from zenops.app.demo.datagen import DriftSchedule, production_stream, write_stream
from zenops.kernel.errors import LineageError, ZenopsError
from zenops.kernel.paths import STATE_DIR
from zenops.services.champion_profile import ARTIFACT, SHA_TAG, SPEC_TAG, cache_path, spec_key
from zenops.services.monitor.champion import load_champion
from zenops.workspace import Workspace

MODEL = "loan-default"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def trained(saved_trained, restore) -> Workspace:
    return restore(saved_trained)


def champion_tags(ws: Workspace) -> tuple[str, dict[str, str]]:
    info = ws.registry().alias(MODEL, CHAMPION)
    return info.version, ws.registry().version_tags(MODEL, info.version)


def drop_one_batch(ws: Workspace) -> None:
    spec = ws.config.model(MODEL)
    stream = production_stream(MODEL, days=1, rows_per_day=300, seed=5, schedule=DriftSchedule.stable())
    write_stream(stream, ws.path(spec.batches), ws.path(spec.labels))


def tampered(data: bytes) -> bytes:
    """``data`` with one byte in the middle changed."""
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


def stored_state(ws: Workspace) -> tuple:
    """What a refused cycle must leave as it was: watermark, tickets, monitoring runs, tags."""
    runs = ws.registry().runs_with_tags(MODEL, {"zenops.run": "monitoring"})
    version, tags = champion_tags(ws)
    return (
        MonitorStateStore(ws.stores.tickets_url).get(MODEL),
        [t.id for t in ws.ticket_store().list(model=MODEL)],
        [run_id for run_id, _ in runs],
        version,
        tags,
    )


def test_training_stores_the_profile_with_its_hash_in_the_versions_tags(trained: Workspace) -> None:
    version, tags = champion_tags(trained)
    spec = trained.config.model(MODEL)
    assert tags[SPEC_TAG] == spec_key(spec)
    stored = trained.registry().read_version_file(MODEL, version, ARTIFACT)
    assert hashlib.sha256(stored).hexdigest() == tags[SHA_TAG]
    local = cache_path(trained, MODEL, version, tags[SHA_TAG])
    assert local.read_bytes() == stored


def test_a_cycle_reads_the_profile_and_never_the_training_data(trained: Workspace, monkeypatch) -> None:
    def no_rehydration(*args, **kwargs):
        raise AssertionError("the cycle re-read the champion's training data")

    monkeypatch.setattr(DvcDataStore, "read_frame", no_rehydration)
    drop_one_batch(trained)
    (summary,) = monitor_models(workspace=str(trained.root), models=[MODEL])["models"]
    assert summary["verdict"] == "ok", summary["reasons"]
    assert summary["rows"] == 300


def test_the_local_copy_when_gone_is_read_again_from_the_registry(trained: Workspace) -> None:
    version, tags = champion_tags(trained)
    shutil.rmtree(trained.root / STATE_DIR / "profiles")
    champion = load_champion(Workspace(trained.root), trained.config.model(MODEL))
    assert champion.profile.sha256 == tags[SHA_TAG]
    assert cache_path(trained, MODEL, version, tags[SHA_TAG]).is_file()


def test_a_tampered_local_profile_is_refused_and_nothing_stored_changes(trained: Workspace) -> None:
    version, tags = champion_tags(trained)
    local = cache_path(trained, MODEL, version, tags[SHA_TAG])
    local.write_bytes(tampered(local.read_bytes()))
    drop_one_batch(trained)
    before = stored_state(trained)
    with pytest.raises(ZenopsError) as failed:
        monitor_models(workspace=str(trained.root), models=[MODEL])
    message = str(failed.value)
    assert f"{MODEL} version {version}" in message and str(local) in message, message
    assert "does not match the hash" in message and "\n" not in message
    assert stored_state(trained) == before


def test_a_tampered_stored_profile_is_refused_not_rebuilt(trained: Workspace) -> None:
    version, tags = champion_tags(trained)
    shutil.rmtree(trained.root / STATE_DIR / "profiles")
    registry = trained.registry()
    genuine = registry.read_version_file(MODEL, version, ARTIFACT)
    registry.log_version_file(MODEL, version, tampered(genuine), ARTIFACT)  # overwritten in place
    with pytest.raises(LineageError, match=f"{MODEL} version {version}: the stored profile {ARTIFACT}"):
        load_champion(Workspace(trained.root), trained.config.model(MODEL))
    assert champion_tags(trained)[1] == tags
    assert not (trained.root / STATE_DIR / "profiles").exists()


def test_a_version_without_a_profile_gets_one_on_first_use(trained: Workspace) -> None:
    version, tags = champion_tags(trained)
    built_at_training = load_champion(Workspace(trained.root), trained.config.model(MODEL))
    for tag in (SHA_TAG, SPEC_TAG):
        trained.registry().delete_version_tag(MODEL, version, tag)
    shutil.rmtree(trained.root / STATE_DIR / "profiles")
    trained.profiles.clear()

    first_use = load_champion(Workspace(trained.root), trained.config.model(MODEL))

    version_now, tags_now = champion_tags(trained)
    assert version_now == version and tags_now[SHA_TAG] == first_use.profile.sha256
    assert tags_now[SPEC_TAG] == tags[SPEC_TAG]
    stored = trained.registry().read_version_file(MODEL, version, ARTIFACT)
    assert hashlib.sha256(stored).hexdigest() == tags_now[SHA_TAG]
    # Built from the same lineage, it holds what the profile built at training held.
    pd.testing.assert_frame_equal(first_use.reference, built_at_training.reference)
    assert first_use.baseline == built_at_training.baseline


CYCLE = """
import json, sys
from flows.monitor import monitor_models
(summary,) = monitor_models(workspace=sys.argv[1], models=[sys.argv[2]])["models"]
heavy = ("evidently", "nannyml", "prefect_dask", "dask", "dvc", "sklearn", "skops")
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(heavy))
print(json.dumps({"verdict": summary["verdict"], "report": summary["report_uri"], "loaded": loaded}))
"""


def test_a_cycle_with_labels_and_no_report_to_keep_imports_neither_evidently_nor_nannyml(
    trained: Workspace, monkeypatch
) -> None:
    """A fresh interpreter, as a deployment runs a cycle: the second stable day, its labels in."""
    spec = trained.config.model(MODEL)
    # Both cycles on one day: the weekly report cadence keeps nothing on the second.
    monkeypatch.setenv("ZENOPS_NOW", "2024-07-03T06:00:00+00:00")
    stream = production_stream(MODEL, days=2, rows_per_day=300, seed=5, schedule=DriftSchedule.stable(0))
    write_stream(stream[:1], trained.path(spec.batches), trained.path(spec.labels))
    monitor_models(workspace=str(trained.root), models=[MODEL])  # the first verdict keeps its report
    write_stream(stream, trained.path(spec.batches), trained.path(spec.labels))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", CYCLE, str(trained.root), MODEL],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["verdict"] == "ok" and report["report"].endswith("snapshot.json"), report
    # The profile's model scores the batch (scikit-learn); skops, which would load the
    # registered model (and walk every module of scikit-learn), is not needed.
    assert report["loaded"] == ["sklearn"], report


ESTIMATE = """
import json, os, socket, sys
from pathlib import Path
tried = []
connect = socket.socket.connect
def guard(self, address):
    local = address[0] in ("127.0.0.1", "::1", "localhost")
    if self.family in (socket.AF_INET, socket.AF_INET6) and not local:
        tried.append(str(address[0]))
        raise OSError("offline")
    return connect(self, address)
socket.socket.connect = guard
import pandas as pd
from zenops.services.monitor.champion import load_champion
from zenops.workspace import Workspace
ws = Workspace(sys.argv[1])
spec = ws.config.model(sys.argv[2])
champion = load_champion(ws, spec)
estimate = champion.estimator.estimate(champion.reference.head(200))
print(json.dumps({"usage_logging_off": os.environ.get("NML_DISABLE_USAGE_LOGGING"), "tried": tried,
                  "estimate": estimate.value}))
"""


def test_a_process_zenops_did_not_start_reads_the_estimator_offline(trained: Workspace) -> None:
    """A Dask worker unpickles the profile's NannyML estimator without zenops' CLI having run first."""
    env = {k: v for k, v in os.environ.items() if k not in ("NML_DISABLE_USAGE_LOGGING", "DO_NOT_TRACK")}
    done = subprocess.run(
        [sys.executable, "-c", ESTIMATE, str(trained.root), MODEL],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["usage_logging_off"] == "1" and report["tried"] == [], report
    assert 0.5 < report["estimate"] <= 1.0
