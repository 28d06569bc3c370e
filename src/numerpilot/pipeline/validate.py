"""Per-era validation of the trained ensemble with the scoring engine."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from numerpilot.config import setting_name
from numerpilot.data import layout
from numerpilot.data.eras import era_line
from numerpilot.data.load import load_era_data
from numerpilot.data.tournaments import LAYOUTS
from numerpilot.errors import DataError
from numerpilot.io import json_text, write_files_atomic
from numerpilot.kernel.linear import LINEAR, LinearModel
from numerpilot.modeling.cv import horizon_days, purge_eras
from numerpilot.modeling.members import seed_columns, seed_groups
from numerpilot.modeling.store import Bundle
from numerpilot.pipeline.context import Context
from numerpilot.pipeline.plan import check_main_target, train_eras
from numerpilot.pipeline.predict import current_bundle, predict_file
from numerpilot.progress import SILENT, Progress
from numerpilot.report import render_html
from numerpilot.scoring.align import AllIds, NoCommonIdsError, file_ids
from numerpilot.scoring.io import parquet_model_column, read_model_column
from numerpilot.scoring.report import ScoreReport, score_frame
from numerpilot.words import plural

log = logging.getLogger(__name__)

REPORT_JSON = "validation.json"
REPORT_HTML = "validation.html"
ENSEMBLE = "ensemble"


@dataclass(frozen=True)
class ValidationReport:
    """Scores of every model and the ensemble; ``as_json`` is ``validation.json``."""

    scores: ScoreReport
    #: The target every column is scored on (``train.main_target``).
    target: str = layout.MAIN_TARGET

    @property
    def notes(self) -> tuple[str, ...]:
        return self.scores.notes

    def summary(self, column: str) -> dict[str, float]:
        return self.scores.summary(column)

    def metric_eras(self, metric: str) -> int:
        scores = self.scores.metrics.get(metric)
        return 0 if scores is None else len(scores.eras)

    def as_json(self) -> dict[str, Any]:
        """The scores by column (a member named ``target`` among them: the main target's
        trees), and under ``main_target`` the target they are scored on."""
        return {**self.scores.to_dict(), "main_target": self.target}


def _model_column(
    ctx: Context, filename: str, column: str, ids: np.ndarray, data_ids: AllIds,
    notes: list[str],
) -> np.ndarray | None:  # fmt: skip
    """``column`` of an optional dataset file aligned to ``ids`` (NaN where absent); ids of
    the file that are in ``data_ids()`` but not scored (the embargo eras) are not warned
    about. A file that shares no id with validation (another version's) is left out with
    a note in ``notes``: it is not one you asked for."""
    path = ctx.data_dir / filename
    if not path.exists():
        return None
    try:
        return read_model_column(path, column, ids, filename, data_ids=data_ids)
    except NoCommonIdsError:
        notes.append(f"{filename} shares no id with {layout.VALIDATION} (another dataset "
                     f"version?): the scores that need it are left out")  # fmt: skip
        return None


def validate_ensemble(
    ctx: Context,
    progress: Progress = SILENT,
    *,
    bundle: Bundle | None = None,
    write_report: bool = True,
) -> ValidationReport:
    """Score every model and the ensemble per era on validation (after the embargo eras).

    A target's seeds are one column, their per-era gaussianised ranks averaged as the
    ensemble averages them. CORR on the main target; MMC where the meta model covers an
    era; BMC against ``scoring.benchmark_column``; FNC and feature exposure against the
    model's features.
    ``bundle`` defaults to the current one; ``write_report`` writes reports/validation.*.
    """
    bundle = bundle or current_bundle(ctx)
    _check_benchmark(ctx)
    check_main_target(ctx, layout.VALIDATION)
    last = _train_last_era(ctx)
    embargoed = _embargoed(ctx, last)
    result = predict_file(
        bundle,
        ctx.data_dir / layout.VALIDATION,
        targets=(ctx.config.train.main_target,),
        skip_first_eras=len(embargoed),
        progress=progress,
    )
    data = result.data
    names, per_model = seed_columns(result.per_model, result.models, data.era_index)
    preds = np.column_stack([per_model, result.final])
    bench_col = ctx.config.scoring.benchmark_column
    every_id = functools.cache(lambda: file_ids(ctx.data_dir / layout.VALIDATION))
    unmatched: list[str] = []
    meta = _model_column(ctx, layout.META_MODEL, layout.META_MODEL_COLUMN, data.ids, every_id,
                         unmatched)  # fmt: skip
    bench = (_model_column(ctx, layout.VALIDATION_BENCHMARKS, bench_col, data.ids, every_id,
                           unmatched) if bench_col else None)  # fmt: skip
    with progress.task("Scoring validation eras", None):
        scores = score_frame(
            preds,
            data.target(ctx.config.train.main_target),
            data.era_index,
            columns=[*names, ENSEMBLE],
            meta_model=meta,
            benchmark=bench,
            features=data.features[:, : len(bundle.manifest.features)],
            config=ctx.config.scoring,
        )
    notes = [*_absent_notes(ctx, bool(bench_col)), *unmatched,
             _overlap_note(last, data.era_index.labels), _embargo_note(ctx, embargoed),
             _horizon_note(ctx, bundle, last, data.era_index.labels)]  # fmt: skip
    scores = replace(scores, notes=(*scores.notes, *(n for n in notes if n)))
    report = ValidationReport(scores, ctx.config.train.main_target)
    if write_report:
        _write_report(ctx, bundle, report, data.era_index.n_eras, len(embargoed), progress)
    return report


def _train_last_era(ctx: Context) -> str | None:
    """The last era of train.parquet (None without the file: a dataset of your own)."""
    if not (ctx.data_dir / layout.TRAIN).exists():
        return None
    return str(train_eras(ctx).labels[-1])


def _embargoed(ctx: Context, last: str | None) -> list[str]:
    """The first validation eras that follow train's ``last`` era by at most
    ``train.embargo_eras`` eras: their targets (20 days and more) overlap train's, so they
    are not scored. Eras numbered as Numerai's are counted by number (a validation file
    that starts well after train loses none), others by position."""
    embargo = ctx.config.train.embargo_eras
    if not embargo:
        return []
    every = load_era_data(ctx.data_dir / layout.VALIDATION, []).era_index.labels
    validation = every[:embargo]
    if last is None:
        embargoed = [str(e) for e in validation]
    else:
        after = _after(last, validation)
        if after is None:  # labels on no time line: by position
            after = np.arange(1, len(validation) + 1)
        embargoed = [str(e) for e, k in zip(validation, after, strict=True) if k <= embargo]
    if len(embargoed) == len(every):
        since = f" of train's last era ({last})" if last is not None else ""
        raise DataError(
            f"every era of validation.parquet ({every[0]} to {every[-1]}) is within "
            f"{_embargo(ctx)} = {embargo} eras{since} or before it: their targets "
            f"overlap training's, so none can be scored. Validate on eras after train's "
            f"(or lower {_embargo(ctx)})."
        )
    return embargoed


def _after(last: str, eras: np.ndarray) -> np.ndarray | None:
    """(E,) how many eras each of ``eras`` comes after train's ``last`` (by number, or by
    week for dates, whatever style each file writes them in); None when they are not all
    numbered or all dates."""
    line = era_line(np.array([last, *eras], dtype=str))
    return None if line is None else line[1:] - line[0]


def _embargo(ctx: Context) -> str:
    """The setting of the embargo as the user sets it (``demo.embargo_eras`` for --demo)."""
    return setting_name("train.embargo_eras", demo=ctx.is_demo)


def _embargo_note(ctx: Context, embargoed: list[str]) -> str | None:
    if not embargoed:
        return None
    n = len(embargoed)
    eras = f"{n} validation eras ({embargoed[0]} to {embargoed[-1]}) are" if n > 1 else (
        f"validation era ({embargoed[0]}) is")  # fmt: skip
    whose = "their targets overlap" if n > 1 else "its targets overlap"
    return f"the first {eras} not scored: {whose} train's last eras ({_embargo(ctx)})"


def _check_benchmark(ctx: Context) -> None:
    """A wrong ``[scoring] benchmark_column`` is said before the predictions (minutes on
    Numerai's data), naming the setting."""
    column, path = ctx.config.scoring.benchmark_column, ctx.data_dir / layout.VALIDATION_BENCHMARKS
    if column and path.exists():
        try:
            parquet_model_column(path, column, layout.VALIDATION_BENCHMARKS)
        except DataError as error:
            raise DataError(f"[scoring] benchmark_column: {error}") from None


def _absent_notes(ctx: Context, benchmark: bool) -> list[str]:
    """Why MMC or BMC are missing from the report when their file is not in the data."""
    wanted = [(layout.META_MODEL, "MMC, correlation with the meta model and payout")]
    if benchmark:
        wanted.append((layout.VALIDATION_BENCHMARKS, "BMC"))
    spec = LAYOUTS[ctx.tournament]  # what 'download' brings when Numerai has it, and where
    own = ctx.data_dir == ctx.workdir.data_root(ctx.config) / spec.prefix  # a dataset of yours
    hint = not (ctx.is_demo or own)
    return [
        f"{what}: no {name} in {ctx.data_dir}; left out" + (
            " ('numerpilot download' fetches it)" if name in spec.optional and hint else "")
        for name, what in wanted
        if not (ctx.data_dir / name).exists()
    ]  # fmt: skip


def _overlap_note(last: str | None, eras: np.ndarray) -> str | None:
    """A note when scored validation eras (E,) are not after train's ``last`` era (a
    dataset of your own whose files share eras): those scores are in-sample or leak."""
    if last is None:
        return None
    after = _after(last, eras)
    inside = eras[eras <= last] if after is None else eras[after <= 0]
    if not len(inside):
        return None
    return (f"{len(inside)} of {len(eras)} scored validation eras ({inside[0]} to "
            f"{inside[-1]}) are not after train's last era {last}: the models may have seen "
            "them, so their scores flatter the models")  # fmt: skip


def _trained_targets(bundle: Bundle) -> list[str]:
    """The targets the bundle's members were fitted on (seeds and linear members as one)."""
    groups = [name for name, _ in seed_groups(bundle.manifest.targets)]
    return list(dict.fromkeys(g.removesuffix(f".{LINEAR}") for g in groups))


def _horizon_note(ctx: Context, bundle: Bundle, last: str | None, eras: np.ndarray) -> str | None:
    """A note when the models were trained (or weighted, ``main_target``) on a target of a
    longer horizon than the data's 20-day ``target`` (``target_ender_60``) and scored
    validation eras (E,) lie within its reach of train's last era, beyond
    ``train.embargo_eras``: its outcomes there overlap theirs."""
    targets = list(dict.fromkeys([*_trained_targets(bundle), bundle.manifest.main_target]))
    if last is None or not targets:
        return None
    longest = max(targets, key=purge_eras)
    reach = purge_eras(longest)
    if reach <= max(ctx.config.train.embargo_eras, purge_eras(layout.MAIN_TARGET)):
        return None
    after = _after(last, eras)
    near = np.asarray([] if after is None else eras[(after > 0) & (after <= reach)])
    if not len(near):
        return None
    which = f"{plural(len(near), 'scored validation era')} ({near[0]} to {near[-1]})"
    return (f"{which} {'are' if len(near) > 1 else 'is'} within {reach} eras of train's last "
            f"era {last}, the reach of {longest} ({horizon_days(longest)}-day target) that "
            f"the models were trained on: its outcomes there overlap theirs, so their scores "
            f"may flatter the models ({_embargo(ctx)} = {reach} leaves them out)")  # fmt: skip


def _what(bundle: Bundle, member: str) -> str:
    """A member's model in a few words: its trees, or linear (and its feature products)."""
    m, model = bundle.manifest, bundle.models.get(member)
    if member not in m.kinds:
        return f"{m.best_iterations[member]} trees"
    products = len(model.pairs) if isinstance(model, LinearModel) else 0
    if not products:
        return m.kinds[member]
    return f"{m.kinds[member]}, {products} feature product{'s' * (products > 1)}"


def _neutralization(proportion: float, n_features: int) -> str:
    """The bundle's neutralization in a few words: ``0.5 against 6 features``, or none."""
    return f"{proportion:g} against {plural(n_features, 'feature')}" if proportion else "none"


def _write_report(
    ctx: Context,
    bundle: Bundle,
    report: ValidationReport,
    n_eras: int,
    n_embargoed: int,
    progress: Progress,
) -> None:
    scores = report.scores
    m = bundle.manifest
    context = {
        "data version": m.data_version,
        "features": f"{m.feature_set} ({len(m.features)})",
        "members": ", ".join(
            f"{t} ({_what(bundle, t)}, weight {w:.2f})"
            for t, w in zip(m.targets, m.weights, strict=True)
        ),
        "neutralization": _neutralization(m.neutralization_proportion, len(m.neutralizer_features)),
        "scored on": report.target,
        "validation eras": f"{n_eras} (after {n_embargoed} embargo eras)",
        "trained": m.created,
    }
    with progress.task("Writing the HTML report", None):
        html = render_html(scores, title="numerpilot validation", context=context)
        reports = ctx.workdir.reports
        write_files_atomic(  # both or neither; the JSON, last, marks a finished report
            {
                reports / REPORT_HTML: html.encode("utf-8"),
                reports / REPORT_JSON: json_text(report.as_json()).encode("utf-8"),
            }
        )
