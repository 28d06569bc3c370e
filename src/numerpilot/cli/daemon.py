"""CLI command: daemon (every round, every model, exactly once)."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from numerpilot.cli.app import WorkdirOption, app, workdir

if TYPE_CHECKING:
    from numerpilot.automation.daemon import Daemon
    from numerpilot.config import Config
    from numerpilot.errors import NumerpilotError
    from numerpilot.workdir import Workdir

INTERRUPTED = 130


@app.command(rich_help_panel="Autopilot")
def daemon(
    ctx: typer.Context,
    directory: WorkdirOption = Path("."),
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit (for cron).")] = False,
    log_json: Annotated[
        bool, typer.Option("--log-json", help="Log one JSON object per line.")
    ] = False,
) -> None:
    """Submit every round for every model in [submission] models, exactly once.

    Runs in the foreground (a systemd service, or --once from cron); Ctrl-C or SIGTERM stop
    it after the current step. Exit codes: 0 stopped by SIGTERM, 130 by Ctrl-C, 1 when a
    model failed in a --once pass or another daemon runs in the directory, 3 when Numerai
    rejects the keys. An error that stops it is also sent to [daemon] alert_webhook.
    """
    from numerpilot.automation import logs
    from numerpilot.automation.alerts import Alert
    from numerpilot.errors import NumerpilotError, SubmissionError, from_os_error
    from numerpilot.lock import LockedError

    verbose = bool(ctx.parent and ctx.parent.params.get("verbose"))  # numerpilot -v daemon
    runner: Daemon | None = None
    with logs.to_stderr(json_lines=log_json, verbose=verbose):  # from the config's warnings on
        try:
            wd = workdir(directory)
            config = wd.load_config()
            runner = _daemon(wd, config)
            with runner.signal_handlers():
                try:
                    report = runner.run(once=once)
                except NumerpilotError as error:
                    if not isinstance(error, LockedError):  # the daemon that runs goes on
                        ended = "this pass failed (daemon --once)" if once else "the daemon stopped"
                        runner.alerts.send(Alert("error", config.submission.tournament, None,
                                                 None, f"{ended}: {error}"))  # fmt: skip
                    raise
            if once and report.failures and runner.stopped_by != signal.SIGINT:
                raise SubmissionError(f"round {report.round}: " + "; ".join(report.failures))
        except (NumerpilotError, OSError) as error:  # OSError: a full disk, a folder not readable
            if not log_json:
                raise
            # with --log-json even the last word is a JSON line, for the log's parser
            _log_error(from_os_error(error) if isinstance(error, OSError) else error)
        except KeyboardInterrupt:  # while starting, or a second Ctrl-C: at once
            if not log_json:
                raise
            _log_interrupted()
        if log_json and runner.stopped_by == signal.SIGINT:  # "Interrupted." as a JSON line
            _log_interrupted()
    if runner.stopped_by == signal.SIGINT:  # Ctrl-C: "Interrupted.", as every command
        raise typer.Exit(INTERRUPTED)


def _log_error(error: NumerpilotError) -> NoReturn:
    """End ``daemon --log-json`` with ``error`` as its last JSON line, and its exit code."""
    logging.getLogger(__name__).error("%s", error, extra={"event": "error"})
    raise typer.Exit(error.exit_code)


def _log_interrupted() -> NoReturn:
    """End ``daemon --log-json`` with "Interrupted." as its last JSON line (exit code 130),
    whether the daemon had started or not."""
    from numerpilot.cli.commands import Said

    logging.getLogger(__name__).warning("Interrupted.", extra={"event": "interrupted"})
    raise Said(INTERRUPTED)


def _daemon(wd: Workdir, config: Config) -> Daemon:
    """The daemon of ``wd``, once the configuration can run one (models listed, data of
    Numerai's: the download at the first round would refuse a dataset of your own)."""
    from numerpilot.api.connect import make_client
    from numerpilot.automation.daemon import Daemon
    from numerpilot.data.download import refuse_own_dataset
    from numerpilot.errors import ConfigError

    if not config.submission.models:
        write = "" if wd.config_path.exists() else " (write that file with 'numerpilot init')"
        raise ConfigError(
            "the daemon has no model to submit for: list your Numerai model names in "
            f"{wd.config_path} under [submission] models = [...]{write}."
        )
    refuse_own_dataset(wd, config)
    return Daemon(wd, config, make_client(config))
