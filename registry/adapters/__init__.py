"""Adapters of the registry core: MLflow (models, runs, aliases), DVC (data versions), git."""
