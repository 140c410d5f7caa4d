"""A model registry in memory: the :class:`zenops.ports.ModelRegistry` port without MLflow.

It keeps what MLflow would keep — experiments, runs (tags, params, metrics, artifacts),
registered versions with their own tags, aliases, logged models — in plain dicts that
tests read to assert on what a service did. It refuses what MLflow refuses the way the
MLflow adapter does (a model never registered is a :class:`NotFoundError`, a missing
alias is ``None``); ``tests/unit/test_port_contracts_registry.py`` runs the same checks on
it and, in the integration tier, on the MLflow adapter.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from registry.versions import CHAMPION, ModelVersionInfo, RunFacts, RunSummary, experiment_name
from zenops.kernel import clock
from zenops.kernel.errors import NotFoundError, StoreError


@dataclass
class FakeRun:
    """One run of a model's experiment."""

    run_id: str
    model: str
    name: str
    tags: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    artifacts: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    status: str = "RUNNING"
    deleted: bool = False
    started: datetime = field(default_factory=clock.now)


@dataclass
class FakeVersion:
    """One registered version: the run it came from, its model URI and its own tags."""

    version: str
    run_id: str
    model_uri: str
    tags: dict[str, str] = field(default_factory=dict)
    created: datetime = field(default_factory=clock.now)


