"""Handing a model back: the rebuild dossier, written where the data scientists find it.

Nothing moves but the ``challenger`` alias, which stays on the version just trained
(``models:/NAME@challenger``) until the next refresh moves it. The dossier
(:mod:`zenops.services.refresh.dossier`) goes under ``.zenops/dossiers/<model>/`` and
onto the challenger's run as ``dossier.md``; the rebuild ticket carries it too.
"""

from __future__ import annotations

from pathlib import Path

from registry import lineage
from registry.lineage import DataVersion
from registry.versions import LoggedTraining
from zenops.kernel import clock
from zenops.kernel.config import ModelSpec
from zenops.kernel.paths import STATE_DIR
from zenops.services.refresh.compare import Comparison
from zenops.services.refresh.context import RefreshPorts
from zenops.services.refresh.dossier import BuiltFrom, DossierInput, render
from zenops.services.refresh.rehydrate import ChampionRef
from zenops.services.refresh.tickets import refresh_evidence
from zenops.services.refresh.window import WindowSplit

__all__ = ["what_was_tried", "write_dossier"]


def _built_from_champion(champion: ChampionRef) -> BuiltFrom:
    trail = champion.lineage
    return BuiltFrom(
        role="champion",
        version=champion.version,
        run_id=champion.run_id,
        data_path=trail.data.path,
        data_rev=trail.data.rev,
        data_md5=trail.data.md5,
        code_rev=trail.code_rev,
        trainer=trail.trainer,
        params={k: v for k, v in champion.params.items() if k.startswith("trainer.")},
    )


def _built_from_challenger(
    ports: RefreshPorts, model: str, challenger: LoggedTraining, data: DataVersion, trained_spec: ModelSpec
) -> BuiltFrom:
    info = ports.registry.version(model, challenger.version)
    return BuiltFrom(
        role="challenger",
        version=challenger.version,
        run_id=challenger.run_id,
        data_path=data.path,
        data_rev=data.rev,
        data_md5=data.md5,
        code_rev=info.tags.get(lineage.CODE_REV, data.rev),
        trainer=trained_spec.trainer.reference,
        params={k: v for k, v in info.params.items() if k.startswith("trainer.")},
    )


def write_dossier(
    ports: RefreshPorts,
    spec: ModelSpec,
    champion: ChampionRef,
    challenger: LoggedTraining,
    data: DataVersion,
    trained_spec: ModelSpec,
    comparison: Comparison,
    ticket: int,
    tried: list[str],
) -> tuple[Path, str]:
    """The rebuild dossier as Markdown, under ``.zenops/dossiers/<model>/`` and on the challenger's run."""
    workspace = ports.workspace
    markdown = render(
        DossierInput(
            model=spec.name,
            task=spec.task,
            workspace=str(workspace.root),
            tracking_uri=workspace.stores.tracking_uri,
            champion=_built_from_champion(champion),
            challenger=_built_from_challenger(ports, spec.name, challenger, data, trained_spec),
            comparison=comparison.figures,
            reasons=comparison.reasons,
            refresh_ticket=ticket,
            evidence=refresh_evidence(ports.tickets, ticket),
            tried=tried,
            at=clock.now().strftime("%Y-%m-%d %H:%M UTC"),
            holdout_fraction=trained_spec.holdout_fraction,
            seed=trained_spec.seed,
        )
    )
    folder = workspace.root / STATE_DIR / "dossiers" / spec.name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"refresh-{ticket}-v{challenger.version}.md"
    path.write_text(markdown, encoding="utf-8")
    ports.registry.log_run_text(challenger.run_id, markdown, "dossier.md")
    return path, markdown


def what_was_tried(
    spec: ModelSpec,
    trained_spec: ModelSpec,
    champion: ChampionRef,
    split: WindowSplit,
    training_rows: int,
    production_rows: int,
    notes: list[str],
) -> list[str]:
    """What the refresh did, in words, for the dossier."""
    window = split.describe()
    keep = spec.promotion.train_window_days
    data = champion.lineage.data
    return [
        f"Re-hydrated version {champion.version}'s training data ({data.path} at "
        f"{data.rev[:12]}, md5 {data.md5}) and parameters from MLflow run {champion.run_id}.",
        f"Added {len(split.train)} of {production_rows} labelled production rows (batches joined with "
        f"labels on {spec.id_column}); held out {window['rows']} rows from {window['start']} to "
        f"{window['end']} for the comparison.",
        f"Retrained {trained_spec.trainer.reference} with {dict(trained_spec.trainer.params)} (seed "
        f"{trained_spec.seed}, holdout share {trained_spec.holdout_fraction}) on {training_rows} rows"
        + (f", keeping {keep} days before the window" if keep else ", all rows kept")
        + ".",
        f"Gate: margin {spec.promotion.margin:.2%}, confidence {spec.promotion.confidence:.0%}, at least "
        f"{spec.promotion.min_rows} rows, {spec.promotion.resamples} bootstrap resamples.",
        *notes,
    ]
