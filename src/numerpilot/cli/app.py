"""The typer app, the shared consoles and options of every command.

Command modules import heavy libraries (numpy, LightGBM, matplotlib, ...) inside the
commands that use them: ``numerpilot --help`` and light commands start in a fraction of a
second.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from numerpilot import __version__
from numerpilot.cli.bars import RichProgressReporter
from numerpilot.cli.help import classic_help
from numerpilot.credentials import redact

if TYPE_CHECKING:
    from numerpilot.workdir import Workdir

classic_help()


#: What an empty value ("") of an option or argument is refused with: as a path it would
#: mean the current folder (demo-data "" wrote its dataset there), as a name nothing.
EMPTY_VALUE = 'an empty value ("") names nothing; give one (is a shell variable unset?)'


def refuse_empty_values() -> None:
    """Make every option and argument refuse an empty value as a usage error, before it
    is converted (``Path("")`` is the current folder). Idempotent."""
    from typer import core

    for cls in (core.TyperArgument, core.TyperOption):
        if getattr(cls, "_refuses_empty", False):
            continue
        cls.process_value = _refusing_empty(cls.process_value)  # type: ignore[method-assign]
        setattr(cls, "_refuses_empty", True)  # noqa: B010  (a class of typer's)


def _refusing_empty(process: Callable[..., Any]) -> Callable[..., Any]:
    """``process`` (a parameter's process_value) that first refuses "" (alone or repeated)."""

    def process_value(self: Any, ctx: Any, value: Any) -> Any:
        values = value if isinstance(value, (list, tuple)) else (value,)
        if any(isinstance(each, str) and each == "" for each in values):
            raise typer.BadParameter(EMPTY_VALUE, ctx=ctx, param=self)
        return process(self, ctx, value)

    return process_value


refuse_empty_values()
app = typer.Typer(
    name="numerpilot",
    help="Autopilot for the Numerai tournaments: data, training, validation, submission.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # docstrings wrap as paragraphs; [brackets] stay text
)
console = Console()
err_console = Console(stderr=True)

#: Width of output that is not a terminal (a pipe, a file, cron's mail): wide enough that
#: a line is never wrapped and a table never loses a column.
PIPE_WIDTH = 1000


def _a_folder(value: Path) -> Path:
    """``-C``'s value, once it proved a folder (a file, such as ``-C numerpilot.toml``, or a
    device is refused with what -C takes)."""
    if not value.is_dir():
        what = "a file" if value.is_file() else "not a folder (a device or a pipe)"
        raise typer.BadParameter(f"dir {str(value)!r} is {what}: -C takes the work "
                                 "directory, the folder that holds numerpilot.toml")  # fmt: skip
    return value


WorkdirOption = Annotated[
    Path,
    typer.Option(
        "--dir", "-C", help="Work directory (holds numerpilot.toml); it must exist.",
        exists=True, metavar="DIR", callback=_a_folder,
    ),
]  # fmt: skip
DemoOption = Annotated[bool, typer.Option("--demo", help="Use the synthetic demo data.")]
ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster", metavar="ADDRESS",
        help="Run the fits as Dask tasks: 'local' (a cluster on this machine, sized by "
        "[cluster] workers) or a scheduler such as tcp://host:8786 (workers read the data at "
        "[cluster] data_url, e.g. s3://bucket/prefix, or at this machine's paths).",
    ),
]  # fmt: skip


def fit_consoles() -> None:
    """Terminals keep their width; other output gets COLUMNS, else :data:`PIPE_WIDTH`."""
    columns = os.environ.get("COLUMNS", "")
    for each in (console, err_console):
        if not each.is_terminal:
            each.width = int(columns) if columns.isdigit() else PIPE_WIDTH


def usage_message(error: Exception) -> str:
    """A usage error's line: click's message (its closing period dropped) and the help of
    the command it is about, e.g. "No such option: --bogus (see 'numerpilot train --help')"."""
    format_message = getattr(error, "format_message", None)
    message = str(format_message() if callable(format_message) else error).strip()
    message = message.removesuffix(".")
    ctx = getattr(error, "ctx", None)
    command = str(getattr(ctx, "command_path", "") or "numerpilot")
    return f"{message}{_misplaced(error, command)} (see '{command} --help')"


