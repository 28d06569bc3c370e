"""CLI commands: models list / rollback / retrain (the trained bundles of a work dir)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from numerpilot.cli.app import (
    DemoOption,
    WorkdirOption,
    app,
    console,
    progress,
    workdir,
)
from numerpilot.cli.interrupt_notes import models_note

if TYPE_CHECKING:
    from numerpilot.modeling.manifest import Manifest

models_app = typer.Typer(help="The trained model bundles: list, roll back, retrain.",
                         no_args_is_help=True)  # fmt: skip
app.add_typer(models_app, name="models", rich_help_panel="Every round")


@models_app.command("list")
def list_bundles(directory: WorkdirOption = Path(".")) -> None:
    """The bundles kept in models/, newest first; the current one is marked, and one whose
    model files are missing, empty, cut short or changed (or its folder or manifest) is
    called damaged."""
    from numerpilot.modeling.manifest import MANIFEST, load_manifest
    from numerpilot.modeling.store import kept_bundles

    wd = workdir(directory)
    current = load_manifest(wd.models)
    kept = kept_bundles(wd.models)
    for m in kept:
        mark = "*" if m.bundle == current.bundle else " "
        trees = sum(m.best_iterations.values())
        console.print(f"{mark} {m.bundle or 'models/'}  trained {m.created}  data {m.data_version}"
                      f"  {len(m.targets)} model{'s' * (len(m.targets) != 1)}, {trees} trees"
                      f"{_bundle_damage(wd.models, m)}", highlight=False)  # fmt: skip
    if current.previous and current.previous not in {m.bundle for m in kept}:
        gone = wd.models / current.previous
        what = f"its {MANIFEST} is missing or unreadable" if gone.is_dir() else "folder missing"
        console.print(f"  {current.previous}  DAMAGED ({what})", highlight=False)


def _bundle_damage(models: Path, manifest: Manifest) -> str:
    """The mark of a damaged bundle: its folder missing (not each of its files), or
    :func:`_damage` of its model files, or its own copy of the manifest gone (a rollback
    from it could not come back) ("" for a bundle that is whole)."""
    from numerpilot.modeling.manifest import MANIFEST, bundle_manifest
    from numerpilot.modeling.store import unreadable_files

    if manifest.bundle and not (models / manifest.bundle).is_dir():
        return "  DAMAGED (folder missing)"
    files = _damage(unreadable_files(models, manifest))
    if files or not manifest.bundle or bundle_manifest(models, manifest.bundle):
        return files
    return f"  DAMAGED (its {MANIFEST} is missing or unreadable)"


def _damage(problems: dict[str, str]) -> str:
    """The mark of a damaged bundle, naming its model files that are missing or empty and
    those cut short or changed since they were saved ("" for a bundle whose files are whole)."""
    from numerpilot.modeling.model_files import EMPTY, MISSING

    gone = [name for name, problem in problems.items() if problem in (MISSING, EMPTY)]
    broken = [name for name in problems if name not in gone]
    said = [f"{what}: {_names(files)}" for what, files in
            (("missing or empty", gone), ("cut short or changed", broken)) if files]  # fmt: skip
    return f"  DAMAGED ({'; '.join(said)})" if said else ""


def _names(files: list[str]) -> str:
    return ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")


@models_app.command("rollback")
def rollback(directory: WorkdirOption = Path(".")) -> None:
    """Go back to the bundle before the current one (run it again to come back)."""
    from numerpilot.modeling.manifest import load_manifest
    from numerpilot.modeling.store import rollback as switch
    from numerpilot.workdir import ensure_writable

    wd = workdir(directory)
    load_manifest(wd.models)  # no models, or damaged ones: said first (no lock file left)
    with wd.changing_models():  # not while a retrain compares or publishes
        load_manifest(wd.models)  # again under the lock: a retrain may have just published
        ensure_writable(wd.models)  # models/ itself, not manifest.json, is what must be
        before, after = switch(wd.models)
    way = "back" if after.created <= before.created else "forward"
    console.print(f"Models switched from {before.bundle} (trained {before.created}) {way} to "
                  f"{after.bundle} (trained {after.created}).", highlight=False)  # fmt: skip


@models_app.command("retrain")
def retrain(directory: WorkdirOption = Path("."), demo: DemoOption = False) -> None:
    """Train new models beside the current ones; keep them only if validation agrees.

    The new ensemble replaces the current one unless its mean validation CORR is worse by
    more than [daemon] retrain_tolerance; the previous bundle is kept for rollback.
    """
    from numerpilot.modeling.manifest import MANIFEST
    from numerpilot.pipeline.demo import load_context
    from numerpilot.pipeline.retrain import retrain as run
    from numerpilot.workdir import ensure_writable

    wd = workdir(directory)
    wd.load_config()  # a bad config is reported before anything else
    ensure_writable(wd.models)  # before hours of training, not after
    reporter = progress()
    ctx = load_context(wd, demo=demo, progress=reporter, trains=True)
    had = (wd.models / MANIFEST).exists()
    with models_note(wd.models):
        result = run(ctx, ctx.config.daemon.retrain_tolerance, reporter)
    before = "could not be validated, see the warning above" if had else "none"
    before = before if result.old_corr is None else f"{result.old_corr:.4f}"
    verdict = "now in use" if result.replaced else "kept out: worse on validation"
    console.print(f"New models {verdict} (validation CORR {result.new_corr:.4f}; current "
                  f"before: {before}).")  # fmt: skip
