"""A data scientist's rebuild, done as the dossier says, for the tests of the return path.

The rebuilt training set is written into the workspace and versioned there (DVC add,
push, git commit: the workspace's data store), a run is logged to the model's MLflow
experiment with MLflow's own API — the lineage tags, the trainer's parameters, the
model — and, unless asked not to, registered as a version tagged ``zenops.candidate``.

The model's requirements are given explicitly, as zenops gives its own; MLflow's
inference (a process that imports the model to see what it uses, seconds each time)
runs only when asked, as for a data scientist who leaves them to MLflow.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from registry import candidates, lineage
from registry.adapters.mlflow import pip_requirements
from registry.versions import experiment_name
from zenops.services.train.fitting import fit
from zenops.workspace import Workspace

REBUILT = "data/{model}/rebuild.parquet"


def rebuild(
    ws: Workspace,
    model: str,
    frame: pd.DataFrame,
    *,
    params: dict | None = None,
    numerical: Sequence[str] | None = None,
    shuffled: bool = False,
    lineage_tags: bool = True,
    register: bool = True,
    ticket: int | str | None = None,
    tracking_uri: str | None = None,
    inferred_requirements: bool = False,
) -> tuple[str, str | None]:
    """Train the model's estimator on ``frame`` (its labelled rows), log and register it; (run id, version).

    ``numerical``: the numerical features it keeps (default: the spec's); ``shuffled``
    permutes the labels (a model that learned nothing); ``lineage_tags=False`` leaves
    the lineage tags out; ``register=False`` leaves a run only; ``inferred_requirements``
    leaves the model's requirements to MLflow's inference.
    """
    import mlflow
    import mlflow.sklearn
    import skops.io

    spec = ws.config.model(model)
    frame = frame.copy()
    if shuffled:
        frame[spec.target] = np.random.default_rng(3).permutation(frame[spec.target].to_numpy())
    path = REBUILT.format(model=model)
    ws.path(path).parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(ws.path(path), index=False)
    version = ws.data_store().snapshot(path, f"data: {model} rebuilt by the data scientists")
    features = spec.features.model_copy(update={"numerical": list(numerical or spec.features.numerical)})
    trainer = spec.trainer.model_copy(update={"params": {**spec.trainer.params, **(params or {})}})
    rebuilt = spec.model_copy(update={"features": features, "trainer": trainer})
    fitted = fit(rebuilt, frame)
    tags = {
        lineage.MODEL: model,
        candidates.FEATURES: candidates.features_tag(features.numerical, features.categorical),
    }
    if lineage_tags:
        tags |= {
            lineage.DATA_PATH: version.path,
            lineage.DATA_REV: version.rev,
            lineage.DATA_MD5: version.md5,
            lineage.TRAINER: trainer.reference,
            lineage.CODE_REV: version.rev,
        }
    uri = tracking_uri or ws.stores.tracking_uri
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    experiment = mlflow.set_experiment(experiment_name(model))
    with (
        warnings.catch_warnings(),
        mlflow.start_run(experiment_id=experiment.experiment_id, tags=tags) as run,
    ):
        warnings.simplefilter("ignore")
        mlflow.log_params({f"trainer.{k}": v for k, v in trainer.params.items()})
        trusted = skops.io.get_untrusted_types(data=skops.io.dumps(fitted))  # the model they built
        requirements = {} if inferred_requirements else {"pip_requirements": pip_requirements()}
        info = mlflow.sklearn.log_model(fitted, name="model", skops_trusted_types=trusted, **requirements)
    if not register:
        return run.info.run_id, None
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    version_tags = {} if ticket is None else {candidates.CANDIDATE: str(ticket)}
    created = client.create_model_version(
        model, info.model_uri, run.info.run_id, tags=version_tags, model_id=info.model_id
    )
    return run.info.run_id, str(created.version)
