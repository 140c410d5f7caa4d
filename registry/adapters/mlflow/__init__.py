"""The model registry adapter: MLflow tracking and model registry.

One place talks to MLflow. Runs are logged in one experiment per model
(``zenops/<model>``) whose artifacts live under the workspace's artifact root;
the registered model carries the model's name and the aliases ``champion``,
``challenger`` and ``previous-champion``. MLflow errors become
:class:`StoreError` (or :class:`NotFoundError` for what does not exist).
"""

from registry.adapters.mlflow.models import MlflowRegistry
from registry.adapters.mlflow.runs import MlflowRuns, pip_requirements, skops_types, validate_thresholds
from registry.adapters.mlflow.store import HTTP_DEFAULTS, MlflowStore, unreachable

__all__ = [
    "HTTP_DEFAULTS",
    "MlflowRegistry",
    "MlflowRuns",
    "MlflowStore",
    "pip_requirements",
    "skops_types",
    "unreachable",
    "validate_thresholds",
]