#: numerpilot's own options, which go before the command, as in ``numerpilot -v train``.
_GLOBAL_OPTIONS = ("-v", "--verbose", "--version")


def _misplaced(error: Exception, command: str) -> str:
    """Where an unknown option belongs when it is numerpilot's own given after a command
    (``numerpilot train -v``) or a command's given before it (``numerpilot -C DIR train``)."""
    option = getattr(error, "option_name", None)
    if type(error).__name__ != "NoSuchOption" or not isinstance(option, str):
        return ""
    if command != "numerpilot" and option in _GLOBAL_OPTIONS:
        if option == "--version":
            return "; it goes before any command: 'numerpilot --version'"
        rest = command.removeprefix("numerpilot ")
        return f"; it goes before the command: 'numerpilot {option} {rest} ...'"
    owner = _first_command_with(getattr(error, "ctx", None), option)
    if command == "numerpilot" and owner:
        return f"; it is a command's option and goes after it, as in '{owner} {option} ...'"
    return ""


def _first_command_with(ctx: Any, option: str) -> str | None:
    """The path of the first command (``numerpilot train``) that takes ``option``."""
    group = getattr(ctx, "command", None)
    pending = [(f"numerpilot {name}", cmd) for name, cmd in getattr(group, "commands", {}).items()]
    while pending:
        path, cmd = pending.pop(0)
        if any(option in getattr(p, "opts", ()) for p in cmd.params):
            return path
        pending += [(f"{path} {name}", sub) for name, sub in getattr(cmd, "commands", {}).items()]
    return None


def workdir(path: Path) -> Workdir:
    """The work directory at ``path``."""
    from numerpilot.workdir import Workdir

    return Workdir(path.resolve())


def not_a_folder(path: Path, option: str) -> None:
    """Refuse (usage error) a folder given where a file path is wanted."""
    from numerpilot.errors import UsageError

    if path.is_dir():
        raise UsageError(f"{option}: {path} is a folder; give a file path.")


def check_output(
    out: Path,
    option: str,
    keep: dict[Path, str] | None = None,
    keep_inside: dict[Path, str] | None = None,
) -> None:
    """Refuse, before any work, an output file ``out`` that is a folder, one of the files
    ``keep`` (path: what it is) or inside a folder of ``keep_inside``. Paths are compared
    resolved (symbolic links, relative paths)."""
    from numerpilot.errors import UsageError
    from numerpilot.io import own_descriptor, writable_descriptor

    descriptor = own_descriptor(out)
    if descriptor is not None:  # /dev/stdout, /dev/fd/N: written into, if open for writing
        if not writable_descriptor(descriptor):
            raise UsageError(f"{option} {out}: descriptor {descriptor} is not open for "
                             "writing; give a file path, or redirect it (9> out.json)")  # fmt: skip
        return
    not_a_folder(out, option)
    target = out.resolve()
    for path, what in (keep or {}).items():
        if target == path.resolve():
            raise UsageError(f"{option} {out} would overwrite {what} ({path}); "
                             "choose another path.")  # fmt: skip
    for folder, what in (keep_inside or {}).items():
        if target.is_relative_to(folder.resolve()):
            raise UsageError(f"{option} {out} is inside {folder}, {what}; "
                             "choose another path.")  # fmt: skip


def progress() -> RichProgressReporter:
    """Progress bars on the command's console."""
    return RichProgressReporter(console)


def _version(value: bool) -> None:
    if value:
        console.print(f"numerpilot {__version__}")
        raise typer.Exit()


class _CommandLog(logging.Formatter):
    """A command's log lines: warnings as its own notes print them ("Warning: ..."), the
    details of ``--verbose`` with the module that logged them; every message redacted."""

    def format(self, record: logging.LogRecord) -> str:
        text = redact(record.getMessage())
        if record.levelno >= logging.ERROR:
            return f"Error: {text}"
        if record.levelno >= logging.WARNING:
            return f"Warning: {text}"
        return f"{record.levelname} {record.name}: {text}"


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(_CommandLog())
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])
