"""The demo's data scientist: rebuilding a handed-back model, as the rebuild dossier says.

The dossier's return steps, done by the demo: the rebuilt training set (the labelled
days since the concept changed, the most recent one left out for the comparison) is
written into the workspace and versioned there (DVC add and push, a git commit); the
model is fitted on the rows zenops' seeded split leaves for training (the rest is its
baseline's holdout); a run is logged to the model's MLflow experiment with MLflow's own
API — the lineage tags, the changed feature set and parameters, the model — and
registered as a new version tagged ``zenops.candidate`` with the rebuild ticket. zenops
notices it (here, the next monitoring cycle: the demo sets up no registry webhook) and
evaluates it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pandas as pd

from registry import candidates, lineage
from registry.versions import experiment_name
from zenops.kernel.config import ModelSpec
from zenops.workspace import Workspace

__all__ = ["REBUILDS", "Rebuild", "rebuild_and_register"]


@dataclass(frozen=True)
class Rebuild:
    """What the data scientists change: the features they drop and the trainer's parameters."""

    drop: tuple[str, ...]
    params: dict[str, float | int]
    why: str


REBUILDS = {
    "loan-default": Rebuild(
        drop=("employment_years",),
        params={"max_iter": 300, "learning_rate": 0.05},
        why="trained only on the days since the drift began, without employment_years, "
        "with more, slower boosting rounds",
    ),
}


def rebuild_and_register(
    workspace: Workspace, spec: ModelSpec, frame: pd.DataFrame, ticket: int, change: Rebuild
) -> tuple[str, str]:
    """Version ``frame`` in the workspace, train, log and register it as a candidate; (version, run id)."""
    import mlflow
    import mlflow.sklearn
    import skops.io

    from zenops.services.train.fitting import fit, split_holdout

    path = f"data/{spec.name}/rebuild.parquet"
    frame.to_parquet(workspace.path(path), index=False)
    data = workspace.data_store().snapshot(path, f"data: {spec.name} rebuilt by the data scientists")
    numerical = [c for c in spec.features.numerical if c not in change.drop]
    categorical = [c for c in spec.features.categorical if c not in change.drop]
    trainer = spec.trainer.model_copy(update={"params": {**spec.trainer.params, **change.params}})
    features = spec.features.model_copy(update={"numerical": numerical, "categorical": categorical})
    rebuilt = spec.model_copy(update={"trainer": trainer, "features": features})
    train, _ = split_holdout(frame, rebuilt)  # the seeded holdout is left for the baseline
    model = fit(rebuilt, train)
    tags = {
        lineage.MODEL: spec.name,
        lineage.DATA_PATH: data.path,
        lineage.DATA_REV: data.rev,
        lineage.DATA_MD5: data.md5,
        lineage.TRAINER: trainer.reference,
        lineage.CODE_REV: data.rev,
        candidates.FEATURES: candidates.features_tag(numerical, categorical),
    }
    uri = workspace.stores.tracking_uri
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    experiment = mlflow.set_experiment(experiment_name(spec.name))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="rebuild", tags=tags) as run:
            mlflow.log_params({f"trainer.{k}": v for k, v in trainer.params.items()})
            trusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
            info = mlflow.sklearn.log_model(model, name="model", skops_trusted_types=trusted)
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    created = client.create_model_version(
        spec.name,
        info.model_uri,
        run.info.run_id,
        tags={candidates.CANDIDATE: str(ticket)},
        model_id=info.model_id,
    )
    return str(created.version), run.info.run_id