class FakeRegistry:
    """Registered models, versions, aliases and runs, all in memory."""

    def __init__(self) -> None:
        self.experiments: dict[str, str] = {}
        self.runs: dict[str, FakeRun] = {}
        self.versions: dict[str, dict[str, FakeVersion]] = {}
        self.alias_table: dict[str, dict[str, str]] = {}
        self.fitted: dict[str, Any] = {}

    # -- experiments and runs ------------------------------------------------

    def ensure_experiment(self, model: str) -> str:
        return self.experiments.setdefault(model, str(len(self.experiments) + 1))

    def _new_run(self, model: str, run_name: str, tags: Mapping[str, str]) -> FakeRun:
        self.ensure_experiment(model)
        run_id = f"run{len(self.runs) + 1:04d}"
        run = FakeRun(run_id=run_id, model=model, name=run_name, tags=dict(tags))
        self.runs[run_id] = run
        return run

    def _run(self, run_id: str) -> FakeRun:
        try:
            return self.runs[run_id]
        except KeyError:
            raise NotFoundError(f"fake registry: no run {run_id}") from None

    @contextmanager
    def start_run(self, model: str, run_name: str, tags: dict[str, str]) -> Iterator[Any]:
        run = self._new_run(model, run_name, tags)
        try:
            yield SimpleNamespace(info=SimpleNamespace(run_id=run.run_id, artifact_uri=f"fake:/{run.run_id}"))
        except BaseException:
            run.status = "FAILED"
            raise
        run.status = "FINISHED"

    def runs_tagged(self, model: str, tags: dict[str, str]) -> list[str]:
        self.ensure_experiment(model)
        return [run_id for run_id, _ in self.runs_with_tags(model, tags)]

    def runs_with_tags(self, model: str, tags: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
        return [
            (run.run_id, dict(run.tags))
            for run in self.runs.values()
            if run.model == model and not run.deleted and all(run.tags.get(k) == v for k, v in tags.items())
        ]

    def latest_run(self, model: str, tags: dict[str, str]) -> RunSummary | None:
        found = [self.runs[run_id] for run_id, _ in self.runs_with_tags(model, tags)]
        if not found:
            return None
        run = found[-1]  # runs are kept in the order they started
        return RunSummary(run.run_id, run.started, dict(run.tags), dict(run.metrics))

    def delete_run(self, run_id: str) -> None:
        self._run(run_id).deleted = True

    def log_run_metrics(self, run_id: str, metrics: Mapping[str, float]) -> None:
        finite = {k: float(v) for k, v in metrics.items() if math.isfinite(v)}
        self._run(run_id).metrics.update(finite)

    def set_run_tag(self, run_id: str, key: str, value: str) -> None:
        self._run(run_id).tags[key] = str(value)

    def log_run_dict(self, run_id: str, data: Mapping[str, Any], artifact: str) -> None:
        self._run(run_id).artifacts[artifact] = json.loads(json.dumps(data))

    def log_run_text(self, run_id: str, text: str, artifact: str) -> None:
        self._run(run_id).artifacts[artifact] = str(text)

    def record_run(
        self, model: str, run_name: str, tags: dict[str, str], documents: Mapping[str, Mapping[str, Any]]
    ) -> str:
        run = self._new_run(model, run_name, tags)
        for artifact, data in documents.items():
            self.log_run_dict(run.run_id, data, artifact)
        run.status = "FINISHED"
        return run.run_id

    def log_training(
        self,
        model: str,
        *,
        run_name: str,
        fitted: Any,
        params: dict[str, Any],
        metrics: dict[str, float],
        tags: dict[str, str],
        train_frame: Any,
        holdout: Any,
        data_source: str,
        data_name: str,
        target: str,
        features: list[str],
        extra_params: dict[str, Any] | None = None,
    ) -> tuple[str, str]:
        run = self._new_run(model, run_name, tags)
        flat = {f"trainer.{key}": value for key, value in params.items()}
        flat.update(extra_params or {})
        run.params.update({k: str(v)[:6000] for k, v in flat.items()})
        run.metrics.update({f"holdout_{k}": float(v) for k, v in metrics.items()})
        run.inputs.append(data_name)
        run.artifacts["holdout/holdout.parquet"] = holdout.copy()
        uri = f"models:/m-{run.run_id}"
        self.fitted[uri] = fitted
        run.status = "FINISHED"
        return run.run_id, uri

    def log_monitoring_run(
        self,
        model: str,
        run_name: str,
        tags: dict[str, str],
        metrics: dict[str, float],
        verdict: dict[str, Any],
        snapshot: str | None = None,
        html: Callable[[Path], list[Path]] | None = None,
    ) -> tuple[str, str | None]:
        run = self._new_run(model, run_name, tags)
        self.log_run_metrics(run.run_id, metrics)
        self.log_run_dict(run.run_id, verdict, "verdict.json")
        report_uri = None
        if snapshot is not None:
            run.artifacts["evidently/snapshot.json"] = snapshot
            report_uri = f"fake:/{run.run_id}/evidently/snapshot.json"
        if html is not None:
            with tempfile.TemporaryDirectory() as scratch:
                for path in html(Path(scratch) / "report.html"):
                    run.artifacts[f"evidently/{path.name}"] = path.read_text(encoding="utf-8")
            report_uri = f"fake:/{run.run_id}/evidently/report.html"
        run.status = "FINISHED"
        return run.run_id, report_uri

    # -- registered models and aliases -----------------------------------------

    def register(self, model: str, model_uri: str, run_id: str, tags: dict[str, str]) -> str:
        self._run(run_id)
        versions = self.versions.setdefault(model, {})
        self.alias_table.setdefault(model, {})
        version = str(len(versions) + 1)
        versions[version] = FakeVersion(version, run_id, model_uri, dict(tags))
        return version

    def is_registered(self, model: str) -> bool:
        return model in self.versions

    def _version(self, model: str, version: str) -> FakeVersion:
        if model not in self.versions:
            raise NotFoundError(f"fake registry: no registered model '{model}'")
        try:
            return self.versions[model][str(version)]
        except KeyError:
            raise NotFoundError(f"fake registry: {model} has no version {version}") from None

    def _info(self, model: str, found: FakeVersion) -> ModelVersionInfo:
        run = self._run(found.run_id)
        held = tuple(a for a, v in self.alias_table.get(model, {}).items() if v == found.version)
        return ModelVersionInfo(
            model=model,
            version=found.version,
            run_id=found.run_id,
            aliases=held,
            tags=dict(run.tags),
            params=dict(run.params),
            metrics=dict(run.metrics),
            created=found.created,
        )

    def alias(self, model: str, alias: str) -> ModelVersionInfo | None:
        if model not in self.versions:
            raise NotFoundError(f"fake registry: no registered model '{model}'")
        version = self.alias_table[model].get(alias)
        return None if version is None else self._info(model, self._version(model, version))

    def aliases(self, model: str) -> dict[str, str]:
        return dict(self.alias_table.get(model, {}))

    def set_alias(self, model: str, alias: str, version: str) -> None:
        self._version(model, version)
        self.alias_table[model][alias] = str(version)

    def delete_alias(self, model: str, alias: str) -> None:
        self.alias_table.get(model, {}).pop(alias, None)

    def version(self, model: str, version: str) -> ModelVersionInfo:
        return self._info(model, self._version(model, version))

    def version_tags(self, model: str, version: str) -> dict[str, str]:
        return dict(self._version(model, version).tags)

    def set_version_tag(self, model: str, version: str, key: str, value: str) -> None:
        self._version(model, version).tags[key] = str(value)

    def delete_version_tag(self, model: str, version: str, key: str) -> None:
        self._version(model, version).tags.pop(key, None)

    def log_version_file(self, model: str, version: str, data: bytes, artifact: str) -> str:
        run_id = self._version(model, version).run_id
        self._run(run_id).artifacts[artifact] = bytes(data)
        return f"runs:/{run_id}/{artifact}"

    def read_version_file(self, model: str, version: str, artifact: str) -> bytes:
        run = self._run(self._version(model, version).run_id)
        if not isinstance(run.artifacts.get(artifact), bytes):
            raise NotFoundError(f"fake registry: {model} version {version} has no artifact {artifact}")
        return run.artifacts[artifact]

    def all_version_tags(self, model: str) -> dict[str, dict[str, str]]:
        return {v: dict(found.tags) for v, found in self.versions.get(model, {}).items()}

    def run_facts(self, run_id: str) -> RunFacts:
        run = self._run(run_id)
        return RunFacts(run_id, experiment_name(run.model), dict(run.tags), dict(run.params))

    def logged_models(self, run_id: str) -> list[tuple[str, str]]:
        self._run(run_id)
        uri = f"models:/m-{run_id}"
        return [("model", uri)] if uri in self.fitted else []

    def read_run_dict(self, run_id: str, artifact: str) -> dict[str, Any]:
        found = self._run(run_id).artifacts.get(artifact)
        if not isinstance(found, dict):
            raise NotFoundError(f"fake registry: run {run_id} has no {artifact}")
        return copy.deepcopy(found)

    def load_model(self, model: str, alias: str = CHAMPION) -> Any:
        version = self.aliases(model).get(alias)
        if version is None:
            raise NotFoundError(f"fake registry: no version of {model} holds @{alias}")
        return self.load_version(model, version)

    def load_version(self, model: str, version: str) -> Any:
        uri = self._version(model, version).model_uri
        if uri not in self.fitted:
            raise StoreError(f"fake registry: no logged model at {uri}")
        return copy.deepcopy(self.fitted[uri])

    # -- the promotion gate's MLflow check, as the same rule -------------------------

    def validate_thresholds(
        self, metric: str, champion: float, challenger: float, *, margin: float, greater_is_better: bool
    ) -> tuple[bool, str, dict[str, Any]]:
        """MLflow's minimum relative change rule (capped at 1; a zero baseline asks for any gain)."""
        threshold = float(min(margin, 1.0))
        described = {metric: {"min_relative_change": threshold, "greater_is_better": bool(greater_is_better)}}
        sign = 1.0 if greater_is_better else -1.0
        if champion == 0:
            passed = sign * (challenger - champion) >= 1e-10
        else:
            passed = sign * (challenger - champion) / abs(champion) >= threshold
        if passed:
            return True, f"Metric {metric} passed the validation.", described
        message = (
            f"Metric {metric} minimum relative change check failed: candidate model {metric} = "
            f"{challenger}, baseline model {metric} = {champion}, {metric} minimum relative change "
            f"threshold = {threshold}."
        )
        return False, message, described
