"""The champion profile: what monitoring needs of a model version, built once.

A profile is built from the version's lineage (its exact training data at its DVC
version, the seeded holdout the model did not fit, the model's predictions on it) when
the version becomes champion — training, promotion, rollback — or, for a version that
has none (trained before profiles existed), the first time monitoring meets it. It holds:

- the reference sample with the model's predictions, which every drift test and every
  Evidently report compares a batch with;
- the baseline metric on the holdout, with its standard error;
- the training classes and what the batch checks need of the training data (ranges,
  distinct counts, category sets: :class:`drift.batches.ReferenceFacts`);
- the fitted label-free estimator (CBPE or DLE) and its fit-time check;
- the model itself, as loaded from the registry, so a cycle scores a batch without
  loading the model's registered artifact again (skops alone walks every module of
  scikit-learn on its first import).

It is one file (a zip: ``profile.json``, ``reference.parquet``, ``model.pickle`` and, when
the metric can be estimated, ``estimator.pickle``), stored as an artifact of the version's run
(:data:`ARTIFACT`) and recorded in the version's tags with its sha256 and the spec it was
built for; a copy is kept under ``.zenops/profiles/MODEL/``. A cycle reads it in one read
and checks the hash before it uses a byte of it. A profile that fails its hash or cannot
be read is a :class:`~zenops.kernel.errors.LineageError` naming the version and the file:
it is never rebuilt in silence from other data. A changed spec (features, reference
sample, seed…) is a different profile: it is built again from the same lineage.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from drift.batches import ReferenceFacts
from drift.measurement import sample_reference
from drift.metrics import MeasuredPerformance, measured_performance
from drift.trust import CalibrationCheck
from registry.lineage import Lineage
from registry.versions import ModelVersionInfo
from zenops.kernel.config import ModelSpec
from zenops.kernel.deferred import FIRST_IMPORT
from zenops.kernel.errors import LineageError, NotFoundError, ZenopsError
from zenops.kernel.offline import stay_offline
from zenops.kernel.paths import STATE_DIR
from zenops.ports import DataStore, Estimator, EstimatorFactory, ModelRegistry
from zenops.services.train.fitting import predict_frame, split_holdout

log = logging.getLogger("zenops.monitor")

__all__ = [
    "ARTIFACT",
    "FORMAT",
    "SHA_TAG",
    "SPEC_TAG",
    "ChampionProfile",
    "build_profile",
    "cache_path",
    "champion_profile",
    "decode",
    "profile_champion",
    "publish_profile",
    "sha256",
    "spec_key",
]

#: Where the profile lives among the artifacts of the version's run.
ARTIFACT = "zenops/profile.zip"
#: The version tags that record it: its content hash and the spec it was built for.
SHA_TAG, SPEC_TAG = "zenops.profile.sha256", "zenops.profile.spec"
FORMAT = 1


class ProfileWorkspace(Protocol):
    """What building and reading a profile needs of the workspace."""

    root: Path

    def registry(self) -> ModelRegistry: ...
    def data_store(self) -> DataStore: ...
    def estimator_factory(self) -> EstimatorFactory: ...


@dataclass
class ChampionProfile:
    """A version's profile, decoded; the estimator is unpickled (NannyML imported) on first use."""

    model: str
    version: str
    run_id: str
    spec_key: str
    reference: pd.DataFrame
    baseline: MeasuredPerformance
    facts: ReferenceFacts
    classes: list[Any] | None
    check: CalibrationCheck | None
    sha256: str = ""
    estimator_bytes: bytes | None = field(default=None, repr=False)
    model_bytes: bytes | None = field(default=None, repr=False)
    _estimator: Estimator | None = field(default=None, repr=False)
    _model: Any = field(default=None, repr=False)

    @property
    def fitted_model(self) -> Any:
        """The version's fitted model (None in a profile that does not hold it)."""
        if self._model is None and self.model_bytes is not None:
            with FIRST_IMPORT:  # unpickling imports the model's library the first time
                self._model = pickle.loads(self.model_bytes)  # noqa: S301 - hash-checked bytes
        return self._model

    @property
    def estimator(self) -> Estimator | None:
        """The fitted label-free estimator (None when the model's metric has none)."""
        if self._estimator is None and self.estimator_bytes is not None:
            stay_offline()  # a process zenops did not start (a Dask worker) may import NannyML here
            with FIRST_IMPORT:  # unpickling imports NannyML the first time
                self._estimator = pickle.loads(self.estimator_bytes)  # noqa: S301 - hash-checked bytes
        return self._estimator


