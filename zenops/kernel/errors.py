"""The one error tree of zenops.

Every error raised on purpose is a :class:`ZenopsError`. Adapters translate the
exceptions of the systems they wrap (MLflow, DVC, git, SQLAlchemy, Evidently)
into one of these, so callers handle one hierarchy:

    ZenopsError                 exit code 1: the work failed
    ├── UsageError              exit code 2: bad usage, configuration or input
    │   ├── ConfigError         zenops.yaml (or a setting) is invalid
    │   ├── DataError           a data file, batch or column is invalid
    │   ├── NotFoundError       an unknown model, ticket or version
    │   └── TransitionError     an illegal ticket status move
    ├── StoreError              an outside store failed (MLflow, DVC, git, database)
    ├── LineageError            recorded lineage does not match what is stored
    ├── TrainingError           a trainer failed
    └── PlanningError           the planner could not produce a plan

The CLI prints ``str(error)`` as one line and exits with ``error.exit_code``;
flows let the error fail the Prefect state with the same message.
"""

from __future__ import annotations


class ZenopsError(Exception):
    """Base of every error zenops raises on purpose."""

    exit_code = 1

    def __str__(self) -> str:
        # One line, always: the CLI prints it as is.
        return " ".join(super().__str__().split())


class UsageError(ZenopsError):
    """Bad usage, configuration or input: the user can fix it."""

    exit_code = 2


class ConfigError(UsageError):
    """The workspace configuration is invalid; the message names file and field."""


class DataError(UsageError):
    """A data file, batch or column is invalid; the message names file and column."""


class NotFoundError(UsageError):
    """An unknown model, ticket, version or file."""


class TransitionError(UsageError):
    """A ticket status move that the status machine does not allow."""


class StoreError(ZenopsError):
    """An outside store (MLflow, DVC, git, the ticket database) failed."""


class LineageError(ZenopsError):
    """Recorded lineage (data revision, md5) does not match what is stored."""


class TrainingError(ZenopsError):
    """A trainer failed to fit or evaluate a model."""


class PlanningError(ZenopsError):
    """The planner could not produce a plan."""
