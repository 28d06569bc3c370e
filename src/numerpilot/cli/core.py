"""CLI commands: init, demo-data, train, validate, predict, run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from numerpilot.cli.app import (
    ClusterOption,
    DemoOption,
    WorkdirOption,
    app,
    console,
    err_console,
    progress,
    workdir,
)
from numerpilot.cli.bars import RichProgressReporter
from numerpilot.cli.interrupt_notes import models_note, on_interrupt
from numerpilot.config import DemoConfig
from numerpilot.words import clock_time

if TYPE_CHECKING:
    from numerpilot.pipeline.context import Context


@app.command(rich_help_panel="Get started")
def init(
    directory: Annotated[Path, typer.Argument(help="Folder for numerpilot.toml.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented numerpilot.toml with every default."""
    from numerpilot.config import CONFIG_NAME
    from numerpilot.config_file import load_config
    from numerpilot.io import write_text_atomic
    from numerpilot.template import CONFIG_TEMPLATE
    from numerpilot.workdir import ensure_writable

    dest = directory / CONFIG_NAME
    target = _init_target(directory, dest, force)
    ensure_writable(directory, instead="give init another folder (numerpilot init DIR)")
    write_text_atomic(target, CONFIG_TEMPLATE)
    load_config(dest)  # the template must always load
    console.print(f"Wrote [bold]{escape(str(dest))}[/bold]. Edit it, then run: "
                  f"{escape(_run_demo(directory))}", highlight=False)  # fmt: skip


def _init_target(directory: Path, dest: Path, force: bool) -> Path:
    """The file ``init`` writes: ``dest``, or with --force over a link to a file, that file
    (the link stays). Refused: DIR (or a folder above it) that is a file, a folder in
    ``dest``'s place, an existing file or link without --force."""
    import os

    from numerpilot.errors import UsageError

    base = directory
    while not (base.exists() or base.is_symlink()) and base != base.parent:
        base = base.parent
    if base.exists() and not base.is_dir():
        raise UsageError(f"{base} is a file, not a folder: give init the folder to write "
                         f"{dest.name} in (numerpilot init DIR).")  # fmt: skip
    if dest.is_dir():
        raise UsageError(f"{dest} is a folder, not a file: move it away, then run "
                         "'numerpilot init' again.")  # fmt: skip
    if dest.is_symlink() and not dest.exists() and not force:
        raise UsageError(f"{dest} is a link to {os.readlink(dest)}, which does not exist; "
                         "pass --force to replace the link with a new file.")  # fmt: skip
    if dest.exists() and not force:
        raise UsageError(f"{dest} already exists; pass --force to overwrite it.")
    return dest.resolve() if dest.exists() else dest


def _run_demo(directory: Path) -> str:
    """The command that runs the demo in ``directory`` (``-C`` unless it is the current one)."""
    import shlex

    here = directory.resolve() == Path.cwd().resolve()
    return "numerpilot run --demo" + ("" if here else f" -C {shlex.quote(str(directory))}")


def _demo(key: str) -> int:
    """The ``[demo]`` default of ``key``: the one place demo sizes are spelled."""
    return int(DemoConfig.model_fields[key].default)


#: The SyntheticSpec fields and the demo-data options that set them.
_DEMO_OPTIONS = {"train_eras": "--train-eras", "validation_eras": "--validation-eras",
                 "rows_per_era": "--rows-per-era", "n_features": "--features",
                 "live_rows": "--live-rows", "the seed": "--seed"}  # fmt: skip


