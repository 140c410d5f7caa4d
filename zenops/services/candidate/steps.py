"""A candidate evaluation's steps, by the names :mod:`zenops.services.candidate.run` calls them.

This module is the plain runner's namespace (each step a plain call);
``flows/candidate.py`` makes the same steps Prefect tasks under the same names. The
comparison and the promotion are the refresh's own steps: a candidate goes through
exactly the gate a refreshed challenger goes through.

=========================  =====================================================  ===========
step                       does                                                   module
=========================  =====================================================  ===========
read_candidate             the version down to its run, lineage and features       candidate.read
read_champion              ``models:/NAME@champion`` down to its run               refresh.rehydrate
answered_tickets           the tickets it answers: named, and open rebuilds        candidate.tickets
rehydrate_candidate        its training data, md5-checked                          candidate.read
production_rows            labelled production rows it never trained on           refresh.window
candidate_window           those newer than its training data                      refresh.window
load_candidate             the candidate's model                                   (registry)
compare_and_record         both models on the window, the gate, on its run        refresh.compare
move_aliases               promote: ``previous-champion`` ← champion ← candidate   refresh.promote
write_promotion_audit      the audit run and the versions' tags                    refresh.promote
close_candidate_promoted   its tickets closed with the promotion                   candidate.decide
reject_candidate           rejected: the ledger, its tickets' evidence             candidate.decide
request_approval           the approval ticket, when the model asks for one        approval
profile_champion           the new champion's monitoring profile                   champion_profile
=========================  =====================================================  ===========
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from zenops.kernel.config import ModelSpec
from zenops.services.candidate import tickets as candidate_tickets
from zenops.services.candidate.decide import close_candidate_promoted, reject_candidate
from zenops.services.candidate.read import CandidateRef, read_candidate, rehydrate_candidate, trained_until
from zenops.services.champion_profile import profile_champion
from zenops.services.refresh.approval import request_approval
from zenops.services.refresh.compare import compare_and_record
from zenops.services.refresh.context import RefreshPorts
from zenops.services.refresh.promote import move_aliases, write_promotion_audit
from zenops.services.refresh.rehydrate import read_champion
from zenops.services.refresh.window import WindowSplit, production_rows
from zenops.services.refresh.window import candidate_window as window_after

__all__ = [
    "answered_tickets",
    "candidate_window",
    "close_candidate_promoted",
    "compare_and_record",
    "load_candidate",
    "move_aliases",
    "production_rows",
    "profile_champion",
    "read_candidate",
    "read_champion",
    "rehydrate_candidate",
    "reject_candidate",
    "request_approval",
    "write_promotion_audit",
]


def answered_tickets(ports: RefreshPorts, spec: ModelSpec, named: int | None) -> tuple[list[int], list[str]]:
    """The open tickets the candidate answers (the named one first), and notes."""
    return candidate_tickets.answered_tickets(ports.tickets, spec, named)


def candidate_window(spec: ModelSpec, rows: pd.DataFrame, data: pd.DataFrame) -> WindowSplit:
    """The labelled rows the candidate never saw, newer than its training data."""
    return window_after(rows, spec, trained_until(spec, data))


def load_candidate(ports: RefreshPorts, candidate: CandidateRef) -> Any:
    """The candidate's model, loaded by version."""
    return ports.registry.load_version(candidate.model, candidate.version)
