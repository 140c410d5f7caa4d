"""Adapters of the drift core: Evidently (drift reports) and NannyML (label-free estimates)."""