@app.command("demo-data", rich_help_panel="Get started")
def demo_data(
    directory: Annotated[Path, typer.Argument(help="Output folder.")],
    train_eras: Annotated[int, typer.Option(help="Training eras (at least 10).")] = _demo(
        "train_eras"
    ),
    validation_eras: Annotated[int, typer.Option(help="Validation eras (at least 4).")] = _demo(
        "validation_eras"
    ),
    rows_per_era: Annotated[int, typer.Option(help="Rows per era (±10 %; at least 50).")] = (
        _demo("rows_per_era")
    ),
    features: Annotated[int, typer.Option(help="Number of features (at least 24).")] = _demo(
        "n_features"
    ),
    live_rows: Annotated[int, typer.Option(help="Rows in live.parquet (at least 10).")] = _demo(
        "live_rows"
    ),
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = _demo("seed"),
) -> None:
    """Write a synthetic dataset in Numerai's exact file layout."""
    from numerpilot.data.synthetic import SyntheticSpec
    from numerpilot.data.synthetic_io import MARKER, write_synthetic
    from numerpilot.errors import UsageError
    from numerpilot.pipeline.demo import refuse_demo_data_over_data
    from numerpilot.workdir import ensure_writable

    try:
        spec = SyntheticSpec(train_eras, validation_eras, rows_per_era, features, live_rows, seed)
    except ValueError as error:  # said with the option's name, not the field's
        said = str(error)
        for field, option in _DEMO_OPTIONS.items():
            said = said.replace(field, option)
        raise UsageError(said) from None
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} is a file, not a folder: choose another DIR.")
    refuse_demo_data_over_data(directory)
    ensure_writable(directory, instead="give demo-data another folder (numerpilot demo-data DIR)")
    kept = f"The dataset in {directory} is as it was (none, if it had none)."
    new = f"The new dataset in {directory} is whole."
    with (
        on_interrupt(directory / MARKER, kept, new),  # the file written last
        progress().task("Generating synthetic Numerai data", None),
    ):
        written = write_synthetic(spec, directory)
    console.print(f"Wrote {len(written)} files to [bold]{directory}[/bold].")


def _context(
    directory: Path, demo: bool, writes: tuple[str, ...], *, trains: bool = False
) -> tuple[Context, RichProgressReporter]:
    """The command's context and progress bars, once the folders it ``writes`` (``models``,
    ``reports``, ``predictions``) proved writable; with ``--demo`` demo data first (for a
    command that ``trains``, once its model parameters passed)."""
    from numerpilot.pipeline.demo import load_context
    from numerpilot.workdir import ensure_writable

    wd = workdir(directory)
    wd.load_config()  # a bad config is reported before anything else
    ensure_writable(*(getattr(wd, name) for name in writes))
    reporter = progress()
    return load_context(wd, demo=demo, progress=reporter, trains=trains), reporter


@app.command(rich_help_panel="Every round")
def train(
    directory: WorkdirOption = Path("."),
    demo: DemoOption = False,
    cluster: ClusterOption = None,
) -> None:
    """Train the ensemble: trees and a ridge model per target, weighted by held-out eras."""
    from numerpilot.modeling.memory import every_nth_era
    from numerpilot.pipeline.train import left_out, train_ensemble

    if cluster is not None:
        from numerpilot.modeling.dask_address import check_address

        check_address(cluster)
    ctx, reporter = _context(directory, demo, ("models",), trains=True)
    with ctx.workdir.changing_models(), models_note(ctx.workdir.models):
        manifest = train_ensemble(ctx, reporter, cluster=cluster)
    score = manifest.ensemble_holdout
    held_out = "" if score is None else f"; the ensemble's held-out CORR per era {score:.4f}"
    dropped = left_out(ctx.config, manifest)
    why = ("given no weight by train.weights" if ctx.config.train.weights is not None else
           "no weight from the held-out eras (not clearly positive there, or adding too "
           "little beside the others)")  # fmt: skip
    weak = f". Left out, {why}: {', '.join(dropped)}"
    eras = f" of {every_nth_era(manifest.era_step)}" * (manifest.era_step > 1)
    console.print(
        f"Trained {len(manifest.targets)} model{'s' * (len(manifest.targets) != 1)} on "
        f"{len(manifest.features)} features{eras}"
        f"{held_out}{weak if dropped else ''}. Saved to {ctx.workdir.models}.",
        highlight=False,
    )


@app.command(rich_help_panel="Every round")
def validate(directory: WorkdirOption = Path("."), demo: DemoOption = False) -> None:
    """Score the trained ensemble per era on validation data."""
    from numerpilot.cli.render import print_report_line, render_validation
    from numerpilot.pipeline.validate import REPORT_HTML, REPORT_JSON, validate_ensemble

    ctx, reporter = _context(directory, demo, ("reports",))
    reports = ctx.workdir.reports
    kept = f"{REPORT_JSON} and {REPORT_HTML} in {reports} are as they were."
    with on_interrupt(reports / REPORT_JSON, kept, "The new report is whole."):
        report = validate_ensemble(ctx, reporter)
    render_validation(report)
    print_report_line(reports / REPORT_HTML, f"per-era scores: {REPORT_JSON}")


