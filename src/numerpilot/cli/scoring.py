"""CLI command: score (any predictions file, per era, as numerai-tools would)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from numerpilot.cli.app import (
    WorkdirOption,
    app,
    check_output,
    console,
    err_console,
    not_a_folder,
    workdir,
)

if TYPE_CHECKING:
    from numerpilot.config import Config


@app.command("score", rich_help_panel="Analysis")
def score(
    pred: Annotated[Path, typer.Argument(help="Predictions: parquet or CSV with 'id'.")],
    data: Annotated[
        Path,
        typer.Option(
            "--data", help="Parquet/CSV with era, targets (and features).", metavar="FILE"
        ),
    ],
    target: Annotated[str, typer.Option(help="Target column of --data.", metavar="COL")] = "target",
    meta_model: Annotated[
        Path | None, typer.Option("--meta-model", help="Meta model file (for MMC).", metavar="FILE")
    ] = None,
    meta_model_col: Annotated[
        str | None,
        typer.Option("--meta-model-col", help="Meta model column of --meta-model.", metavar="COL"),
    ] = None,
    benchmark: Annotated[
        Path | None,
        typer.Option("--benchmark", help="Benchmark models file (for BMC).", metavar="FILE"),
    ] = None,
    benchmark_col: Annotated[
        str | None,
        typer.Option("--benchmark-col", help="Benchmark column for BMC.", metavar="COL"),
    ] = None,
    features: Annotated[
        str | None,
        typer.Option(
            "--features",
            help="Feature set for FNC/exposure ('all', 'small', a group).",
            metavar="SET",
        ),
    ] = None,
    proportion: Annotated[
        float | None,
        typer.Option(
            help="Neutralization proportion for FNC, 0..1 (needs --features).  [default: 1.0]",
            metavar="P",
        ),
    ] = None,
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Write the scores as JSON to this file.", metavar="OUT"),
    ] = None,
    directory: WorkdirOption = Path("."),
) -> None:
    """Score predictions per era: CORR, MMC, BMC, FNC, exposure, summaries.

    Payout multipliers come from the work directory's numerpilot.toml (\\[scoring]).
    """
    from numerpilot.data.values import log as values_log
    from numerpilot.errors import DataError, UsageError
    from numerpilot.held_warnings import held
    from numerpilot.io import is_stream, write_json_atomic
    from numerpilot.kernel.eras import EraIndex
    from numerpilot.scoring.align import align
    from numerpilot.scoring.io import (
        check_target,
        data_columns,
        read_data,
        read_model_column,
        read_predictions,
        resolve_features,
    )
    from numerpilot.scoring.report import score_frame

    if benchmark_col is not None and benchmark is None:
        raise UsageError("--benchmark-col needs --benchmark FILE (the benchmark models file).")
    if meta_model_col is not None and meta_model is None:
        raise UsageError("--meta-model-col needs --meta-model FILE (the meta model file).")
    proportion = _checked_proportion(proportion, features)
    named = {"PRED": pred, "--data": data, "--meta-model": meta_model, "--benchmark": benchmark}
    for option, path in named.items():  # the user's own files: no 'download' advice
        if path is not None and not path.is_file():
            not_a_folder(path, option)
            if path.exists():  # /dev/null, a pipe: it reads as an empty file
                raise DataError(f"{option}: {path} is not a regular file (a device or a pipe); "
                                "give the file itself.")  # fmt: skip
            raise DataError(f"{option}: {path} does not exist; check the path.")
    if json_out is not None:
        check_output(json_out, "--json", {p: f"the {k} file" for k, p in named.items() if p})
        _refuse_other_file(json_out)
    config = workdir(directory).load_config()
    feature_names = resolve_features(data, features)
    with held(values_log):  # infinite targets said once the target is usable at all
        rows = read_data(data, target, feature_names)
        eras = EraIndex.from_eras(rows.eras)
        check_target(rows.target, eras, target)
    predictions = read_predictions(pred, like=rows.ids)
    _warn_data_columns(data_columns(pred), len(predictions.columns))
    values = align(predictions, rows.ids, "predictions")
    meta = (
        read_model_column(
            meta_model, meta_model_col, rows.ids, "meta model", option="--meta-model-col"
        )
        if meta_model is not None
        else None
    )
    bench = None if benchmark is None else _benchmark(benchmark, benchmark_col, rows.ids, config)
    report = score_frame(
        values,
        rows.target,
        eras,
        columns=[str(c) for c in predictions.columns],
        meta_model=meta,
        benchmark=bench,
        features=rows.features if feature_names else None,
        proportion=proportion,
        config=config.scoring,
    )
    for note in report.notes:
        err_console.print(f"[yellow]Warning:[/yellow] {escape(note)}", highlight=False)
    if json_out is not None:
        write_json_atomic(json_out, report.to_dict())
        if not is_stream(json_out):  # --json /dev/stdout: the JSON alone
            console.print(
                f"Wrote scores of {len(report.columns)} column(s) to [bold]{json_out}[/bold]."
            )
    else:
        from numerpilot.cli.render import print_scores

        print_scores(report)


def _benchmark(path: Path, column: str | None, ids: Any, config: Config) -> Any:
    """The benchmark column of ``path`` for BMC: ``--benchmark-col``, else ``[scoring]
    benchmark_column`` (as ``validate`` scores it), else the file's one model column."""
    from numerpilot.errors import DataError
    from numerpilot.scoring.io import read_model_column

    configured = config.scoring.benchmark_column
    try:
        chosen = column if column is not None else configured
        return read_model_column(path, chosen, ids, "benchmark",
                                 option="--benchmark-col")  # fmt: skip
    except DataError as error:
        if column is not None or configured is None:
            raise
        raise DataError(f"[scoring] benchmark_column of numerpilot.toml: {str(error).rstrip('.')}"
                        "; or name the column with --benchmark-col COL.") from None  # fmt: skip


