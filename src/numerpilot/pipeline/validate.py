"""Per-era validation of the trained ensemble: CORR, MMC and their summaries."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from numerpilot.data import layout
from numerpilot.data.load import open_parquet
from numerpilot.io import write_json_atomic
from numerpilot.modeling.store import load_bundle
from numerpilot.pipeline.context import Context
from numerpilot.pipeline.predict import predict_file
from numerpilot.progress import SILENT, Progress
from numerpilot.scoring import PerEra, per_era_corr, per_era_mmc, summarize

log = logging.getLogger(__name__)

REPORT_JSON = "validation.json"
ENSEMBLE = "ensemble"


@dataclass(frozen=True)
class ValidationReport:
    """Per-column summaries and per-era series; ``as_json`` gives the file's content."""

    columns: dict[str, dict[str, Any]]
    meta_model_eras: int
    skipped_eras: list[str]

    def as_json(self) -> dict[str, Any]:
        return self.columns


def meta_model_for(ctx: Context, ids: np.ndarray) -> np.ndarray | None:
    """The meta model aligned to ``ids`` (NaN where absent), or None without the file."""
    path = ctx.data_dir / layout.META_MODEL
    if not path.exists():
        return None
    table = open_parquet(path).read(columns=[layout.ID, layout.META_MODEL_COLUMN])
    meta = pd.Series(
        table.column(layout.META_MODEL_COLUMN).to_numpy(zero_copy_only=False),
        index=table.column(layout.ID).to_numpy(zero_copy_only=False),
    )
    return meta.reindex(ids).to_numpy(dtype=np.float64)


def _series(per_era: PerEra, k: int) -> dict[str, float]:
    return {str(e): float(v) for e, v in zip(per_era.eras, per_era.values[:, k], strict=True)}


def validate_ensemble(ctx: Context, progress: Progress = SILENT) -> ValidationReport:
    """Score every model and the ensemble per era on validation (after the embargo)."""
    bundle = load_bundle(ctx.workdir.models)
    result = predict_file(
        bundle,
        ctx.data_dir / layout.VALIDATION,
        targets=(layout.MAIN_TARGET,),
        skip_first_eras=ctx.config.train.embargo_eras,
        progress=progress,
    )
    data = result.data
    names = [*result.models, ENSEMBLE]
    preds = np.column_stack([result.per_model, result.final])
    target = data.target(layout.MAIN_TARGET)
    with progress.task("Scoring validation eras", None):
        corr = per_era_corr(preds, target, data.eras)
        meta = meta_model_for(ctx, data.ids)
        mmc = per_era_mmc(preds, meta, target, data.eras) if meta is not None else None
    columns: dict[str, dict[str, Any]] = {}
    for k, name in enumerate(names):
        summary = {f"corr_{key}": value for key, value in summarize(corr.values[:, k]).items()}
        summary["n_eras"] = summary.pop("corr_n_eras")
        per_era = {"corr": _series(corr, k)}
        if mmc is not None and len(mmc.eras):
            mmc_summary = summarize(mmc.values[:, k])
            summary |= {"mmc_mean": mmc_summary["mean"], "mmc_std": mmc_summary["std"],
                        "mmc_sharpe": mmc_summary["sharpe"]}  # fmt: skip
            per_era["mmc"] = _series(mmc, k)
        columns[name] = {"summary": summary, "per_era": per_era}
    skipped = sorted(set(np.unique(data.eras)) - set(corr.eras))
    if skipped:
        log.warning("skipped %d validation eras without targets: %s", len(skipped), skipped)
    report = ValidationReport(columns, len(mmc.eras) if mmc is not None else 0, skipped)
    write_json_atomic(ctx.workdir.reports / REPORT_JSON, report.as_json())
    return report
