"""``cv --compare``: two configs cross-validated on the same eras and folds.

The other config runs on this one's data: its [data] (but the feature set) and [cv]
settings are this config's, and the folds are purged for the longer horizon of the two;
what it sets otherwise is named in a note, not used. What can be checked of it (its
parameters, its targets, its held-out splits on the folds) is checked before the first
config's folds are fitted.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from numerpilot.config import Config
from numerpilot.data.catalog import feature_set
from numerpilot.data.load import EraData, load_era_data
from numerpilot.errors import ConfigError, DataError, UsageError
from numerpilot.modeling.backends import resolved
from numerpilot.modeling.cv import EraSplit
from numerpilot.modeling.distributed import concat_era_data
from numerpilot.modeling.memory import every_nth_era
from numerpilot.pipeline.context import Context
from numerpilot.pipeline.cv import cv_era_step, cv_files, era_view, load_cv_data, run_cv
from numerpilot.pipeline.cv_folds import (
    check_cv_settings,
    check_fold,
    cv_purge,
    folds_for,
    gap_text,
    unscorable_folds,
)
from numerpilot.pipeline.cv_results import Comparison, CVResult, compare
from numerpilot.pipeline.members import model_params
from numerpilot.progress import SILENT, Progress

log = logging.getLogger(__name__)


def _check_other(
    ctx: Context, data: EraData, folds: list[EraSplit], path: Path, skip: set[int], gap: str = ""
) -> None:
    """What can be checked of a compared config (at ``path``) before the first one's folds
    are fitted: its parameters, its targets in the data files, its targets' values and its
    held-out splits in each fold's training eras (but in those of ``skip``, which are not
    fitted; ``gap``: see ``check_fold``)."""
    import pyarrow.parquet as pq

    try:  # on its feature set's count: its per-feature LightGBM parameters too
        n_features = len(feature_set(ctx.data_dir, ctx.config.data.feature_set))
        model_params(resolved(ctx.config), n_features)
    except ConfigError as error:
        raise ConfigError(f"--compare {path} (the other config): {error}") from None
    for name in cv_files(ctx.config):
        data_path = ctx.data_dir / name
        missing = set(ctx.config.train.targets) - set(pq.read_schema(data_path).names)
        if missing:
            raise DataError(
                f"--compare {path} (the other config): {data_path.name} lacks the targets "
                f"{', '.join(sorted(missing))} of its train.targets; set train.targets in it "
                "to targets of the data, as in this config."
            )
    try:
        targets = _targets_only(ctx, data.eras)  # its targets: this config's data lacks some
        for k, split in enumerate(folds, start=1):
            if k not in skip:
                check_fold(ctx, era_view(targets, eras=split.fit), k, len(folds), gap=gap)
    except DataError as error:  # its targets or held-out split, not this config's: say whose
        raise DataError(f"--compare {path} (the other config): {error}") from None


def _targets_only(ctx: Context, eras: np.ndarray) -> EraData:
    """The targets of ``ctx`` (the compared config), without features, on the rows of
    ``eras``: a few columns, read to check them fold by fold before any fit (a target
    unknown in the first folds' eras stopped the comparison after this config's folds)."""
    cfg = ctx.config
    targets = list(dict.fromkeys([*cfg.train.targets, cfg.train.main_target]))
    wanted = [str(e) for e in np.unique(eras)]
    return concat_era_data(
        [load_era_data(ctx.data_dir / name, [], targets, eras=wanted) for name in cv_files(cfg)]
    )


def other_context(ctx: Context, path: Path) -> tuple[Context, tuple[str, ...]]:
    """The context of the config at ``path`` on ``ctx``'s data and folds: its [cv] and
    [data] settings (but the feature set) are ``ctx``'s, so both see the same rows; and a
    note naming the settings it sets otherwise, which are not used."""
    from numerpilot.config_file import load_config

    if not path.is_file():
        what = "not a file" if path.exists() else "no such file"
        raise UsageError(f"--compare {path}: {what}; give another numerpilot.toml.")
    raw = load_config(path, instead="give --compare another config")  # not init --force
    other = raw.for_demo() if ctx.is_demo else raw
    base = ctx.config
    data = base.data.model_copy(update={"feature_set": other.data.feature_set})
    ignored = [
        f"{section}.{key} = {getattr(getattr(other, section), key)!r}"
        for section in ("data", "cv")
        for key in sorted(getattr(raw, section).model_fields_set - {"feature_set"})
        if getattr(getattr(other, section), key) != getattr(getattr(base, section), key)
    ]
    if "main_target" in raw.train.model_fields_set and (
        other.train.main_target != base.train.main_target
    ):  # both are scored on one target
        ignored.append(f"train.main_target = {other.train.main_target!r}")
    train = other.train.model_copy(update={"main_target": base.train.main_target})
    demo = _demo_data_ignored(raw, base) if ctx.is_demo else []
    used = "[data] (but data.feature_set), [cv] and demo dataset" if demo else (
        "[data] (but data.feature_set) and [cv]")  # fmt: skip
    notes = (
        (f"{path} sets {', '.join(ignored + demo)}, not used: both configs are "
         f"cross-validated on this config's {used}",) if ignored or demo else ()
    )  # fmt: skip
    update = {"cv": base.cv, "data": data, "train": train}
    other_ctx = Context(ctx.workdir, other.model_copy(update=update), ctx.is_demo)
    return other_ctx, notes


#: The [demo] settings that make the demo dataset (the others scale the recipe).
_DEMO_DATA_KEYS = frozenset(
    {"dir", "train_eras", "validation_eras", "rows_per_era", "n_features", "live_rows", "seed",
     "era_step"}
)  # fmt: skip


def _demo_data_ignored(raw: Config, base: Config) -> list[str]:
    """The [demo] dataset settings that ``raw`` (a compared config) sets otherwise than
    ``base``: with --demo both configs run on ``base``'s demo dataset."""
    return [
        f"demo.{key} = {getattr(raw.demo, key)!r}"
        for key in sorted(raw.demo.model_fields_set & _DEMO_DATA_KEYS)
        if getattr(raw.demo, key) != getattr(base.demo, key)
    ]


