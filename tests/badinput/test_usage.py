"""Usage errors, -C, and Ctrl-C: one line, the right exit code, nothing created or lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.badinput.conftest import interrupted
from tests.conftest import Numerpilot
from tests.support.catalogue import Refused
from tests.support.fs import read_only, snapshot


@pytest.mark.bad_input("numerpilot", "an unknown command (`numerpilot bogus`)")
def test_unknown_command(numerpilot: Numerpilot, refused: Refused) -> None:
    refused(numerpilot("bogus"), 2, "No such command 'bogus'", "numerpilot --help")


@pytest.mark.bad_input("numerpilot", "an unknown option (`run --bogus`)")
def test_unknown_option(numerpilot: Numerpilot, refused: Refused) -> None:
    refused(
        numerpilot("run", "--bogus"), 2, "No such option: --bogus (see 'numerpilot run --help')"
    )


@pytest.mark.bad_input("numerpilot", "a missing argument (`score` alone)")
def test_missing_argument(numerpilot: Numerpilot, refused: Refused) -> None:
    refused(numerpilot("score"), 2, "Missing argument 'PRED'")


@pytest.mark.bad_input("numerpilot", "an option another command has (`check-upload --demo`)")
def test_option_of_another_command(numerpilot: Numerpilot, refused: Refused) -> None:
    refused(numerpilot("check-upload", "--demo"), 2, "No such option: --demo")


@pytest.mark.bad_input("numerpilot", "a number that is not one (`demo-data DIR --seed x`)")
def test_not_a_number(numerpilot: Numerpilot, refused: Refused, tmp_path: Path) -> None:
    refused(numerpilot("demo-data", str(tmp_path / "d"), "--seed", "x"), 2, "'--seed'")
    assert not (tmp_path / "d").exists()


@pytest.mark.bad_input(
    "numerpilot", "`-C` to a folder that does not exist (`validate --demo -C /typo/dir`)"
)
def test_workdir_that_does_not_exist(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    typo = tmp_path / "typo" / "dir"
    refused(numerpilot("validate", "--demo", "-C", str(typo)), 2, "does not exist")
    assert not (tmp_path / "typo").exists()  # nothing created, no demo data written


@pytest.mark.bad_input("numerpilot", "`-C` to a file (`-C numerpilot.toml`)")
def test_workdir_is_a_file(numerpilot: Numerpilot, refused: Refused, tmp_path: Path) -> None:
    (tmp_path / "numerpilot.toml").write_text("")
    refused(numerpilot("train", "-C", str(tmp_path / "numerpilot.toml")), 2, "is a file",
            "the folder that holds numerpilot.toml")  # fmt: skip


def test_version_and_bare_help(numerpilot: Numerpilot) -> None:
    done = numerpilot("--version")
    assert done.code == 0 and done.out.startswith("numerpilot ") and done.err == ""
    bare = numerpilot()
    assert bare.code == 2 and "Usage: numerpilot" in bare.out + bare.err
    assert "Error" not in bare.out + bare.err


def test_help_uses_plain_metavars(numerpilot: Numerpilot) -> None:
    for command in (("score",), ("submit",), ("run",), ("sandbox", "serve"), ()):
        text = numerpilot(*command, "--help").out
        assert "<bool>" not in text and "<list" not in text and "{" not in text, text
    assert "Usage: numerpilot score [OPTIONS] PRED" in numerpilot("score", "--help").out
    assert "[PREDICTIONS]" in numerpilot("submit", "--help").out
    assert "--model" in numerpilot("run", "--help").out
    assert "[scoring]" in numerpilot("score", "--help").out  # not eaten as markup


@pytest.mark.bad_input("numerpilot", "Ctrl-C while numerpilot starts")
def test_ctrl_c_during_start_up(refused: Refused, tmp_path: Path) -> None:
    refused(interrupted("import:typer", "--help", tmp_path=tmp_path), 130, "Interrupted.")


def test_ctrl_c_after_the_outcome_keeps_the_exit_code(trained: Path, tmp_path: Path) -> None:
    """Python takes a while to shut down after a large job: a Ctrl-C then is ignored (it
    killed the process by SIGINT, exit -2, after 'validate' had printed its report)."""
    outcome = interrupted("atexit", "validate", "-C", str(trained), tmp_path=tmp_path)
    assert outcome.code == 0 and "Report:" in outcome.out, outcome.err
    assert "KeyboardInterrupt" not in outcome.err and "Interrupted" not in outcome.err


@pytest.mark.bad_input("train", "Ctrl-C while training (after the first model)")
def test_ctrl_c_while_training(refused: Refused, fresh: Path, tmp_path: Path) -> None:
    outcome = interrupted(
        "numerpilot.pipeline.members:fit_member@2", "train", "-C", str(fresh), tmp_path=tmp_path
    )
    refused(outcome, 130, "Interrupted.")
    assert not (fresh / "models").exists()  # no model file, no manifest, not even the folder


@pytest.mark.bad_input("train", "data.dir at a demo-data folder whose rewrite was killed")
def test_interrupted_demo_data(numerpilot: Numerpilot, refused: Refused, tmp_path: Path) -> None:
    data = tmp_path / "mine"
    small = ("--train-eras", "12", "--validation-eras", "4", "--rows-per-era", "50")
    assert numerpilot("demo-data", str(data), *small, "--features", "24").code == 0
    # what a demo-data killed (SIGKILL) while moving its files into place leaves (a Ctrl-C
    # leaves the previous dataset whole: tests/test_interrupts.py)
    (data / ".synthetic.writing").write_text("{}")
    (tmp_path / "numerpilot.toml").write_text(f'[data]\ndir = "{data}"\n', encoding="utf-8")
    refused(numerpilot("train", "-C", str(tmp_path)), 1, "was not written to the end",
            f"run 'numerpilot demo-data {data}' again")  # fmt: skip
    assert numerpilot("demo-data", str(data), *small, "--features", "30").code == 0
    assert not (data / ".synthetic.writing").exists()


@pytest.mark.bad_input("validate", "Ctrl-C while the report is written")
def test_ctrl_c_while_writing_the_report(refused: Refused, trained: Path, tmp_path: Path) -> None:
    reports = trained / "reports"
    before = snapshot(reports)
    outcome = interrupted(
        "numerpilot.pipeline.validate:render_html", "validate", "-C", str(trained),
        tmp_path=tmp_path,
    )  # fmt: skip
    refused(outcome, 130, "Interrupted. validation.json and validation.html in",
            "are as they were.")  # fmt: skip
    assert snapshot(reports) == before  # the previous report, whole: JSON and HTML


def test_ctrl_c_while_predicting_says_the_live_predictions_are_as_they_were(
    trained: Path, tmp_path: Path
) -> None:
    predictions = trained / "predictions"
    before = snapshot(predictions)
    outcome = interrupted(
        "numerpilot.pipeline.predict:predict_file", "predict", "-C", str(trained),
        tmp_path=tmp_path,
    )  # fmt: skip
    assert outcome.code == 130
    assert outcome.err.startswith("Interrupted. ") and "is as it was" in outcome.err
    assert snapshot(predictions) == before
    again = interrupted("os:replace~live_predictions.json", "predict", "-C", str(trained),
                        tmp_path=tmp_path)  # fmt: skip
    assert again.err == "Interrupted. The new live predictions are whole.\n"


def test_ctrl_c_between_the_two_report_files_finishes_the_pair(
    trained: Path, tmp_path: Path
) -> None:
    reports = trained / "reports"
    (reports / "validation.json").unlink()
    (reports / "validation.html").unlink()
    outcome = interrupted(
        "os:replace~validation.html", "validate", "-C", str(trained), tmp_path=tmp_path
    )
    assert outcome.code == 130 and outcome.err.strip() == "Interrupted. The new report is whole."
    assert json.loads((reports / "validation.json").read_text())["ensemble"]
    assert (reports / "validation.html").read_text().rstrip().endswith("</html>")


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["train", "--bogus"], "No such option: --bogus (see 'numerpilot train --help')"),
        (["bogus"], "No such command 'bogus' (see 'numerpilot --help')"),
        (["models", "bogus"], "No such command 'bogus' (see 'numerpilot models --help')"),
        (["score"], "Missing argument 'PRED' (see 'numerpilot score --help')"),
    ],
)
def test_a_usage_error_points_to_the_help_of_its_command(argv: list[str], line: str) -> None:
    """It pointed to 'numerpilot --help' whatever the command, after a stray period."""
    from typer.exceptions import TyperException

    from numerpilot.cli.app import usage_message
    from numerpilot.cli.commands import app

    with pytest.raises(TyperException) as info:
        app(args=argv, prog_name="numerpilot", standalone_mode=False)
    assert usage_message(info.value) == line


def test_demo_data_help_states_the_minimums(numerpilot: Numerpilot) -> None:
    """The minimums the help states are the ones demo-data enforces."""
    from numerpilot.data.synthetic import SyntheticSpec

    help_text = " ".join(numerpilot("demo-data", "--help").out.split())
    sizes = {"train_eras": 10, "validation_eras": 4, "rows_per_era": 50, "n_features": 24,
             "live_rows": 10}  # fmt: skip
    for phrase in ("Training eras (at least 10)", "Validation eras (at least 4)",
                   "at least 50)", "Number of features (at least 24)",
                   "Rows in live.parquet (at least 10)"):  # fmt: skip
        assert phrase in help_text, phrase
    SyntheticSpec(**sizes, seed=0)  # the minimums themselves are accepted
    for key in sizes:
        with pytest.raises(ValueError, match=key):
            SyntheticSpec(**{**sizes, key: sizes[key] - 1}, seed=0)


@pytest.mark.bad_input("init", "a folder named numerpilot.toml (`init --force`)")
def test_init_over_a_folder(numerpilot: Numerpilot, refused: Refused, tmp_path: Path) -> None:
    """It said 'numerpilot.toml is a folder; give a file path': init takes no file path."""
    (tmp_path / "numerpilot.toml").mkdir()
    line = refused(numerpilot("init", str(tmp_path), "--force"), 2, "numerpilot.toml is a "
                   "folder, not a file: move it away")  # fmt: skip
    assert "give a file path" not in line


@pytest.mark.bad_input("init", "a file as DIR (`init afile`)")
def test_init_into_a_file(numerpilot: Numerpilot, refused: Refused, tmp_path: Path) -> None:
    """It said 'choose another work directory with -C': init has no -C."""
    (tmp_path / "afile").write_text("x")
    line = refused(numerpilot("init", str(tmp_path / "afile" / "sub")), 2, "afile is a file, "
                   "not a folder", "numerpilot init DIR")  # fmt: skip
    assert "-C" not in line


@pytest.mark.bad_input("init", "numerpilot.toml a link to a file that does not exist")
def test_init_over_a_dangling_link(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    """The link was replaced without --force (and load_config refuses such a link)."""
    link = tmp_path / "numerpilot.toml"
    link.symlink_to(tmp_path / "gone.toml")
    refused(numerpilot("init", str(tmp_path)), 2, "gone.toml, which does not exist",
            "pass --force")  # fmt: skip
    assert link.is_symlink()


def test_init_force_over_a_link_writes_its_file(numerpilot: Numerpilot, tmp_path: Path) -> None:
    """A numerpilot.toml kept elsewhere (a dotfiles repository) and linked: --force writes
    the file the link points to; the link stays (it was replaced by a plain file)."""
    kept = tmp_path / "dotfiles" / "numerpilot.toml"
    kept.parent.mkdir()
    kept.write_text("[lightgbm]\nseed = 3\n")
    link = tmp_path / "wd" / "numerpilot.toml"
    link.parent.mkdir()
    link.symlink_to(kept)
    assert numerpilot("init", str(link.parent), "--force").code == 0
    assert link.is_symlink() and link.resolve() == kept
    assert kept.read_text().startswith("# numerpilot configuration.")


@pytest.mark.bad_input("init", "a folder that is not writable")
def test_init_into_a_read_only_folder(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It said 'or choose another work directory with -C': init has no -C."""
    read_only(monkeypatch, tmp_path / "ro")
    line = refused(numerpilot("init", str(tmp_path / "ro")), 1, "ro is not writable",
                   "give init another folder")  # fmt: skip
    assert "-C" not in line


@pytest.mark.bad_input("demo-data", "a folder that is not writable")
def test_demo_data_into_a_read_only_folder(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It said 'or choose another work directory with -C': demo-data takes a folder."""
    read_only(monkeypatch, tmp_path / "ro")
    line = refused(numerpilot("demo-data", str(tmp_path / "ro")), 1, "ro is not writable",
                   "give demo-data another folder")  # fmt: skip
    assert "-C" not in line