@app.command(rich_help_panel="Every round")
def predict(directory: WorkdirOption = Path("."), demo: DemoOption = False) -> None:
    """Predict the live era and write a checked submission file."""
    from numerpilot.pipeline.predict import predict_live

    ctx, reporter = _context(directory, demo, ("predictions",))
    sidecar = ctx.workdir.live_predictions.with_suffix(".json")  # replaced last
    kept = f"{ctx.workdir.live_predictions} is as it was (none, if there was none)."
    with on_interrupt(sidecar, kept, "The new live predictions are whole."):
        path = predict_live(ctx, reporter)
    _say_what_predictions_are_for(ctx, path)


def _say_what_predictions_are_for(ctx: Context, path: Path) -> None:
    """Call predictions valid for submission only while their live file's round is open."""
    from numerpilot.data.live_round import live_round

    if ctx.is_demo:
        console.print(f"Live predictions of the demo data (synthetic, not for submission): "
                      f"[bold]{path}[/bold]")  # fmt: skip
        return
    live = live_round(ctx.data_dir)
    is_open = live.is_open() if live else None
    if live is None or is_open is None:
        console.print(
            f"Live predictions (they pass Numerai's rules; the round of live.parquet "
            f"is not recorded, 'numerpilot submit' checks it): [bold]{path}[/bold]"
        )
        return
    if is_open:
        assert live.closes is not None
        until = clock_time(live.closes, day="%a %Y-%m-%d")
        console.print(f"Live predictions for round {live.number}, valid for submission until "
                      f"{until} UTC: [bold]{path}[/bold]")  # fmt: skip
        return
    console.print(f"Live predictions for round {live.number}: [bold]{path}[/bold]")
    err_console.print(
        f"[yellow]Warning:[/yellow] live.parquet is from round {live.number}, which is closed: "
        "these predictions cannot be submitted. Run 'numerpilot download' and 'numerpilot "
        "predict' for the open round.",
        soft_wrap=True,
    )


@app.command(rich_help_panel="Every round")
def run(
    directory: WorkdirOption = Path("."),
    demo: DemoOption = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Everything except the upload (the new models are trained and put in "
            "use; 'numerpilot submit --dry-run' checks a file without training).",
        ),
    ] = False,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            metavar="NAME",
            help="Numerai model name to submit for (repeatable; default: [submission] models).",
        ),
    ] = None,
) -> None:
    """The whole round: data, train, validate, predict and submit.

    --demo runs on synthetic data with no keys and no network; --dry-run does everything
    on real data except the upload (it trains, and the new models replace the ones in use;
    'numerpilot models rollback' goes back).
    """
    from numerpilot.cli.render import render_submissions, render_validation
    from numerpilot.pipeline.round import run_round
    from numerpilot.pipeline.validate import ENSEMBLE, REPORT_HTML
    from numerpilot.submission.once import check_outcomes

    if demo and model:
        from numerpilot.errors import UsageError

        raise UsageError("--model submits real predictions; --demo never submits anything.")
    wd = workdir(directory)
    result = run_round(wd, demo=demo, dry_run=dry_run, models=model, progress=progress())
    render_validation(result.report)
    render_submissions(result.submissions)
    if dry_run and not demo and not result.submissions:
        console.print("[yellow]•[/yellow] No model was named (--model NAME or \\[submission] "
                      "models): the predictions were checked, no model name (dry run: nothing "
                      "uploaded).", highlight=False)  # fmt: skip
    check_outcomes(result.submissions)
    summary = result.report.summary(ENSEMBLE)
    console.print(
        f"[bold green]Done.[/bold green] Validation CORR {summary['corr_mean']:.4f}, "
        f"sharpe {summary['corr_sharpe']:.2f} over {summary['n_eras']} eras.\n"
        f"  models:      {wd.models}\n  report:      {wd.reports / REPORT_HTML}\n"
        f"  submission:  {result.predictions} (validated)"
    )
