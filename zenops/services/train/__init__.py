"""Training: fit the trainer a spec names, version its data, record its lineage, register it."""