def _same_era_step(ctx: Context, other_ctx: Context) -> tuple[Context, Context]:
    """Both contexts with the larger of their era steps: both fit the same eras, which the
    config with more features must fit in memory (with data.era_step "auto", each memory
    plan chose its own; a pinned step is the same for both)."""
    step = max(ctx.config.data.step, other_ctx.config.data.step)
    if step > ctx.config.data.step:
        log.warning("data.era_step \"auto\": %s for both configs, as the compared config's "
                    "features need to fit in memory", every_nth_era(step))  # fmt: skip
    return _with_step(ctx, step), _with_step(other_ctx, step)


def _with_step(ctx: Context, step: int) -> Context:
    data = ctx.config.data.model_copy(update={"era_step": step})
    return replace(ctx, config=ctx.config.model_copy(update={"data": data}))


def run_compare(
    ctx: Context, path: Path, progress: Progress = SILENT, *, cluster: str | None = None
) -> tuple[CVResult, CVResult, Comparison]:
    """Cross-validate ``ctx``'s config and the one at ``path`` on the same eras and folds
    (purged for the longest horizon of either); returns both and their comparison."""
    check_cv_settings(ctx.config)  # this config's [cv], which both use
    try:
        other_ctx, notes = other_context(ctx, path)
        other_ctx, other_workers = cv_era_step(other_ctx, cluster)
    except (ConfigError, DataError) as error:  # e.g. its feature set: say whose it is
        raise type(error)(f"--compare {path} (the other config): {error}") from None
    ctx, workers = cv_era_step(ctx, cluster)
    ctx, other_ctx = _same_era_step(ctx, other_ctx)
    purge = cv_purge(ctx.config, other_ctx.config)
    base_data = load_cv_data(ctx, progress)
    folds = folds_for(ctx.config, base_data.data.eras, purge)
    skip = unscorable_folds(base_data.data, folds, ctx.config.train.main_target)
    gap = gap_text(ctx.config, purge, other_ctx.config)
    for k, split in enumerate(folds, start=1):  # this config's own mistakes are said first
        if k not in skip:
            check_fold(ctx, era_view(base_data.data, eras=split.fit), k, len(folds), gap=gap)
    _check_other(other_ctx, base_data.data, folds, path, skip, gap)  # before the first's fits
    base = run_cv(ctx, progress, cv_data=base_data, folds=folds, purge=purge, cluster=cluster,
                  workers=workers)  # fmt: skip
    del base_data
    if other_ctx.config == ctx.config:  # the same recipe on the same folds: the same scores
        same = (f"{path} sets the same recipe as this config (on this config's [data] and "
                "[cv]): it was not cross-validated again, and every era ties; change a "
                "setting in it to compare",)  # fmt: skip
        return base, base, compare(base, base, notes=(*notes, *same))
    other_data = load_cv_data(other_ctx, progress, eras=np.unique(base.row_eras))
    other = run_cv(other_ctx, progress, cv_data=other_data, folds=folds, purge=purge,
                   cluster=cluster, workers=other_workers)  # fmt: skip
    return base, other, compare(base, other, notes=notes)