def spec_key(spec: ModelSpec) -> str:
    """A short hash of the spec a profile is built for: a changed spec is another profile."""
    return hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:16]


def build_profile(workspace: ProfileWorkspace, spec: ModelSpec, info: ModelVersionInfo) -> bytes:
    """The profile of ``info`` from its lineage, encoded (see the module's docstring)."""
    trail = Lineage.from_tags(info.tags, f"{spec.name} version {info.version}")
    training = workspace.data_store().read_frame(trail.data)
    model = workspace.registry().load_version(spec.name, info.version)
    # The reference is the version's seeded holdout, rebuilt from the exact training data:
    # rows the model did not fit, so its predictions are honest and prediction drift
    # compares like with like.
    _, holdout = split_holdout(training, spec)
    holdout = pd.concat([holdout, predict_frame(model, holdout, spec)], axis=1)
    reference = sample_reference(holdout, spec)
    # The baseline with its sampling error, so a drop is judged against both noises.
    baseline = measured_performance(holdout, spec)
    estimator = workspace.estimator_factory()(holdout, spec)
    classes = None
    if spec.task == "classification":
        classes = sorted(_plain(v) for v in training[spec.target].dropna().unique().tolist())
    meta = {
        "format": FORMAT,
        "model": spec.name,
        "version": info.version,
        "run_id": info.run_id,
        "spec": spec_key(spec),
        "data": trail.tags(),
        "reference_rows": len(reference),
        "baseline": baseline.to_dict(),
        "classes": classes,
        "facts": ReferenceFacts.of(training, spec).to_dict(),
        "check": None if estimator is None else estimator.check.to_dict(),
    }
    frame = io.BytesIO()
    reference.to_parquet(frame, index=True)
    members = {
        "profile.json": json.dumps(meta, sort_keys=True, default=str).encode(),
        "reference.parquet": frame.getvalue(),
    }
    members["model.pickle"] = pickle.dumps(model, protocol=5)
    if estimator is not None:
        members["estimator.pickle"] = pickle.dumps(estimator, protocol=5)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            # A fixed time stamp: the same profile is the same bytes, whenever it is built.
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def decode(data: bytes, where: str) -> ChampionProfile:
    """A profile from its bytes (already hash-checked); a LineageError naming ``where`` if unreadable."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            meta = json.loads(archive.read("profile.json"))
            reference = pd.read_parquet(io.BytesIO(archive.read("reference.parquet")))
            names = archive.namelist()
            estimator = archive.read("estimator.pickle") if "estimator.pickle" in names else None
            model = archive.read("model.pickle") if "model.pickle" in names else None
        if meta.get("format") != FORMAT:
            raise ValueError(f"format {meta.get('format')!r}, this zenops reads {FORMAT}")
        baseline = meta["baseline"]
        check = meta["check"]
        return ChampionProfile(
            model=meta["model"],
            version=str(meta["version"]),
            run_id=meta["run_id"],
            spec_key=meta["spec"],
            reference=reference,
            baseline=MeasuredPerformance(
                metric=baseline["metric"],
                value=float("nan") if baseline["value"] is None else baseline["value"],
                rows=baseline["rows"],
                standard_error=baseline["standard_error"],
                values={k: float("nan") if v is None else v for k, v in baseline["values"].items()},
            ),
            facts=ReferenceFacts.from_dict(meta["facts"]),
            classes=meta["classes"],
            check=None
            if check is None
            else CalibrationCheck(check["passed"], check["reason"], check["figures"]),
            sha256=sha256(data),
            estimator_bytes=estimator,
            model_bytes=model,
        )
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as error:
        raise LineageError(f"{where}: the champion profile cannot be read ({error})") from None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cache_path(workspace: ProfileWorkspace, model: str, version: str, digest: str) -> Path:
    """The local copy of a version's profile, named by its hash."""
    return workspace.root / STATE_DIR / "profiles" / model / f"{version}-{digest[:16]}.zip"


