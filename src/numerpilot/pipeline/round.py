"""One whole round: data, train, validate, predict, and (unless a dry run) submit."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from numerpilot.api.connect import make_client
from numerpilot.data.download import download_dataset, refuse_own_dataset
from numerpilot.errors import UsageError
from numerpilot.modeling.manifest import Manifest
from numerpilot.pipeline.context import Context, refuse_untrainable
from numerpilot.pipeline.demo import load_context
from numerpilot.pipeline.predict import predict_live
from numerpilot.pipeline.train import train_ensemble
from numerpilot.pipeline.validate import ValidationReport, validate_ensemble
from numerpilot.progress import SILENT, Progress
from numerpilot.submission.once import SubmitResult
from numerpilot.submission.submit import model_ids, submit_predictions
from numerpilot.workdir import Workdir, ensure_writable


@dataclass(frozen=True)
class RoundResult:
    manifest: Manifest
    report: ValidationReport
    predictions: Path
    submissions: list[SubmitResult] = field(default_factory=list)


def run_round(
    workdir: Workdir,
    *,
    demo: bool = False,
    dry_run: bool = False,
    models: list[str] | None = None,
    progress: Progress = SILENT,
) -> RoundResult:
    """The demo path needs no keys and no network; the real path downloads and submits
    (for ``models``, default: the configured ones).

    Every folder the round writes is checked for writability before any work starts.
    """
    config = workdir.load_config()
    if not demo:
        refuse_untrainable(config)
        refuse_own_dataset(workdir, config)
    ensure_writable(workdir.models, workdir.reports, workdir.predictions)
    if not demo:
        workdir.ensure_data_writable(config)
    if demo:
        ctx = load_context(workdir, demo=True, progress=progress, trains=True)
        client = None
    else:
        ctx = Context.load(workdir)
        client = make_client(ctx.config, need_credentials=not dry_run)
        if not dry_run and not (models or ctx.config.submission.models):
            raise UsageError(
                "No model to submit for: pass --model NAME or list your Numerai model names "
                "in numerpilot.toml under [submission] models = [...]."
            )
        names = list(models or ctx.config.submission.models)
        model_ids(client, ctx.config.submission.tournament, names, dry_run)  # before any work
        download_dataset(workdir, ctx.config, client, progress)
    with ctx.workdir.changing_models():
        manifest = train_ensemble(ctx, progress)
    report = validate_ensemble(ctx, progress)
    path = predict_live(ctx, progress)
    if client is None:
        return RoundResult(manifest, report, path)
    records = submit_predictions(workdir, ctx.config, client, path, models=models, dry_run=dry_run)
    return RoundResult(manifest, report, path, records)
