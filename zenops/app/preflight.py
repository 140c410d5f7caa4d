"""Checks run once, before any flow: the stores a command uses and the models it works on.

A problem found here is one line and exit code 2, naming the field (or the
environment variable that set it) and the value. Found inside a flow, the same
problem would be retried as if a store had failed, end as exit code 1 and come
with Prefect's logs; or, worse, pass silently (a mistyped SQLite path opens a new,
empty database, in which no model has a champion). Nothing here creates a store:
only ``zenops init`` does.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

from registry.versions import CHAMPION, PREVIOUS_CHAMPION
from zenops.kernel.config import ModelSpec
from zenops.kernel.errors import ConfigError, DataError, NotFoundError, UsageError
from zenops.kernel.tabular import require_columns
from zenops.workspace import ENV_OVERRIDES, Workspace

#: Tracking-store schemes MLflow can open (a ``+driver`` suffix is allowed).
TRACKING_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql", "http", "https", "file", "databricks")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9.-]*)(\+[A-Za-z0-9_]+)?:")
TRACKING_EXAMPLE = "such as sqlite:///.zenops/mlflow.db or http://127.0.0.1:5000"
TICKETS_EXAMPLE = "such as sqlite:///.zenops/zenops.db or postgresql+psycopg://user@host/db"


def mask(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    return re.sub(r"(://[^:/@\s]*:)[^@/\s]*@", r"\1***@", url)


def setting(workspace: Workspace, key: str) -> tuple[str, str]:
    """``(name, value)`` of a store setting: the environment variable that set it, else ``stores.KEY``."""
    variable = ENV_OVERRIDES[key]
    if os.environ.get(variable):
        return variable, os.environ[variable]
    return f"stores.{key}", getattr(workspace.config.stores, key)


def _sqlite_file(resolved: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL, or None for an in-memory one."""
    path = resolved.removeprefix("sqlite:///").split("?", 1)[0]
    return None if not path or ":memory:" in path else Path(path)


def _missing_file(name: str, value: str, path: Path) -> UsageError:
    return UsageError(
        f"{name}: '{mask(value)}': no such database file ({path}); check the value, "
        "or run 'zenops init' to create the workspace's stores"
    )


def check_tracking_uri(workspace: Workspace, create: bool = False) -> None:
    """The tracking URI parses, has a scheme MLflow knows, and (unless ``create``) its SQLite file exists."""
    name, value = setting(workspace, "tracking_uri")
    found = _SCHEME.match(value)
    if not found or any(char.isspace() for char in value):
        raise UsageError(f"{name}: '{mask(value)}' is not a URI {TRACKING_EXAMPLE}")
    scheme = found.group(1).lower()
    if scheme not in TRACKING_SCHEMES:
        raise UsageError(
            f"{name}: '{mask(value)}': unknown scheme '{scheme}' "
            f"(expected one of {', '.join(TRACKING_SCHEMES)})"
        )
    rest = value[found.end() :]
    if scheme in ("http", "https") and not re.match(r"^//[^/\s]+", rest):
        raise UsageError(f"{name}: '{mask(value)}' names no server {TRACKING_EXAMPLE}")
    resolved = workspace.stores.tracking_uri
    if scheme == "sqlite" and not create:
        path = _sqlite_file(resolved)
        if path is not None and not path.is_file():
            raise _missing_file(name, value, path)


