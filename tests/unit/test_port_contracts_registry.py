"""The registry and data store contracts: one set of checks, run on the fakes and the real adapters.

- :class:`~zenops.ports.ModelRegistry`: :class:`tests.fakes.registry.FakeRegistry` here;
  :class:`~registry.adapters.mlflow.MlflowRegistry` on SQLite in ``tmp_path`` in
  ``tests/integration/test_port_contracts_registry.py``, with the same ``check_*``.
- :class:`~zenops.ports.DataStore`: :class:`tests.fakes.data_store.FakeDataStore` here;
  :class:`~registry.adapters.dvc.DvcDataStore` on real git + DVC with a folder remote there.

A check reads an artifact back through ``read_artifact(run_id, path)``: the port only
writes them, and each side has its own way to look.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from registry.lineage import DataVersion
from registry.versions import CHALLENGER, CHAMPION
from tests.fakes.data_store import FakeDataStore
from tests.fakes.registry import FakeRegistry
from zenops.kernel.errors import LineageError, NotFoundError
from zenops.ports import DataStore, ModelRegistry

ReadArtifact = Callable[[str, str], Any]
MODEL = "contract-model"
FEATURES = ["a", "b"]


def training_frame(rows: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows)})
    frame["y"] = (frame["a"] + 0.3 * frame["b"] > 0).astype(int)
    return frame


def log_version(
    registry: ModelRegistry, frame: pd.DataFrame, run_name: str = "train"
) -> tuple[str, str, Any]:
    """A fitted logistic regression logged and registered; returns (version, run id, model)."""
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression().fit(frame[FEATURES], frame["y"])
    holdout = frame.tail(40).assign(prediction=fitted.predict(frame[FEATURES].tail(40)))
    run_id, uri = registry.log_training(
        MODEL,
        run_name=run_name,
        fitted=fitted,
        params={"C": 1.0},
        metrics={"accuracy": 0.9},
        tags={"zenops.model": MODEL, "zenops.run": "training"},
        train_frame=frame,
        holdout=holdout,
        data_source="data/train.csv",
        data_name="data/train.csv@0123456789",
        target="y",
        features=FEATURES,
        extra_params={"seed": 0},
    )
    version = registry.register(MODEL, uri, run_id, tags={"zenops.data.rev": "0123456789"})
    return version, run_id, fitted


# -- the model registry ------------------------------------------------------------------


def check_versions_and_aliases(registry: ModelRegistry) -> None:
    assert not registry.is_registered(MODEL) and registry.aliases(MODEL) == {}
    with pytest.raises(NotFoundError):
        registry.alias(MODEL, CHAMPION)
    frame = training_frame()
    version, run_id, fitted = log_version(registry, frame)
    assert version == "1" and registry.is_registered(MODEL)
    assert registry.alias(MODEL, CHAMPION) is None  # registered, no champion yet
    registry.set_alias(MODEL, CHAMPION, version)
    champion = registry.alias(MODEL, CHAMPION)
    assert champion is not None and (champion.version, champion.run_id) == ("1", run_id)
    assert champion.tags["zenops.run"] == "training" and champion.params["trainer.C"] == "1.0"
    assert champion.created is not None and champion.created.tzinfo is not None
    assert champion.params["seed"] == "0" and champion.metrics["holdout_accuracy"] == pytest.approx(0.9)
    second, _, _ = log_version(registry, frame, run_name="again")
    registry.set_alias(MODEL, CHALLENGER, second)
    assert registry.aliases(MODEL) == {CHAMPION: "1", CHALLENGER: "2"}
    registry.delete_alias(MODEL, CHALLENGER)
    registry.delete_alias(MODEL, CHALLENGER)  # already gone: no error
    assert registry.aliases(MODEL) == {CHAMPION: "1"}
    with pytest.raises(NotFoundError):
        registry.version(MODEL, "99")
    loaded = registry.load_version(MODEL, "1")
    assert (loaded.predict(frame[FEATURES]) == fitted.predict(frame[FEATURES])).all()
    assert (registry.load_model(MODEL).predict(frame[FEATURES]) == fitted.predict(frame[FEATURES])).all()


def check_version_tags(registry: ModelRegistry) -> None:
    version, _, _ = log_version(registry, training_frame())
    assert registry.version_tags(MODEL, version) == {"zenops.data.rev": "0123456789"}
    registry.set_version_tag(MODEL, version, "zenops.champion.since", "2024-07-01")
    registry.delete_version_tag(MODEL, version, "zenops.data.rev")
    registry.delete_version_tag(MODEL, version, "zenops.never.set")  # absent: no error
    assert registry.version_tags(MODEL, version) == {"zenops.champion.since": "2024-07-01"}


def check_version_files(registry: ModelRegistry) -> None:
    version, run_id, _ = log_version(registry, training_frame())
    data = bytes(range(256)) * 4  # any bytes, kept as they are
    uri = registry.log_version_file(MODEL, version, data, "zenops/profile.zip")
    assert run_id in uri and uri.endswith("zenops/profile.zip")
    assert registry.read_version_file(MODEL, version, "zenops/profile.zip") == data
    registry.log_version_file(MODEL, version, b"replaced", "zenops/profile.zip")
    assert registry.read_version_file(MODEL, version, "zenops/profile.zip") == b"replaced"
    with pytest.raises(NotFoundError):
        registry.read_version_file(MODEL, version, "zenops/never-stored.zip")


def check_run_records(registry: ModelRegistry, read_artifact: ReadArtifact) -> None:
    assert registry.runs_with_tags("no-experiment-yet", {"zenops.run": "alias-move"}) == []
    version, run_id, _ = log_version(registry, training_frame())
    registry.log_run_metrics(run_id, {"compare_rows": 240.0, "compare_p_value": float("nan")})
    registry.set_run_tag(run_id, "zenops.refresh.decision", "promoted")
    registry.log_run_dict(run_id, {"promote": True, "rows": 240}, "comparison.json")
    registry.log_run_text(run_id, "# dossier\n", "dossier.md")
    info = registry.version(MODEL, version)
    assert info.metrics["compare_rows"] == 240.0 and "compare_p_value" not in info.metrics
    assert info.tags["zenops.refresh.decision"] == "promoted"
    assert read_artifact(run_id, "comparison.json") == {"promote": True, "rows": 240}
    assert read_artifact(run_id, "dossier.md") == "# dossier\n"

    tags = {"zenops.model": MODEL, "zenops.run": "alias-move", "zenops.audit.state": "committed"}
    first = registry.record_run(MODEL, "promoted v1 -> v2", tags, {"audit.json": {"to": "2"}})
    time.sleep(0.02)  # start times a little apart, so that "oldest first" is one order
    second = registry.record_run(MODEL, "rolled-back-to v2 -> v1", tags, {"audit.json": {"to": "1"}})
    assert read_artifact(first, "audit.json") == {"to": "2"}
    found = registry.runs_with_tags(MODEL, {"zenops.run": "alias-move"})
    assert [run for run, _ in found] == [first, second]
    assert found[0][1]["zenops.audit.state"] == "committed"
    assert sorted(registry.runs_tagged(MODEL, {"zenops.run": "alias-move"})) == sorted([first, second])
    registry.delete_run(first)
    assert [run for run, _ in registry.runs_with_tags(MODEL, {"zenops.run": "alias-move"})] == [second]
    assert registry.runs_tagged(MODEL, {"zenops.run": "alias-move"}) == [second]
    assert registry.latest_run("no-experiment-yet", {"zenops.run": "monitoring"}) is None
    assert registry.latest_run(MODEL, {"zenops.run": "no-such-kind"}) is None
    time.sleep(0.02)
    third = registry.record_run(MODEL, "promoted v1 -> v3", tags, {"audit.json": {"to": "3"}})
    registry.log_run_metrics(third, {"drift_share": 0.25})
    latest = registry.latest_run(MODEL, {"zenops.run": "alias-move"})
    assert latest is not None and latest.run_id == third and latest.metrics == {"drift_share": 0.25}
    assert latest.tags["zenops.audit.state"] == "committed" and latest.started.tzinfo is not None


def check_thresholds(registry: ModelRegistry) -> None:
    passed, message, thresholds = registry.validate_thresholds(
        "roc_auc", 0.70, 0.75, margin=0.05, greater_is_better=True
    )
    assert passed and "passed" in message
    assert thresholds == {"roc_auc": {"min_relative_change": 0.05, "greater_is_better": True}}
    failed, message, _ = registry.validate_thresholds("rmse", 10.0, 9.8, margin=0.05, greater_is_better=False)
    assert not failed and "minimum relative change check failed" in message
    worse, _, _ = registry.validate_thresholds("rmse", 10.0, 10.5, margin=0.0, greater_is_better=False)
    assert not worse
    capped, _, described = registry.validate_thresholds("r2", 0.2, 0.9, margin=3.0, greater_is_better=True)
    assert capped and described["r2"]["min_relative_change"] == 1.0


REGISTRY_CHECKS = [check_versions_and_aliases, check_version_tags, check_version_files, check_thresholds]


def fake_artifact(registry: FakeRegistry) -> ReadArtifact:
    return lambda run_id, path: registry.runs[run_id].artifacts[path]


@pytest.mark.parametrize("check", REGISTRY_CHECKS, ids=lambda check: check.__name__)
def test_the_fake_registry_keeps_the_contract(check: Callable[[ModelRegistry], None]) -> None:
    check(FakeRegistry())


def test_the_fake_registry_keeps_the_run_records_contract() -> None:
    registry = FakeRegistry()
    check_run_records(registry, fake_artifact(registry))


# -- the data store ------------------------------------------------------------------------


def write(root: Path, path: str, frame: pd.DataFrame) -> bytes:
    file = root / path
    file.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(file, index=False)
    return file.read_bytes()


def check_data_versions(store: DataStore, root: Path) -> None:
    path = "data/train.csv"
    with pytest.raises(NotFoundError):
        store.snapshot(path, "data: nothing there yet")
    with pytest.raises(LineageError, match="not versioned yet"):
        store.committed_version(path)
    frame = training_frame(50)
    content = write(root, path, frame)
    first = store.snapshot(path, "data: first")
    assert first.path == path and len(first.rev) == 40
    assert first.md5 == hashlib.md5(content, usedforsecurity=False).hexdigest()
    assert store.head() == first.rev and store.pointer_md5(f"{path}.dvc") == first.md5
    assert store.read_bytes(first) == content
    assert np.allclose(store.read_frame(first)[FEATURES], frame[FEATURES])
    assert store.committed_version(path) == first
    assert store.snapshot(path, "data: unchanged") == first  # no new commit
    assert store.remote_problem() is None

    changed = write(root, path, frame.head(30))
    with pytest.raises(LineageError, match="differs from the committed version"):
        store.committed_version(path)
    second = store.snapshot(path, "data: second")
    assert second.rev != first.rev and store.head() == second.rev
    assert store.read_bytes(second) == changed and store.read_bytes(first) == content  # each restorable


def check_lineage_errors(store: DataStore, root: Path) -> None:
    path = "data/train.csv"
    write(root, path, training_frame(20))
    version = store.snapshot(path, "data: train")
    with pytest.raises(LineageError, match="is not in the workspace's git history"):
        store.read_bytes(DataVersion(path, "f" * 40, version.md5))
    with pytest.raises(LineageError, match="does not match the recorded 0000"):
        store.read_bytes(DataVersion(path, version.rev, "0" * 32))


DATA_CHECKS = [check_data_versions, check_lineage_errors]


@pytest.mark.parametrize("check", DATA_CHECKS, ids=lambda check: check.__name__)
def test_the_fake_data_store_keeps_the_contract(
    check: Callable[[DataStore, Path], None], tmp_path: Path
) -> None:
    check(FakeDataStore(tmp_path), tmp_path)
