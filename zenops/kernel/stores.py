"""Where a workspace's state lives, once resolved (``stores:`` of ``zenops.yaml`` and the environment)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["StoreUrls"]


@dataclass(frozen=True)
class StoreUrls:
    """Where this workspace's state lives, fully resolved."""

    tracking_uri: str
    tickets_url: str
    dvc_remote: str
    artifact_root: str
    #: The Evidently workspace: a folder or an Evidently UI's URL; None: none kept.
    evidently: str | None = None
