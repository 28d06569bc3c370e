"""Retraining that never makes things worse: train beside, validate, replace or discard.

The new bundle is trained without replacing the current one, both are scored on the same
validation eras, and the new one becomes current only if its ensemble's mean validation
CORR is not worse than the current one's by more than the tolerance. The previous bundle
stays on disk for ``numerpilot models rollback``.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from numerpilot.errors import DataError
from numerpilot.modeling.manifest import MANIFEST, Manifest, load_manifest
from numerpilot.modeling.retrain_record import config_sha256, record_kept_out
from numerpilot.modeling.store import discard_bundle, load_bundle, publish_bundle
from numerpilot.pipeline.context import Context
from numerpilot.pipeline.train import train_ensemble
from numerpilot.pipeline.validate import ENSEMBLE, validate_ensemble
from numerpilot.progress import SILENT, Progress
from numerpilot.scoring.report import score_frame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrainResult:
    """Whether the new bundle replaced the current one, the two scores, and which is current."""

    replaced: bool
    new_corr: float
    old_corr: float | None
    current: Manifest


class _SaidOnce(logging.Filter):
    """Lets each message through once: both bundles are scored on the same eras, so the
    notes of their validations (eras skipped, and why) would say the same thing twice."""

    def __init__(self) -> None:
        super().__init__()
        self.said: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        first = message not in self.said
        self.said.add(message)
        return first


def _ensemble_corr(ctx: Context, manifest: Manifest, progress: Progress, notes: _SaidOnce) -> float:
    """The bundle's ensemble CORR on validation; ``notes`` keeps the scoring notes the
    other bundle's validation said from being said again."""
    bundle = load_bundle(ctx.workdir.models, manifest)
    scoring = logging.getLogger(score_frame.__module__)
    scoring.addFilter(notes)
    try:
        report = validate_ensemble(ctx, progress, bundle=bundle, write_report=False)
    finally:
        scoring.removeFilter(notes)
    return float(report.summary(ENSEMBLE)["corr_mean"])


def _before(new: float, old: float | None, tolerance: float) -> str:
    """The old score, and whether the new one is worse but within the tolerance."""
    if old is None:
        return "none"
    if new < old:
        return f"{old:.4f}; worse by {old - new:.4f}, within the tolerance of {tolerance:g}"
    return f"{old:.4f}"


def retrain(
    ctx: Context, tolerance: float, progress: Progress = SILENT, *, locked: bool = False
) -> RetrainResult:
    """Train a new bundle, compare it with the current one on validation, keep the better.
    Holds the work directory's models lock throughout (``locked``: the caller holds it,
    from before it decided to retrain): no rollback or other training can change the
    current bundle between the comparison and the switch."""
    folder = ctx.workdir.models
    with contextlib.nullcontext() if locked else ctx.workdir.changing_models():
        current = load_manifest(folder) if (folder / MANIFEST).exists() else None
        candidate = train_ensemble(ctx, progress, publish=False)
        try:
            notes = _SaidOnce()
            new = _ensemble_corr(ctx, candidate, progress, notes)
            old = None
            if current is not None:
                try:
                    old = _ensemble_corr(ctx, current, progress, notes)
                except DataError as error:  # e.g. features the new data version lacks
                    why = str(error).split(";")[0].rstrip(".")  # not its advice: moot here
                    log.warning("the current models cannot be validated (%s), so the new ones "
                                "replace them", why)  # fmt: skip
            if current is not None and old is not None and new < old - tolerance:
                discard_bundle(folder, candidate)
                # a weekly retrain is next due a week from now, and one for this data
                # version not again with this config (the same data, the same verdict)
                sha = config_sha256(ctx.workdir.config_path)
                record_kept_out(folder, current, candidate.data_version, sha)
                log.warning("retrained models kept out: validation CORR %.4f vs %.4f now "
                            "(worse by more than the tolerance of %g)", new, old,
                            tolerance)  # fmt: skip
                return RetrainResult(False, new, old, current)
            published = publish_bundle(folder, candidate)
        except BaseException:
            discard_bundle(folder, candidate)
            raise
    log.info(
        "retrained models in use: validation CORR %.4f (before: %s)",
        new,
        _before(new, old, tolerance),
    )
    return RetrainResult(True, new, old, published)
