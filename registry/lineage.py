"""The lineage a training run carries, as MLflow tags: enough to re-hydrate it.

Pure: names and a small record, no MLflow import.
"""

from __future__ import annotations

from dataclasses import dataclass

from zenops.kernel.errors import LineageError

DATA_PATH = "zenops.data.path"
DATA_REV = "zenops.data.rev"
DATA_MD5 = "zenops.data.md5"
TRAINER = "zenops.trainer"
CODE_REV = "zenops.code.rev"
CODE_VERSION = "zenops.code.version"
MODEL = "zenops.model"
RUN_KIND = "zenops.run"
REFRESHES = "zenops.refreshes.version"

LINEAGE_TAGS = (DATA_PATH, DATA_REV, DATA_MD5, TRAINER, CODE_REV)


@dataclass(frozen=True)
class DataVersion:
    """One DVC-tracked file at one git commit of the workspace."""

    path: str
    rev: str
    md5: str


@dataclass(frozen=True)
class Lineage:
    """What a model version was built from."""

    data: DataVersion
    trainer: str
    code_rev: str
    code_version: str

    def tags(self) -> dict[str, str]:
        return {
            DATA_PATH: self.data.path,
            DATA_REV: self.data.rev,
            DATA_MD5: self.data.md5,
            TRAINER: self.trainer,
            CODE_REV: self.code_rev,
            CODE_VERSION: self.code_version,
        }

    @classmethod
    def from_tags(cls, tags: dict[str, str], where: str) -> Lineage:
        """Read lineage back from a run's tags; a missing tag is a LineageError naming it."""
        missing = [tag for tag in LINEAGE_TAGS if not tags.get(tag)]
        if missing:
            raise LineageError(f"{where}: lineage tag(s) missing: {', '.join(missing)}")
        return cls(
            data=DataVersion(tags[DATA_PATH], tags[DATA_REV], tags[DATA_MD5]),
            trainer=tags[TRAINER],
            code_rev=tags[CODE_REV],
            code_version=tags.get(CODE_VERSION, ""),
        )
