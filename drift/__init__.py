"""Drift: batch validation, the Evidently engine and the pure verdict policy."""
