"""Demand: tickets, SLA clocks, priorities, the ticket store and the capacity-aware planner."""
