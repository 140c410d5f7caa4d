"""Services, one per use case: the steps of monitoring, refresh, training, planning, the SLA watch,
status and notifications, written over the ports."""
