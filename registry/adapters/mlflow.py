"""The model registry adapter: MLflow tracking and model registry.

One place talks to MLflow. Runs are logged in one experiment per model
(``zenops/<model>``) whose artifacts live under the workspace's artifact root;
the registered model carries the model's name and the aliases ``champion``,
``challenger`` and ``previous-champion``. MLflow errors become
:class:`StoreError` (or :class:`NotFoundError` for what does not exist).
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from registry.versions import (
    CHAMPION,
    ModelVersionInfo,
    experiment_name,
)
from zenops.kernel.errors import NotFoundError, StoreError
from zenops.kernel.paths import is_uri

#: MLflow's HTTP client settings zenops starts from, unless the environment sets them:
#: a request to a tracking server is retried twice, not MLflow's seven times over about
#: four minutes, because the task that made it is itself retried (``monitoring.retries``),
#: so a server that is down fails the task in seconds, with a message naming it. And the
#: client does not print a "View run" link on stdout, which belongs to ``--json`` output.
HTTP_DEFAULTS = {
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
}


_CONNECTION_FAILURE = re.compile(r"\[Errno -?\d+\] ([^\"')(]+)|(Read timed out|timed out|RemoteDisconnected)")


def unreachable(message: str) -> str | None:
    """The reason in an MLflow client message about a server it could not reach, or None."""
    if "Max retries exceeded" not in message and "Failed to establish" not in message:
        return None
    found = _CONNECTION_FAILURE.search(message)
    return (found.group(1) or found.group(2)).strip() if found else "no answer"


class MlflowRegistry:
    """Logs runs and manages registered models in one MLflow tracking store."""

    def __init__(self, tracking_uri: str, artifact_root: str) -> None:
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root
        if tracking_uri.startswith(("http://", "https://")):
            for name, value in HTTP_DEFAULTS.items():
                os.environ.setdefault(name, value)

    @property
    def client(self):  # -> mlflow.MlflowClient
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    @contextmanager
    def errors(self, what: str) -> Iterator[None]:
        """Translate MLflow's exceptions raised while doing ``what``."""
        from mlflow.exceptions import MlflowException

        try:
            yield
        except MlflowException as error:
            code = getattr(error, "error_code", "")
            first = str(error.message if hasattr(error, "message") else error).splitlines()[0]
            down = unreachable(first)
            if down:
                raise StoreError(f"MLflow {self._where()}: unreachable ({down}) during {what}") from None
            if code == "RESOURCE_DOES_NOT_EXIST":
                raise NotFoundError(f"MLflow {self._where()}: {what}: {first}") from None
            raise StoreError(f"MLflow {self._where()}: {what}: {first}") from None
        except (OSError, ConnectionError) as error:
            raise StoreError(f"MLflow {self._where()}: {what}: {error}") from None

    def _where(self) -> str:
        uri = self.tracking_uri
        if "@" in uri:  # mask credentials
            scheme, rest = uri.split("://", 1)
            uri = f"{scheme}://***@{rest.split('@', 1)[1]}"
        return uri

    # -- experiments and runs ----------------------------------------------

    def ensure_experiment(self, model: str) -> str:
        """The experiment id of ``model``, created (with its artifact location) if missing."""
        name = experiment_name(model)
        with self.errors(f"experiment {name}"):
            existing = self.client.get_experiment_by_name(name)
            if existing is not None:
                return existing.experiment_id
            location = self._artifact_location(model)
            try:
                return self.client.create_experiment(name, artifact_location=location)
            except Exception:  # a concurrent creator won the race
                found = self.client.get_experiment_by_name(name)
                if found is None:
                    raise
                return found.experiment_id

    def _artifact_location(self, model: str) -> str:
        root = self.artifact_root
        if is_uri(root):  # s3://bucket/path, mlflow-artifacts:/path (proxied by a tracking server)
            return f"{root.rstrip('/')}/{model}"
        return (Path(root) / model).resolve().as_uri()

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
        """
        import mlflow

        with (
            self.start_run(model, run_name, tags) as run,
            self.errors(f"log monitoring run {run.info.run_id}"),
        ):
            mlflow.log_metrics(metrics)
            mlflow.log_dict(verdict, "verdict.json")
            report_uri = None
            if snapshot is not None:
                mlflow.log_text(snapshot, "evidently/snapshot.json")
                report_uri = f"{run.info.artifact_uri}/evidently/snapshot.json"
            if html is not None:
                with tempfile.TemporaryDirectory() as scratch:
                    for path in html(Path(scratch) / "report.html"):
                        mlflow.log_artifact(str(path), artifact_path="evidently")
                report_uri = f"{run.info.artifact_uri}/evidently/report.html"
            return run.info.run_id, report_uri

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
        terms = []
        for key, value in tags.items():
            if "'" in value or "`" in key:
                raise StoreError(f"MLflow {self._where()}: cannot search runs by tag {key}={value!r}")
            terms.append(f"tags.`{key}` = '{value}'")
        with self.errors(f"search runs of {model}"):
            experiment = self.client.get_experiment_by_name(experiment_name(model))
            if experiment is None:
                return []
            runs = self.client.search_runs(
                [experiment.experiment_id],
                filter_string=" and ".join(terms),
                order_by=["attributes.start_time ASC"],
                max_results=10_000,
            )
        return [(run.info.run_id, dict(run.data.tags)) for run in runs]

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

    def register(self, model: str, model_uri: str, run_id: str, tags: dict[str, str]) -> str:
        """Register ``model_uri`` as a new version of ``model``; returns the version."""
        from mlflow.exceptions import MlflowException

        with self.errors(f"register {model}"):
            try:
                self.client.create_registered_model(model, description=f"zenops model {model}")
            except MlflowException as error:
                if getattr(error, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
                    raise
            # A tracking server checks that a logged model's URI (models:/m-<id>) names the
            # logged model the version comes from; a database store does not ask.
            model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/m-") else None
            version = self.client.create_model_version(
                model, model_uri, run_id=run_id, tags=tags, model_id=model_id
            )
            return str(version.version)

    def alias(self, model: str, alias: str) -> ModelVersionInfo | None:
        """The version holding ``alias``, or None when no version of the registered model holds it.

        A registered model that does not exist is a :class:`NotFoundError`, not a
        missing alias: it is what a mistyped tracking store looks like, and
        reading it as "no champion yet" would leave the work undone without a word.
        """
        from mlflow.exceptions import MlflowException

        with self.errors(f"{model}@{alias}"):
            try:
                version = self.client.get_model_version_by_alias(model, alias)
            except MlflowException as error:
                if _alias_missing(error, alias):
                    return None
                if getattr(error, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
                    raise NotFoundError(
                        f"MLflow {self._where()}: no registered model '{model}' "
                        f"(is this the workspace's tracking store? run 'zenops train {model}' first)"
                    ) from None
                raise
            return self._info(version)

    def is_registered(self, model: str) -> bool:
        """Whether the store has a registered model called ``model``."""
        from mlflow.exceptions import MlflowException

        with self.errors(f"registered model {model}"):
            try:
                self.client.get_registered_model(model)
            except MlflowException as error:
                if getattr(error, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
                    return False
                raise
            return True

    def version(self, model: str, version: str) -> ModelVersionInfo:
        with self.errors(f"{model} version {version}"):
            return self._info(self.client.get_model_version(model, version))

    def set_alias(self, model: str, alias: str, version: str) -> None:
        with self.errors(f"set {model}@{alias}"):
            self.client.set_registered_model_alias(model, alias, version)

    def delete_alias(self, model: str, alias: str) -> None:
        from mlflow.exceptions import MlflowException

        with self.errors(f"delete {model}@{alias}"):
            try:
                self.client.delete_registered_model_alias(model, alias)
            except MlflowException as error:
                if getattr(error, "error_code", "") != "RESOURCE_DOES_NOT_EXIST":
                    raise

    def aliases(self, model: str) -> dict[str, str]:
        """Every alias of ``model`` and its version; empty when the model is not registered."""
        from mlflow.exceptions import MlflowException

        with self.errors(f"aliases of {model}"):
            try:
                registered = self.client.get_registered_model(model)
            except MlflowException as error:
                if getattr(error, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
                    return {}
                raise
            return {alias: str(version) for alias, version in registered.aliases.items()}

    def set_version_tag(self, model: str, version: str, key: str, value: str) -> None:
        with self.errors(f"tag {model} version {version}"):
            self.client.set_model_version_tag(model, version, key, value)

    def _info(self, version: Any) -> ModelVersionInfo:
        run = self.client.get_run(version.run_id)
        return ModelVersionInfo(
            model=version.name,
            version=str(version.version),
            run_id=version.run_id,
            aliases=tuple(version.aliases or ()),
            tags=dict(run.data.tags),
            params=dict(run.data.params),
            metrics=dict(run.data.metrics),
        )

    def load_model(self, model: str, alias: str = CHAMPION) -> Any:
        """The scikit-learn model behind ``models:/model@alias``."""
        return self._load(f"models:/{model}@{alias}")

    def load_version(self, model: str, version: str) -> Any:
        """The scikit-learn model of one registered version (``models:/model/version``).

        Unlike :meth:`load_model` it does not follow an alias, so an alias moved by
        someone else meanwhile cannot change which model is loaded.
        """
        return self._load(f"models:/{model}/{version}")

    def _load(self, uri: str) -> Any:
        import mlflow.sklearn

        # zenops loads only the models it logged itself, from its own store (skops format).
        os.environ.setdefault("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
        with self.errors(f"load {uri}"):
            mlflow.set_registry_uri(self.tracking_uri)
            mlflow.set_tracking_uri(self.tracking_uri)
            return mlflow.sklearn.load_model(uri)

    def version_tags(self, model: str, version: str) -> dict[str, str]:
        """The tags of a registered version itself (not of the run it came from)."""
        with self.errors(f"tags of {model} version {version}"):
            return dict(self.client.get_model_version(model, version).tags or {})

    def delete_version_tag(self, model: str, version: str, key: str) -> None:
        from mlflow.exceptions import MlflowException

        with self.errors(f"untag {model} version {version}"):
            try:
                self.client.delete_model_version_tag(model, version, key)
            except MlflowException as error:
                if getattr(error, "error_code", "") != "RESOURCE_DOES_NOT_EXIST":
                    raise


def _alias_missing(error: Exception, alias: str) -> bool:
    """MLflow's answer for an existing registered model without ``alias`` (``INVALID_PARAMETER_VALUE``)."""
    message = str(getattr(error, "message", error))
    return (
        getattr(error, "error_code", "") == "INVALID_PARAMETER_VALUE"
        and "alias" in message
        and "not found" in message
    )


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
