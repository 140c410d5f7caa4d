"""Adapters of zenops' own ports: the workspace database beyond tickets (monitoring state,
leases), notifications (Apprise) and where Prefect's UI and the current flow run are."""
