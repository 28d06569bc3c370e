"""CLI commands that talk to Numerai: download, submit, status, sandbox serve."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from numerpilot.cli.app import WorkdirOption, app, console, err_console, progress, workdir

sandbox_app = typer.Typer(help="A local stand-in of the Numerai API.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox", rich_help_panel="Local Numerai API")

DEFAULT_PREDICTIONS = Path("predictions") / "live_predictions.csv"


@app.command(rich_help_panel="Every round")
def download(directory: WorkdirOption = Path(".")) -> None:
    """Download the configured (default: newest) dataset version; live files per round."""
    from numerpilot.api.connect import make_client
    from numerpilot.data.download import download_dataset
    from numerpilot.data.live_round import LIVE_ROUND_FILE, read_live_round
    from numerpilot.workdir import ensure_writable

    wd = workdir(directory)
    config = wd.load_config()
    ensure_writable(wd.data_root(config))
    client = make_client(config, need_credentials=False)
    folder = download_dataset(wd, config, client, progress())
    marker = read_live_round(folder) or {}
    console.print(
        f"Dataset [bold]{folder.name}[/bold] in {folder} "
        f"(live.parquet is round {marker.get('round', '?')}, see {LIVE_ROUND_FILE})."
    )


@app.command(rich_help_panel="Every round")
def submit(
    directory: WorkdirOption = Path("."),
    predictions: Annotated[
        Path | None,
        typer.Argument(help="Predictions file (default predictions/live_predictions.csv)."),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Numerai model name (repeatable).", metavar="NAME"),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check only; upload nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Upload again this round.")] = False,
) -> None:
    """Validate live predictions and upload them once per model and round."""
    from numerpilot.api.connect import make_client
    from numerpilot.cli.render import render_submissions
    from numerpilot.submission.submit import submit_predictions

    wd = workdir(directory)
    config = wd.load_config()
    path = predictions or wd.root / DEFAULT_PREDICTIONS
    client = make_client(config, need_credentials=not dry_run)
    records = submit_predictions(
        wd, config, client, path, models=model, force=force, dry_run=dry_run
    )
    render_submissions(records)


@app.command(rich_help_panel="Every round")
def status(directory: WorkdirOption = Path(".")) -> None:
    """The current round, your models, recent submissions and their scores."""
    from rich.table import Table

    from numerpilot.api.connect import make_client
    from numerpilot.submission.ledger import Ledger

    wd = workdir(directory)
    config = wd.load_config()
    client = make_client(config)
    info = client.current_round()
    state = "[green]open[/green]" if info.is_open else "[red]closed[/red]"
    console.print(
        f"Round {info.number} is {state} (closes {info.close_time:%a %Y-%m-%d %H:%M} UTC)."
    )
    models = client.models()
    table = Table(title=f"{config.submission.tournament} models")
    for col in ("model", "last round submitted", "latest scores"):
        table.add_column(col)
    history = Ledger(wd.state_db).history(200)
    for name, model_id in sorted(models.items()):
        rounds = [r.round for r in history if r.model_id == model_id]
        scores = client.submission_scores(model_id)
        latest = max((s.get("roundNumber") or 0 for s in scores), default=None)
        text = ", ".join(
            f"{s['displayName']} {_num(s.get('value'))}"
            for s in scores
            if s.get("roundNumber") == latest
        )
        table.add_row(
            name, str(max(rounds)) if rounds else "—", f"round {latest}: {text}" if text else "—"
        )
    console.print(table)


def _num(value: object) -> str:
    if isinstance(value, int | float) and not math.isnan(float(value)):
        return f"{float(value):+.4f}"
    return "—"


@sandbox_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8765,
    data: Annotated[Path, typer.Option(help="Where the sandbox keeps its dataset.")] = Path(
        ".numerpilot-sandbox"
    ),
    start: Annotated[
        str | None, typer.Option(help="Sandbox clock start (ISO, UTC); default now.")
    ] = None,
    open_round: Annotated[
        bool, typer.Option("--open", help="Start inside an open (Saturday) round.")
    ] = False,
    speed: Annotated[float, typer.Option(help="Clock speed (60 = a minute per second).")] = 1.0,
    small: Annotated[bool, typer.Option(help="A small dataset (fast to generate).")] = False,
    error_rate: Annotated[float, typer.Option(help="Share of requests answered 503.")] = 0.0,
    latency: Annotated[float, typer.Option(help="Seconds added to every answer.")] = 0.0,
    drop_rate: Annotated[float, typer.Option(help="Share of connections dropped.")] = 0.0,
    truncate_rate: Annotated[float, typer.Option(help="Share of responses cut short.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the fault draws.")] = 0,
) -> None:
    """Serve a local Numerai API stand-in (GraphQL, dataset files, uploads)."""
    from numerpilot.errors import UsageError
    from numerpilot.sandbox import DEMO_PUBLIC_ID, DEMO_SECRET_KEY, FaultPlan, SandboxServer
    from numerpilot.sandbox.presets import OPEN_SATURDAY, SMALL_SPEC

    try:
        when = datetime.fromisoformat(start) if start else (OPEN_SATURDAY if open_round else None)
        faults = FaultPlan(error_rate, latency, drop_rate, truncate_rate, seed)
        server = SandboxServer(
            data,
            host=host,
            port=port,
            spec=SMALL_SPEC if small else None,
            start=when,
            speed=speed,
            faults=faults,
        )
    except ValueError as error:
        raise UsageError(f"sandbox serve: {error}") from None
    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(
            f"[yellow]Warning:[/yellow] listening on {host}: reachable from other machines."
        )
    server.bind()  # a busy port fails now, before the dataset is prepared
    with progress().task("Preparing the sandbox dataset", None):
        server.data.ensure_base()

    def ready(server_url: str) -> None:
        models = "; ".join(
            f"{tournament}: {', '.join(names)}"
            for tournament, names in server.model_names().items()
        )
        console.print(
            f"Sandbox Numerai API on [bold]{server_url}[/bold] (Ctrl-C stops it). Point "
            "numerpilot at it with the sandbox-only demo keys:\n"
            f"  export NUMERPILOT_API_URL={server_url}\n"
            f"  export NUMERAI_PUBLIC_ID={DEMO_PUBLIC_ID}\n"
            f"  export NUMERAI_SECRET_KEY={DEMO_SECRET_KEY}\n"
            f"The sandbox account's models ({models}): submit with --model NAME, or list "
            "them in numerpilot.toml under \\[submission] models = [...].",
            highlight=False,
            soft_wrap=True,
        )

    server.serve_forever(ready)