def publish_profile(workspace: ProfileWorkspace, spec: ModelSpec, info: ModelVersionInfo) -> ChampionProfile:
    """Build the version's profile, store it with the version and in the local cache, and tag it.

    The artifact and the local copy are written before the tags, so a version's tags
    never name a profile that is not stored.
    """
    data = build_profile(workspace, spec, info)
    digest = sha256(data)
    registry = workspace.registry()
    registry.log_version_file(spec.name, info.version, data, ARTIFACT)
    _keep_local(workspace, spec.name, info.version, digest, data)
    registry.set_version_tag(spec.name, info.version, SPEC_TAG, spec_key(spec))
    registry.set_version_tag(spec.name, info.version, SHA_TAG, digest)
    log.info("%s version %s: champion profile %s stored", spec.name, info.version, digest[:12])
    return decode(data, f"{spec.name} version {info.version}")


def profile_champion(workspace: ProfileWorkspace, spec: ModelSpec, version: str) -> str | None:
    """Make sure the new champion ``version`` has its profile (built now when it has none).

    Called when a version becomes champion (training, promotion, rollback), so the first
    cycle reads the profile instead of building it. A failure here does not undo the change
    of champion: it is logged, and the next cycle builds the profile or says why it cannot.
    Returns the profile's hash (None when it failed).
    """
    try:
        info = workspace.registry().version(spec.name, version)
        return champion_profile(workspace, spec, info).sha256
    except ZenopsError as error:
        log.warning("%s version %s: no champion profile yet (%s)", spec.name, version, error)
        return None


def champion_profile(workspace: ProfileWorkspace, spec: ModelSpec, info: ModelVersionInfo) -> ChampionProfile:
    """The version's profile for this spec: the local copy, else the registry's; built when it has none.

    Both copies are checked against the hash the version's tags record; a copy that
    does not match is refused with a LineageError naming the version and the file.
    """
    where = f"{spec.name} version {info.version}"
    tags = workspace.registry().version_tags(spec.name, info.version)
    digest, built_for = tags.get(SHA_TAG), tags.get(SPEC_TAG)
    if not digest:
        log.info("%s: no champion profile yet; building it from its lineage", where)
        return publish_profile(workspace, spec, info)
    if built_for != spec_key(spec):
        log.info("%s: the model's spec changed since its profile was built; building it again", where)
        return publish_profile(workspace, spec, info)
    local = cache_path(workspace, spec.name, info.version, digest)
    if local.is_file():
        data = local.read_bytes()
        _check(
            data,
            digest,
            f"{where}: the local profile {local}",
            f"delete {local} to read the stored one again",
        )
        return decode(data, f"{where}: {local}")
    try:
        data = workspace.registry().read_version_file(spec.name, info.version, ARTIFACT)
    except NotFoundError:
        raise LineageError(
            f"{where}: its tags record champion profile {digest[:12]} but its run holds no {ARTIFACT}; "
            f"delete the version tag {SHA_TAG} to build it again from its lineage"
        ) from None
    _check(
        data,
        digest,
        f"{where}: the stored profile {ARTIFACT}",
        f"delete the version tag {SHA_TAG} to build it again from its lineage",
    )
    profile = decode(data, f"{where}: {ARTIFACT}")
    _keep_local(workspace, spec.name, info.version, digest, data)
    return profile


def _check(data: bytes, digest: str, what: str, remedy: str) -> None:
    found = sha256(data)
    if found != digest:
        raise LineageError(
            f"{what} does not match the hash its version records "
            f"(sha256 {digest[:12]}…, found {found[:12]}…); it is not used: {remedy}"
        )


def _keep_local(workspace: ProfileWorkspace, model: str, version: str, digest: str, data: bytes) -> None:
    """Write the local copy atomically (a cache: a failure to write it is only logged)."""
    path = cache_path(workspace, model, version, digest)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.{id(data)}.tmp")
        scratch.write_bytes(data)
        scratch.replace(path)
    except OSError as error:
        log.warning("%s version %s: the profile's local copy was not written (%s)", model, version, error)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
