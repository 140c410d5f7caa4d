"""Registry: the pure rules of model versions and their lineage, and three adapters.

- :mod:`registry.versions` — a registered version and the alias names.
- :mod:`registry.lineage` — the tags that re-hydrate a version (data path, rev, md5,
  trainer, code rev).
- :mod:`registry.promotion` — alias moves, the audit record, roll-back.
- :mod:`registry.comparison` — the paired comparison of challenger and champion that
  the promotion gate decides on.
- :mod:`registry.adapters.mlflow`, :mod:`registry.adapters.dvc`,
  :mod:`registry.adapters.git` — MLflow tracking and registry, DVC data versions, git.
"""
