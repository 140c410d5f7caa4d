"""Registry and lineage: MLflow models and runs, DVC + git data versions."""
