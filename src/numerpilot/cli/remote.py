"""CLI commands that talk to Numerai: download, submit, status, sandbox serve."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from numerpilot.cli.app import (
    WorkdirOption,
    app,
    console,
    err_console,
    not_a_folder,
    progress,
    workdir,
)

sandbox_app = typer.Typer(help="A local stand-in of the Numerai API.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox", rich_help_panel="Local Numerai API")

DEFAULT_PREDICTIONS = Path("predictions") / "live_predictions.csv"
#: A compressed schedule's round length when only --window-seconds is given.
COMPRESSED_ROUND_SECONDS = 60.0


@app.command(rich_help_panel="Every round")
def download(directory: WorkdirOption = Path(".")) -> None:
    """Download the configured (default: newest) dataset version; live files per round."""
    from numerpilot.api.connect import make_client
    from numerpilot.data.download import download_dataset
    from numerpilot.data.live_round import LIVE_ROUND_FILE, read_live_round
    from numerpilot.data.tournaments import LAYOUTS

    wd = workdir(directory)
    config = wd.load_config()
    wd.ensure_data_writable(config)
    client = make_client(config, need_credentials=False)
    folder = download_dataset(wd, config, client, progress())
    marker = read_live_round(folder) or {}
    spec = LAYOUTS[config.submission.tournament]
    console.print(
        f"Dataset [bold]{spec.prefix}{folder.name}[/bold] in {folder} "
        f"({spec.live} is round {marker.get('round', '?')}, see {LIVE_ROUND_FILE})."
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
        typer.Option(
            "--model",
            "-m",
            metavar="NAME",
            help="Numerai model name to submit for (repeatable; default: [submission] models).",
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check only; upload nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Upload again this round.")] = False,
    allow_churn: Annotated[
        bool,
        typer.Option(
            "--allow-churn",
            help="Signals: upload at or above max_churn / max_turnover, where Numerai sets "
            "the stake to zero.",
        ),
    ] = False,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="A signal computed elsewhere (any tournament): checked, uploaded, "
            "recorded like numerpilot's own.",
            metavar="FILE",
        ),
    ] = None,
) -> None:
    """Validate live predictions (or your own signal, --file) and upload them once per model
    and round."""
    from numerpilot.api.connect import make_client
    from numerpilot.cli.render import render_submissions
    from numerpilot.errors import UsageError
    from numerpilot.submission.once import check_outcomes
    from numerpilot.submission.submit import submit_predictions

    if predictions is not None and file is not None:
        raise UsageError("submit: give the file either as an argument or with --file, not both.")
    wd = workdir(directory)
    config = wd.load_config()
    path = predictions or file or wd.root / DEFAULT_PREDICTIONS
    not_a_folder(path, "--file" if file is not None else "submit")
    check_exists(path, given=predictions or file, tournament=config.submission.tournament)
    client = make_client(config, need_credentials=not dry_run)
    records = submit_predictions(
        wd, config, client, path, models=model, force=force, allow_churn=allow_churn,
        dry_run=dry_run,
    )  # fmt: skip
    render_submissions(records)
    if dry_run and not records:
        console.print(f"[yellow]•[/yellow] {path.name} is valid for the open round; no model was "
                      "named (--model NAME or \\[submission] models), so no model name was "
                      "checked (dry run: nothing uploaded).", highlight=False)  # fmt: skip
    check_outcomes(records)


def check_exists(path: Path, *, given: Path | None, tournament: str) -> None:
    """Refuse a missing file to submit with the next step: the path a user gave is
    checked; the default one is written by 'predict' (Crypto has no model to predict)."""
    from numerpilot.errors import DataError

    if path.exists():
        return
    if given is not None:
        raise DataError(f"{path} does not exist; check the path.")
    if tournament == "crypto":
        raise DataError(f"{path} does not exist: numerpilot trains no Crypto model (there "
                        "are no Crypto features); submit your own with --file FILE.")  # fmt: skip
    raise DataError(f"{path} does not exist: run 'numerpilot predict' first, or submit a file "
                    "of your own with --file FILE.")  # fmt: skip


@app.command(rich_help_panel="Autopilot")
def status(
    directory: WorkdirOption = Path("."),
    rounds: Annotated[
        int, typer.Option(help="How many recent rounds to show.", min=1, max=1000)
    ] = 10,
) -> None:
    """Per model and round: submitted, late, missed or failed, with scores, stake and payouts.

    Also writes reports/status.html with the cumulative CORR and MMC of every model.
    Works without API keys too (then only the rounds and numerpilot's own ledger).
    """
    from numerpilot.api.connect import make_client
    from numerpilot.automation.status import collect, weighted_target
    from numerpilot.cli.render import print_page_outcome, render_status
    from numerpilot.report.status_page import try_write_status_report
    from numerpilot.submission.ledger import Ledger

    wd = workdir(directory)
    config = wd.load_config()
    client = make_client(config, need_credentials=False)
    main, alias = weighted_target(wd, config)
    report = collect(
        client, Ledger(wd.state_db, read_only=True), config.submission.tournament,
        list(config.submission.models), config.scoring, max(rounds, 1), main, alias=alias,
    )  # fmt: skip
    render_status(report)
    info = report.current
    context = {
        "tournament": config.submission.tournament,
        "current round": f"{info.number} (opened {info.open_time:%Y-%m-%d %H:%M} UTC)",
        "server time": f"{info.now:%Y-%m-%d %H:%M:%S} UTC",
    }
    # a page that cannot be written (a read-only work folder) is a warning under the tables
    print_page_outcome(try_write_status_report(report, wd.reports / "status.html", context))


def check_serve_numbers(values: dict[str, float | None]) -> None:
    """Refuse a number ``sandbox serve`` cannot run with, naming its option: one that is not
    finite (``nan``, ``inf``), a speed or a round length of 0 or below, a fault rate outside
    0..1, a negative latency, a staking window longer than the round."""
    from numerpilot.errors import UsageError

    for option, value in values.items():
        if value is not None and not math.isfinite(value):
            raise UsageError(f"sandbox serve: {option} {value} is not a number it can use; "
                             "give a finite one.")  # fmt: skip
    for option, meaning in (("--speed", "1: real time; 3600: an hour a second"),
                            ("--round-seconds", "a new round every R seconds"),
                            ("--window-seconds", "staked submissions for W seconds")):  # fmt: skip
        value = values[option]
        if value is not None and value <= 0:
            raise UsageError(f"sandbox serve: {option} must be above 0 ({meaning}), not {value:g}.")
    for option in ("--error-rate", "--drop-rate", "--truncate-rate", "--lose-rate"):
        rate = values[option]
        if rate is not None and not 0 <= rate <= 1:
            raise UsageError(f"sandbox serve: {option} must be within 0 and 1 (the share of "
                             f"requests it hits), not {rate:g}.")  # fmt: skip
    latency = values["--latency"]
    if latency is not None and latency < 0:
        raise UsageError(f"sandbox serve: --latency must be 0 or more (seconds added to every "
                         f"answer), not {latency:g}.")  # fmt: skip
    rounds, window = values["--round-seconds"], values["--window-seconds"]
    if window is not None and window > (rounds or COMPRESSED_ROUND_SECONDS):
        said = (f"--round-seconds {rounds:g}" if rounds is not None else
                f"{COMPRESSED_ROUND_SECONDS:g} s without --round-seconds")  # fmt: skip
        raise UsageError(f"sandbox serve: --window-seconds {window:g} is longer than a round "
                         f"({said}); give at most that.")  # fmt: skip


def _start_time(start: str) -> datetime:
    """``--start`` as a time, UTC unless it says otherwise (not this machine's time zone); a
    ValueError that says how to write one."""
    try:
        when = datetime.fromisoformat(start)
    except ValueError:
        raise ValueError(
            f"--start {start!r} is not a date and time: write it as ISO 8601, "
            "e.g. 2024-01-02T12:00 (UTC) or 2024-01-02T14:00+02:00."
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@sandbox_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).", min=0, max=65535)] = 8765,
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
    lose_rate: Annotated[
        float,
        typer.Option(help="Share of submissions created whose answer is lost (a timeout)."),
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the fault draws.")] = 0,
    round_seconds: Annotated[
        float | None,
        typer.Option(help="Compressed schedule: a new round every R real seconds.", metavar="R"),
    ] = None,
    window_seconds: Annotated[
        float | None,
        typer.Option(help="Compressed schedule: staked submissions for W seconds.", metavar="W"),
    ] = None,
) -> None:
    """Serve a local Numerai API stand-in (GraphQL, dataset files, uploads)."""
    from numerpilot.errors import UsageError
    from numerpilot.sandbox import DEMO_PUBLIC_ID, DEMO_SECRET_KEY, FaultPlan, SandboxServer
    from numerpilot.sandbox.presets import OPEN_SATURDAY, SMALL_SPEC
    from numerpilot.sandbox.schedule import (
        ANCHOR_OPEN,
        ANCHOR_ROUND,
        CompressedSchedule,
        compressed_start,
    )

    check_serve_numbers(
        {"--speed": speed, "--error-rate": error_rate, "--latency": latency,
         "--drop-rate": drop_rate, "--truncate-rate": truncate_rate, "--lose-rate": lose_rate,
         "--round-seconds": round_seconds, "--window-seconds": window_seconds},
    )  # fmt: skip
    if data.exists() and not data.is_dir():
        raise UsageError(f"sandbox serve: --data {data} is a file; give a folder for the "
                         "sandbox's dataset (it is created if missing).")  # fmt: skip
    try:
        when = _start_time(start) if start else (OPEN_SATURDAY if open_round else None)
        weekly = round_seconds is None and window_seconds is None
        if when and weekly and when.astimezone(UTC) < ANCHOR_OPEN:
            raise ValueError(f"--start {start} is before the sandbox's first round "
                             f"({ANCHOR_ROUND}, open {ANCHOR_OPEN:%Y-%m-%d %H:%M} UTC); "
                             "start then or later.")  # fmt: skip
        faults = FaultPlan(error_rate, latency, drop_rate, truncate_rate, seed, lose_rate=lose_rate)
        schedule = None
        if round_seconds is not None or window_seconds is not None:
            period = COMPRESSED_ROUND_SECONDS if round_seconds is None else round_seconds
            window = window_seconds or period * 0.8
            # restarted on the same data: its rounds go on (numbers never go back)
            begin = when or compressed_start(data, period, window)
            schedule = CompressedSchedule(begin, period, window)
        server = SandboxServer(
            data,
            host=host,
            port=port,
            spec=SMALL_SPEC if small else None,
            start=when,
            speed=speed,
            faults=faults,
            schedule=schedule,
        )
    except ValueError as error:
        raise UsageError(f"sandbox serve: {error}") from None
    server.bind()  # a busy port fails now, before the dataset is prepared
    if host not in ("127.0.0.1", "localhost", "::1"):  # once it listens: one line if it can't
        err_console.print(
            f"[yellow]Warning:[/yellow] listening on {host}: reachable from other machines."
        )
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
