"""Adapters of the demand core: the SQL ticket store."""
