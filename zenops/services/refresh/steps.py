"""The refresh's steps, by the names :mod:`zenops.services.refresh.run` calls them.

This module is the plain runner's namespace (each step a plain call); ``flows/refresh.py``
makes the same steps Prefect tasks under the same names. In order:

========================  =======================================================  ==========
step                      does                                                     module
========================  =======================================================  ==========
read_champion             ``models:/NAME@champion`` down to its run                rehydrate
claim_ticket              the refresh ticket, moved to ``in_progress``             tickets
rehydrate                 the champion's exact training data, md5-checked          rehydrate
production_rows           labelled production rows (batches joined with labels)   window
hold_out                  the recent window the challenger never sees              window
snapshot_refreshed_data   the refreshed training set, versioned                    retrain
retrain                   the challenger, with the champion's trainer              retrain
register_challenger       logged with lineage, alias ``challenger``                retrain
compare_and_record        both models on the window, the gate, logged on the run   compare
move_aliases              promote: ``previous-champion`` ← champion ← challenger   promote
write_promotion_audit     the audit run and the versions' tags                     promote
close_promoted            the ticket closed with the promotion                     tickets
request_approval          passed, but the model asks for approval: its ticket      approval
write_dossier             hand back: the rebuild dossier                           handback
open_rebuild_ticket       the rebuild ticket carrying the dossier                  tickets
close_handed_back         the ticket closed with the hand-back                     tickets
note_failure              a failed refresh recorded, its ticket blocked            tickets
profile_champion          the promoted champion's monitoring profile               profile
========================  =======================================================  ==========
"""

from __future__ import annotations

from zenops.services.champion_profile import profile_champion
from zenops.services.refresh.approval import request_approval
from zenops.services.refresh.compare import Comparison, compare, compare_and_record, log_comparison
from zenops.services.refresh.handback import what_was_tried, write_dossier
from zenops.services.refresh.promote import move_aliases, write_promotion_audit
from zenops.services.refresh.rehydrate import ChampionRef, read_champion, refresh_spec, rehydrate
from zenops.services.refresh.retrain import register_challenger, retrain, snapshot_refreshed_data
from zenops.services.refresh.tickets import (
    claim_ticket,
    close_handed_back,
    close_promoted,
    note_failure,
    open_rebuild_ticket,
)
from zenops.services.refresh.window import (
    WindowSplit,
    hold_out,
    production_rows,
    refreshed_training_set,
    split_window,
    timestamps,
)

__all__ = [
    "ChampionRef",
    "Comparison",
    "WindowSplit",
    "claim_ticket",
    "close_handed_back",
    "close_promoted",
    "compare",
    "compare_and_record",
    "hold_out",
    "log_comparison",
    "move_aliases",
    "note_failure",
    "open_rebuild_ticket",
    "production_rows",
    "profile_champion",
    "read_champion",
    "refresh_spec",
    "refreshed_training_set",
    "register_challenger",
    "rehydrate",
    "request_approval",
    "retrain",
    "snapshot_refreshed_data",
    "split_window",
    "timestamps",
    "what_was_tried",
    "write_dossier",
    "write_promotion_audit",
]
