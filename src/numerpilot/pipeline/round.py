"""One whole round: data, train, validate, predict, and (unless a dry run) submit."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from numerpilot.api.connect import make_client
from numerpilot.data.download import download_dataset
from numerpilot.modeling.store import Manifest
from numerpilot.pipeline.context import Context
from numerpilot.pipeline.demo import load_context
from numerpilot.pipeline.predict import predict_live
from numerpilot.pipeline.train import train_ensemble
from numerpilot.pipeline.validate import ValidationReport, validate_ensemble
from numerpilot.progress import SILENT, Progress
from numerpilot.submission.once import SubmitResult
from numerpilot.submission.submit import submit_predictions
from numerpilot.workdir import Workdir


@dataclass(frozen=True)
class RoundResult:
    manifest: Manifest
    report: ValidationReport
    predictions: Path
    submissions: list[SubmitResult] = field(default_factory=list)


def run_round(
    workdir: Workdir, *, demo: bool = False, dry_run: bool = False, progress: Progress = SILENT
) -> RoundResult:
    """The demo path needs no keys and no network; the real path downloads and submits."""
    if demo:
        ctx = load_context(workdir, demo=True, progress=progress)
        client = None
    else:
        ctx = Context.load(workdir)
        client = make_client(ctx.config, need_credentials=not dry_run)
        download_dataset(workdir, ctx.config, client, progress)
    manifest = train_ensemble(ctx, progress)
    report = validate_ensemble(ctx, progress)
    path = predict_live(ctx, progress)
    if client is None:
        return RoundResult(manifest, report, path)
    records = submit_predictions(workdir, ctx.config, client, path, dry_run=dry_run)
    return RoundResult(manifest, report, path, records)
