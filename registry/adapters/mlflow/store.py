"""The connection to an MLflow tracking store: client settings, error translation, one
experiment per model with its artifact location."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from registry.versions import (
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


class MlflowStore:
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
