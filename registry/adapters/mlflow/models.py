"""The MLflow model registry: registered versions, aliases, version tags, loading a model."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from registry.adapters.mlflow.runs import MlflowRuns
from registry.versions import (
    CHAMPION,
    ModelVersionInfo,
)
from zenops.kernel.errors import NotFoundError


class MlflowRegistry(MlflowRuns):
    """The :class:`~zenops.ports.ModelRegistry` port on MLflow."""

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
            # MLflow's database store reads that logged model through the process-wide tracking
            # URI, not this client's: bind it to this store first.
            import mlflow

            mlflow.set_tracking_uri(self.tracking_uri)
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
            created=_registered_at(version),
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

    def log_version_file(self, model: str, version: str, data: bytes, artifact: str) -> str:
        """Store ``data`` as the artifact ``artifact`` of the version's run; returns its URI."""
        where = PurePosixPath(artifact)
        with self.errors(f"store {artifact} of {model} version {version}"):
            run_id = self.client.get_model_version(model, version).run_id
            with tempfile.TemporaryDirectory() as scratch:
                path = Path(scratch) / where.name
                path.write_bytes(data)
                folder = str(where.parent)
                self.client.log_artifact(run_id, str(path), None if folder == "." else folder)
        return f"runs:/{run_id}/{artifact}"

    def read_version_file(self, model: str, version: str, artifact: str) -> bytes:
        """The bytes of the artifact ``artifact`` of the version's run (NotFoundError: none)."""
        with self.errors(f"read {artifact} of {model} version {version}"):
            run_id = self.client.get_model_version(model, version).run_id
            with tempfile.TemporaryDirectory() as scratch:
                try:
                    local = self.client.download_artifacts(run_id, artifact, scratch)
                except OSError as error:  # the artifact store has no such file
                    where = f"MLflow {self._where()}: {model} version {version}"
                    raise NotFoundError(f"{where} has no artifact {artifact} ({error})") from None
                return Path(local).read_bytes()

    def all_version_tags(self, model: str) -> dict[str, dict[str, str]]:
        """Every registered version of ``model`` with its own tags (empty: not registered)."""
        if "'" in model:
            raise NotFoundError(f"MLflow {self._where()}: no registered model {model!r}")
        with self.errors(f"versions of {model}"):
            found = self.client.search_model_versions(f"name='{model}'", max_results=10_000)
            return {str(v.version): dict(v.tags or {}) for v in found}

    def logged_models(self, run_id: str) -> list[tuple[str, str]]:
        """The models ``run_id`` logged, as (name, ``models:/m-…`` URI), oldest first."""
        with self.errors(f"models logged by run {run_id}"):
            run = self.client.get_run(run_id)
            found = self.client.search_logged_models(
                [run.info.experiment_id], filter_string=f"source_run_id = '{run_id}'"
            )
            ordered = sorted(found, key=lambda m: m.creation_timestamp or 0)
            return [(m.name, f"models:/{m.model_id}") for m in ordered]

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


def _registered_at(version: Any) -> datetime | None:
    """When MLflow registered ``version`` (its creation timestamp, in milliseconds)."""
    stamp = getattr(version, "creation_timestamp", None)
    return None if stamp is None else datetime.fromtimestamp(int(stamp) / 1000, UTC)
