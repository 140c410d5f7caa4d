"""Prefect flows: thin lists of task calls; the logic lives in the packages they call."""
