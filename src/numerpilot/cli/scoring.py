"""CLI commands: scoring (registered on import)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from numerpilot.cli.app import app, console, err_console
from numerpilot.config import CONFIG_NAME, load_config
from numerpilot.data import layout
from numerpilot.errors import UsageError
from numerpilot.io import write_json_atomic
from numerpilot.scoring.io import (
    align,
    read_data,
    read_model_column,
    read_predictions,
    resolve_features,
)
from numerpilot.scoring.report import ScoreReport, score_frame

_ROWS = (
    ("corr_mean", "CORR mean"),
    ("corr_std", "CORR std"),
    ("corr_sharpe", "CORR sharpe"),
    ("corr_max_drawdown", "CORR max drawdown"),
    ("corr_positive_share", "CORR eras > 0"),
    ("corr_autocorr", "CORR autocorr"),
    ("n_eras", "eras"),
    ("mmc_mean", "MMC mean"),
    ("mmc_std", "MMC std"),
    ("mmc_sharpe", "MMC sharpe"),
    ("mmc_n_eras", "MMC eras"),
    ("corr_with_meta_mean", "corr w/ meta model"),
    ("payout_mean", "payout / stake"),
    ("bmc_mean", "BMC mean"),
    ("bmc_sharpe", "BMC sharpe"),
    ("corr_with_benchmark_mean", "corr w/ benchmark"),
    ("fnc_mean", "FNC mean"),
    ("fnc_sharpe", "FNC sharpe"),
    ("max_feature_exposure", "feature exposure"),
)


def _cell(key: str, value: float | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, int):
        return str(value)
    if key.endswith("sharpe"):
        return f"{value:.2f}"
    return f"{value:.0%}" if key.endswith("share") else f"{value:.4f}"


def render(report: ScoreReport, title: str = "Per-era scores (numerai-tools definitions)") -> Table:
    """The summary numbers of every column as a rich table (one column per prediction)."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("metric", no_wrap=True)
    for col in report.columns:
        table.add_column(col, justify="right", overflow="fold", min_width=7)
    summaries = [report.summary(col) for col in report.columns]
    for key, label in _ROWS:
        if key in summaries[0]:
            table.add_row(label, *(_cell(key, s.get(key)) for s in summaries))
    return table


@app.command("score")
def score(
    pred: Annotated[Path, typer.Argument(help="Predictions: parquet or CSV with 'id'.")],
    data: Annotated[
        Path, typer.Option("--data", help="Parquet/CSV with era, targets (and features).")
    ],
    target: Annotated[str, typer.Option(help="Target column of --data.")] = layout.MAIN_TARGET,
    meta_model: Annotated[
        Path | None, typer.Option("--meta-model", help="Meta model file (for MMC).")
    ] = None,
    benchmark: Annotated[
        Path | None, typer.Option("--benchmark", help="Benchmark models file (for BMC).")
    ] = None,
    benchmark_col: Annotated[
        str | None, typer.Option("--benchmark-col", help="Benchmark column for BMC.")
    ] = None,
    features: Annotated[
        str | None,
        typer.Option("--features", help="Feature set for FNC/exposure ('all', 'small', a group)."),
    ] = None,
    proportion: Annotated[float, typer.Option(help="Neutralization proportion for FNC.")] = 1.0,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the scores as JSON to this file.")
    ] = None,
) -> None:
    """Score predictions per era: CORR, MMC, BMC, FNC, exposure, summaries."""
    if benchmark_col is not None and benchmark is None:
        raise UsageError("--benchmark-col needs --benchmark FILE (the benchmark models file).")
    if not 0.0 <= proportion <= 1.0:
        raise UsageError("--proportion must be between 0 and 1.")
    predictions = read_predictions(pred)
    feature_names = resolve_features(data, features)
    rows = read_data(data, target, feature_names)
    values = align(predictions, rows.ids, "predictions")
    meta = read_model_column(meta_model, None, rows.ids, "meta model") if meta_model else None
    bench = (
        read_model_column(benchmark, benchmark_col, rows.ids, "benchmark")
        if benchmark is not None
        else None
    )
    report = score_frame(
        values,
        rows.target,
        rows.eras,
        columns=[str(c) for c in predictions.columns],
        meta_model=meta,
        benchmark=bench,
        features=rows.features if feature_names else None,
        proportion=proportion,
        config=load_config(Path.cwd() / CONFIG_NAME).scoring,
    )
    for note in report.notes:
        err_console.print(f"[yellow]Warning:[/yellow] {note}", highlight=False)
    if json_out is not None:
        write_json_atomic(json_out, report.to_dict())
        console.print(
            f"Wrote scores of {len(report.columns)} column(s) to [bold]{json_out}[/bold]."
        )
    else:
        console.print(render(report))
