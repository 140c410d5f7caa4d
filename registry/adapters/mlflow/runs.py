"""MLflow runs: training, monitoring and audit runs, their metrics, tags and artifacts,
and MLflow's threshold validation for the promotion gate."""

from __future__ import annotations

import importlib.metadata
import json
import math
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from registry.adapters.mlflow.store import MlflowStore
from registry.versions import RunFacts, RunSummary, experiment_name
from zenops.kernel.errors import NotFoundError, StoreError


class MlflowRuns(MlflowStore):
    """The runs of the models' experiments."""

    @contextmanager
    def start_run(self, model: str, run_name: str, tags: dict[str, str]) -> Iterator[Any]:
        """An active MLflow run in the model's experiment, bound to this store."""
        import mlflow

        experiment_id = self.ensure_experiment(model)
        with self.errors(f"run {run_name}"):
            mlflow.set_tracking_uri(self.tracking_uri)
            mlflow.set_registry_uri(self.tracking_uri)
            with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags) as run:
                yield run

    def runs_tagged(self, model: str, tags: dict[str, str]) -> list[str]:
        """Ids of the live runs of ``model``'s experiment that carry every one of ``tags``."""
        experiment_id = self.ensure_experiment(model)
        terms = []
        for key, value in tags.items():
            if "'" in value or "`" in key:
                raise StoreError(f"MLflow {self._where()}: cannot search runs by tag {key}={value!r}")
            terms.append(f"tags.`{key}` = '{value}'")
        with self.errors(f"search runs of {model}"):
            found = self.client.search_runs(
                [experiment_id], filter_string=" and ".join(terms), max_results=1000
            )
            return [run.info.run_id for run in found]

    def delete_run(self, run_id: str) -> None:
        """Mark a run deleted (MLflow keeps it, restorable, until garbage collection)."""
        with self.errors(f"delete run {run_id}"):
            self.client.delete_run(run_id)

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
        """Log one batch's monitoring run: metrics, ``verdict.json`` and the drift report.

        The snapshot goes to ``evidently/snapshot.json`` and the HTML report files (written
        by ``html``) under ``evidently/``. Returns the run id and the report's URI (the HTML
        report's when written, else the snapshot's, None without either). A failure part-way
        leaves the run marked failed; the caller replaces it when the batch is processed again.

        The run is created with its tags (so a run left by a failure is found by them), its
        metrics go in one ``log_batch`` call, and its files are written to one folder and
        uploaded in one ``log_artifacts`` call.
        """
        from mlflow.entities import Metric

        with (
            self.start_run(model, run_name, tags) as run,
            self.errors(f"log monitoring run {run.info.run_id}"),
            tempfile.TemporaryDirectory() as scratch,
        ):
            client, run_id = self.client, run.info.run_id
            now = int(time.time() * 1000)
            client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()])
            folder, report_uri = Path(scratch) / "run", None
            reports = folder / "evidently"
            reports.mkdir(parents=True)
            # Written as MlflowClient.log_dict writes a .json artifact.
            (folder / "verdict.json").write_text(json.dumps(verdict, indent=2, default=str), encoding="utf-8")
            if snapshot is not None:
                (reports / "snapshot.json").write_text(snapshot, encoding="utf-8")
                report_uri = f"{run.info.artifact_uri}/evidently/snapshot.json"
            if html is not None:
                written = Path(scratch) / "html"
                written.mkdir()
                for path in html(written / "report.html"):
                    shutil.move(path, reports / path.name)
                report_uri = f"{run.info.artifact_uri}/evidently/report.html"
            if not any(reports.iterdir()):
                reports.rmdir()
            client.log_artifacts(run_id, str(folder))
            return run_id, report_uri

    def log_run_metrics(self, run_id: str, metrics: Mapping[str, float]) -> None:
        """Log the finite ones of ``metrics`` on an existing run."""
        finite = {k: float(v) for k, v in metrics.items() if math.isfinite(v)}
        with self.errors(f"log metrics on run {run_id}"):
            for key, value in finite.items():
                self.client.log_metric(run_id, key, value)

    def set_run_tag(self, run_id: str, key: str, value: str) -> None:
        with self.errors(f"tag run {run_id}"):
            self.client.set_tag(run_id, key, value)

    def log_run_dict(self, run_id: str, data: Mapping[str, Any], artifact: str) -> None:
        with self.errors(f"log {artifact} on run {run_id}"):
            self.client.log_dict(run_id, dict(data), artifact)

    def log_run_text(self, run_id: str, text: str, artifact: str) -> None:
        with self.errors(f"log {artifact} on run {run_id}"):
            self.client.log_text(run_id, text, artifact)

    def run_facts(self, run_id: str) -> RunFacts:
        """A run's experiment name, tags and parameters; NotFoundError when there is no such run."""
        from mlflow.exceptions import MlflowException

        with self.errors(f"run {run_id}"):
            try:
                run = self.client.get_run(run_id)
            except MlflowException as error:
                if getattr(error, "error_code", "") in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                    raise NotFoundError(f"MLflow {self._where()}: no run '{run_id}'") from None
                raise
            experiment = self.client.get_experiment(run.info.experiment_id)
            return RunFacts(
                run_id=run.info.run_id,
                experiment=experiment.name if experiment is not None else None,
                tags=dict(run.data.tags),
                params=dict(run.data.params),
            )

    def read_run_dict(self, run_id: str, artifact: str) -> dict[str, Any]:
        """The JSON artifact ``artifact`` of ``run_id``; NotFoundError when the run has none."""
        with self.errors(f"read {artifact} of run {run_id}"), tempfile.TemporaryDirectory() as scratch:
            try:
                local = self.client.download_artifacts(run_id, artifact, scratch)
            except OSError as error:
                raise NotFoundError(
                    f"MLflow {self._where()}: run {run_id} has no {artifact} ({error})"
                ) from None
            return json.loads(Path(local).read_text(encoding="utf-8"))

    def record_run(
        self, model: str, run_name: str, tags: dict[str, str], documents: Mapping[str, Mapping[str, Any]]
    ) -> str:
        """A finished run in the model's experiment carrying ``tags`` and the JSON ``documents``."""
        experiment_id = self.ensure_experiment(model)
        with self.errors(f"run {run_name}"):
            run_id = self.client.create_run(experiment_id, tags=tags, run_name=run_name).info.run_id
            for artifact, data in documents.items():
                self.client.log_dict(run_id, dict(data), artifact)
            self.client.set_terminated(run_id)
        return run_id

    def runs_with_tags(self, model: str, tags: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
        """The live runs of ``model`` carrying every one of ``tags``, oldest first, with their tags.

        Empty when the model has no experiment yet; nothing is created.
        """
        runs = self._search_existing(model, tags, "ASC", 10_000)
        return [(run.info.run_id, dict(run.data.tags)) for run in runs]

    def latest_run(self, model: str, tags: dict[str, str]) -> RunSummary | None:
        """The live run of ``model`` with every one of ``tags`` that started last (None: none)."""
        runs = self._search_existing(model, tags, "DESC", 1)
        if not runs:
            return None
        run = runs[0]
        return RunSummary(
            run_id=run.info.run_id,
            started=datetime.fromtimestamp(run.info.start_time / 1000, UTC),
            tags=dict(run.data.tags),
            metrics=dict(run.data.metrics),
        )

    def _search_existing(self, model: str, tags: dict[str, str], order: str, limit: int) -> list[Any]:
        """Runs of ``model``'s experiment with ``tags`` by start time; none without an experiment."""
        terms = []
        for key, value in tags.items():
            if "'" in value or "`" in key:
                raise StoreError(f"MLflow {self._where()}: cannot search runs by tag {key}={value!r}")
            terms.append(f"tags.`{key}` = '{value}'")
        with self.errors(f"search runs of {model}"):
            experiment = self.client.get_experiment_by_name(experiment_name(model))
            if experiment is None:
                return []
            return list(
                self.client.search_runs(
                    [experiment.experiment_id],
                    filter_string=" and ".join(terms),
                    order_by=[f"attributes.start_time {order}"],
                    max_results=limit,
                )
            )

    def validate_thresholds(
        self, metric: str, champion: float, challenger: float, *, margin: float, greater_is_better: bool
    ) -> tuple[bool, str, dict[str, Any]]:
        """``mlflow.validate_evaluation_results`` on the challenger against the champion."""
        return validate_thresholds(
            metric, champion, challenger, margin=margin, greater_is_better=greater_is_better
        )

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
        """Log one training run with its lineage, data, metrics, holdout and model.

        Returns ``(run_id, model_uri)``. The holdout (with predictions) is stored as
        ``holdout/holdout.parquet`` so that monitoring can fit label-free
        performance estimators on exactly what the model was evaluated on.
        """
        import mlflow

        with self.start_run(model, run_name, tags) as run, self.errors(f"log run {run.info.run_id}"):
            flat = {f"trainer.{key}": value for key, value in params.items()}
            flat.update(extra_params or {})
            if flat:
                mlflow.log_params({k: str(v)[:6000] for k, v in flat.items()})
            mlflow.log_metrics({f"holdout_{k}": v for k, v in metrics.items()})
            _log_training_data(train_frame, holdout, source=data_source, name=data_name, target=target)
            model_uri = _log_model(fitted, train_frame[features].head(50))
            return run.info.run_id, model_uri

    # -- registered models and aliases --------------------------------------


def pip_requirements() -> list[str]:
    """Pinned requirements of a logged model, given explicitly (no inference, no network)."""
    names = ("scikit-learn", "pandas", "numpy", "scipy", "cloudpickle")
    return [f"{name}=={importlib.metadata.version(name)}" for name in names]


def skops_types(fitted: Any) -> list[str]:
    """The types skops must trust to load ``fitted``: those of the model zenops itself built."""
    import skops.io

    return skops.io.get_untrusted_types(data=skops.io.dumps(fitted))


def _log_training_data(train_frame: Any, holdout: Any, *, source: str, name: str, target: str) -> None:
    """The training frame as the active run's input, the holdout as ``holdout/holdout.parquet``."""
    import mlflow
    import mlflow.data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        dataset = mlflow.data.from_pandas(train_frame, source=source, name=name, targets=target)
        mlflow.log_input(dataset, context="training")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "holdout.parquet"
        holdout.to_parquet(path)
        mlflow.log_artifact(str(path), artifact_path="holdout")


def _log_model(fitted: Any, sample: Any) -> str:
    """Log ``fitted`` on the active run (skops format, explicit requirements); returns its URI."""
    import mlflow.sklearn
    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        signature = infer_signature(sample, fitted.predict(sample))
        info = mlflow.sklearn.log_model(
            fitted,
            name="model",
            signature=signature,
            pip_requirements=pip_requirements(),
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
            skops_trusted_types=skops_types(fitted),
        )
    return str(info.model_uri)


def validate_thresholds(
    metric: str,
    champion: float,
    challenger: float,
    *,
    margin: float,
    greater_is_better: bool,
) -> tuple[bool, str, dict[str, Any]]:
    """``mlflow.validate_evaluation_results`` on the challenger against the champion.

    The results are built from the figures the comparison measured on the window
    (``mlflow.models.evaluate`` would evaluate both models again, has no baseline
    argument, and needs neither). The threshold asks for a relative change of at
    least ``margin`` (capped at 1, MLflow's largest); with margin 0, for no worse.
    Returns (passed, MLflow's message, the thresholds).
    """
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.models import MetricThreshold
    from mlflow.models.evaluation import EvaluationResult

    threshold = MetricThreshold(
        min_relative_change=float(min(margin, 1.0)), greater_is_better=bool(greater_is_better)
    )
    described = {
        metric: {"min_relative_change": float(min(margin, 1.0)), "greater_is_better": bool(greater_is_better)}
    }
    candidate = EvaluationResult(metrics={metric: float(challenger)}, artifacts={}, run_id="challenger")
    baseline = EvaluationResult(metrics={metric: float(champion)}, artifacts={}, run_id="champion")
    try:
        mlflow.validate_evaluation_results(
            validation_thresholds={metric: threshold}, candidate_result=candidate, baseline_result=baseline
        )
    except MlflowException as error:
        message = " ".join(str(getattr(error, "message", error)).split())
        return False, message, described
    return True, f"Metric {metric} passed the validation.", described
