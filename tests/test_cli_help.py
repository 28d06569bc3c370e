"""Options that look alike behave alike across commands: `-m` wherever `--model` is."""

from __future__ import annotations

from pathlib import Path

import typer
from tests.conftest import Numerpilot

from numerpilot.cli.commands import app


def _options() -> list[tuple[str, list[str]]]:
    """Every option of every command: (the command's path, the option's names)."""
    group = typer.main.get_command(app)
    pending = [(f"numerpilot {name}", cmd) for name, cmd in group.commands.items()]  # type: ignore[attr-defined]
    found = []
    while pending:
        path, cmd = pending.pop()
        found += [(path, list(p.opts)) for p in cmd.params if p.opts[0].startswith("-")]
        pending += [(f"{path} {name}", sub) for name, sub in getattr(cmd, "commands", {}).items()]
    return found


def test_every_model_option_takes_m_and_every_dir_option_c() -> None:
    shorts = {"--model": "-m", "--dir": "-C"}
    for path, names in _options():
        for long, short in shorts.items():
            if long in names:
                assert short in names, f"{path}: {long} without {short}"


def test_upload_model_takes_m_as_submit_does(numerpilot: Numerpilot, tmp_path: Path) -> None:
    """`upload-model -m NAME` was 'No such option: -m' (exit 2), where `submit -m NAME` and
    `run -m NAME` take it."""
    done = numerpilot("upload-model", "-m", "my_model", "--pickle", str(tmp_path / "no.pkl"),
                      "-C", str(tmp_path))  # fmt: skip
    assert done.code == 1 and "no.pkl does not exist" in done.err, done.err