def _checked_proportion(proportion: float | None, features: str | None) -> float:
    """``--proportion`` (default 1), refused outside 0..1 (NaN included) or without
    ``--features`` (it only shapes FNC, which needs the features)."""
    from numerpilot.errors import UsageError

    if proportion is None:
        return 1.0
    if not 0.0 <= proportion <= 1.0:
        raise UsageError(f"--proportion {proportion:g}: the neutralization proportion must "
                         "be a number between 0 and 1 (1: neutralize fully).")  # fmt: skip
    if features is None:
        raise UsageError(f"--proportion {proportion:g} needs --features SET: it is the share "
                         "of feature exposure FNC removes, and FNC is computed only with "
                         "--features (e.g. --features all).")  # fmt: skip
    return proportion


def _warn_data_columns(left_out: list[str], scored: int) -> None:
    """Say which feature and target columns of PRED are not scored as predictions."""
    if left_out:
        shown = ", ".join(left_out[:3]) + (
            f" … ({len(left_out) - 3} more)" if len(left_out) > 3 else ""
        )
        err_console.print(f"[yellow]Warning:[/yellow] PRED: {len(left_out)} feature and "
                          f"target column(s) are data, not predictions, and are not scored "
                          f"({escape(shown)}); scoring its {scored} other column(s).",
                          highlight=False)  # fmt: skip


def _refuse_other_file(out: Path) -> None:
    """Refuse a ``--json`` path where a file other than an earlier ``score --json`` report
    (or an empty file) is: a dataset's features.json, a config, a report of another command.
    A stream (``/dev/stdout``, even redirected to a file) is written into, never replaced."""
    from numerpilot.errors import UsageError
    from numerpilot.io import is_stream

    if not is_stream(out) and out.is_file() and out.stat().st_size > 0 and not _is_score_json(out):
        raise UsageError(f"--json {out} would replace {out}, which is not a report of "
                         "'numerpilot score --json'; it is kept. Choose another path (or "
                         "remove that file first).")  # fmt: skip


def _is_score_json(path: Path) -> bool:
    """Whether ``path`` holds what ``score --json`` writes: per column, a summary."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(data, dict)
        and bool(data)
        and all(isinstance(v, dict) and "summary" in v for v in data.values())
    )