def check_tickets_url(workspace: Workspace, create: bool = False) -> None:
    """The ticket store's URL parses as a database URL SQLAlchemy can open; its SQLite file exists."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    name, value = setting(workspace, "tickets_url")
    try:
        url = make_url(value)
        url.get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError, ImportError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise UsageError(
            f"{name}: '{mask(value)}' is not a database URL {TICKETS_EXAMPLE} ({reason})"
        ) from None
    if url.get_backend_name() == "sqlite" and not create:
        path = _sqlite_file(workspace.stores.tickets_url)
        if path is not None and not path.is_file():
            raise _missing_file(name, value, path)


def models_of(workspace: Workspace, names: list[str] | None) -> list[ModelSpec]:
    """The specs ``names`` picks (default: every model); an empty or model-less file is an error."""
    config = workspace.config
    if not config.models:
        raise ConfigError(f"{workspace.config_path}: no models: add one under models: (see zenops init)")
    return [config.model(name) for name in names] if names else list(config.models)


def columns_of(path: Path, label: str) -> list[str]:
    """The column names of a CSV (its first line) or Parquet file (its schema), without reading rows."""
    try:
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), None)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        first = " ".join(str(error).split()) or type(error).__name__
        raise DataError(f"{label}: unreadable ({first})") from None
    if not header:
        raise DataError(f"{label}: the file is empty")
    return header


def check_training_columns(workspace: Workspace, spec: ModelSpec, required: bool) -> None:
    """Every column ``zenops.yaml`` names for ``spec`` is in its training data's header.

    ``required``: a missing training file is an error (``zenops train``); otherwise
    it is skipped, as monitoring and refresh read the champion's data from DVC.
    """
    path = workspace.path(spec.training_data)
    if not path.is_file():
        if required:
            raise NotFoundError(
                f"{workspace.config_path.name}: model '{spec.name}' training_data: "
                f"'{spec.training_data}': no such file"
            )
        return
    columns = columns_of(path, spec.training_data)
    require_columns(columns, spec, spec.training_data, workspace.config_path.name)


def check_champions(workspace: Workspace, specs: list[ModelSpec], previous: bool = False) -> None:
    """Each model has a champion (and, with ``previous``, a previous champion) in the tracking store."""
    registry = workspace.registry()
    name, value = setting(workspace, "tracking_uri")
    for spec in specs:
        aliases = registry.aliases(spec.name)
        if CHAMPION not in aliases:
            what = "has no champion" if registry.is_registered(spec.name) else "is not a registered model"
            raise NotFoundError(
                f"model '{spec.name}' {what} in the tracking store ({name}: '{mask(value)}'): "
                f"run 'zenops train {spec.name}'"
            )
        if previous and PREVIOUS_CHAMPION not in aliases:
            raise NotFoundError(
                f"model '{spec.name}' has no previous champion to roll back to "
                f"(champion is version {aliases[CHAMPION]}, the first one)"
            )


def waiting_batches(workspace: Workspace, spec: ModelSpec) -> bool:
    """Whether the model's batch folder holds any CSV or Parquet file."""
    folder = workspace.path(spec.batches)
    return folder.is_dir() and any(
        p.suffix.lower() in (".csv", ".parquet") and p.is_file() for p in folder.iterdir()
    )


def check(
    workspace: Workspace,
    models: list[str] | None = None,
    *,
    uses_models: bool = True,
    training: str = "present",
    tracking: bool = True,
    tickets: bool = True,
    champions: str | None = None,
) -> list[ModelSpec]:
    """All the checks a command needs, before it starts any work; returns the models it uses.

    - ``uses_models``: the command works on ``models`` (default all): a file
      without models is refused, and each model's training columns are checked.
    - ``training``: ``required`` (the training file must exist), ``present`` (its
      header is checked when it exists) or ``skip``.
    - ``tracking`` / ``tickets``: the stores the command opens.
    - ``champions``: ``waiting`` (models with batches waiting need a champion),
      ``champion`` (each model needs one) or ``previous`` (and a previous one).
    """
    workspace.require()
    specs = models_of(workspace, models) if uses_models else []
    if tracking:
        check_tracking_uri(workspace)
    if tickets:
        check_tickets_url(workspace)
    if training != "skip":
        for spec in specs:
            check_training_columns(workspace, spec, required=training == "required")
    if champions == "waiting":
        check_champions(workspace, [spec for spec in specs if waiting_batches(workspace, spec)])
    elif champions:
        check_champions(workspace, specs, previous=champions == "previous")
    return specs
