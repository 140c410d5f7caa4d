"""Adapters of the workspace database beyond tickets: monitoring state and leases."""
