"""What a new user following the README met: messages that sent them the wrong way, or
work done before a refusal."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.conftest import Numerpilot
from tests.pipeline.conftest import FAST_CONFIG, make_workdir
from tests.support.catalogue import Refused

from numerpilot.data import layout
from numerpilot.data.load import open_parquet
from numerpilot.errors import DataError


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(
            c, marks=pytest.mark.bad_input(c, "`--demo` in a folder without trained models")
        )
        for c in ("predict", "validate")
    ],
)
def test_demo_without_models_is_refused_before_writing_data(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, command: str
) -> None:
    """`predict --demo` in a fresh folder generated the demo dataset (seconds), then said to
    run 'numerpilot train' first, naming the demo's own command only in passing."""
    line = refused(numerpilot(command, "--demo", "-C", str(tmp_path)), 1,
                   "no trained models in", "Run 'numerpilot train --demo' first, or "
                   "'numerpilot run --demo'")  # fmt: skip
    assert "('numerpilot train --demo' on the demo data)" not in line
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "manifest.json").write_text('{"data_version": "v5', encoding="utf-8")
    damaged = numerpilot(command, "--demo", "-C", str(tmp_path))  # not the catalogue's case
    assert damaged.code == 1 and "manifest.json is damaged" in damaged.err, damaged.err
    assert not (tmp_path / "data").exists()


def test_one_embargoed_era_is_named_in_the_singular(
    numerpilot: Numerpilot, synthetic_dir: Path, tmp_path: Path
) -> None:
    """With train.embargo_eras = 1 the note said 'the first validation era (0041) is not
    scored: their targets overlap'."""
    config = FAST_CONFIG.replace("embargo_eras = 2", "embargo_eras = 1")
    config += "\n[model]\nseeds = [0]\nlinear = false\n"
    root = make_workdir(tmp_path / "wd", synthetic_dir, config)
    assert numerpilot("train", "-C", str(root)).code == 0
    done = numerpilot("validate", "-C", str(root))
    assert done.code == 0, done.err
    said = " ".join((done.out + done.err).split())
    assert "validation era (" in said and ") is not scored: its targets overlap train's" in said
    assert "their targets" not in said


@pytest.mark.parametrize(
    ("name", "columns"),
    [
        (layout.LIVE, "an 'era' column and the feature_ columns; no targets"),
        (layout.VALIDATION, "an 'era' column, feature_ and target columns"),
    ],
)
def test_a_missing_file_of_your_own_dataset_names_its_columns(
    synthetic_dir: Path, tmp_path: Path, name: str, columns: str
) -> None:
    """A missing live.parquet of your own dataset asked for target columns, which a live
    file does not have."""
    mine = Path(shutil.copytree(synthetic_dir, tmp_path / "mine"))
    (mine / name).unlink()
    with pytest.raises(DataError) as said:
        open_parquet(mine / name)
    assert f"put {name} there, in Numerai's layout ({columns})" in str(said.value)


def _misplaced(args: list[str], hint: str) -> object:
    case = f"numerpilot's own option after a command (`{' '.join(args)}`)"
    return pytest.param(args, hint, marks=pytest.mark.bad_input("numerpilot", case))


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        _misplaced(
            ["train", "-v"],
            "No such option: -v; it goes before the command: 'numerpilot -v train ...'",
        ),
        _misplaced(
            ["models", "list", "--verbose"],
            "it goes before the command: 'numerpilot --verbose models list ...'",
        ),
        _misplaced(["run", "--version"], "it goes before any command: 'numerpilot --version'"),
    ],
)
def test_numerpilots_own_option_after_a_command(
    numerpilot: Numerpilot, refused: Refused, args: list[str], hint: str
) -> None:
    """The README says `-v` goes before the command; after it, click said only 'No such
    option: -v (see 'numerpilot train --help')', whose help does not list it."""
    refused(numerpilot(*args), 2, hint)


@pytest.mark.bad_input("numerpilot", "a command's option before the command (`-C DIR train`)")
def test_a_commands_option_before_the_command(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    """`numerpilot -C DIR train` said 'No such option: -C (see 'numerpilot --help')'."""
    refused(numerpilot("-C", str(tmp_path), "train"), 2, "No such option: -C; it is a "
            "command's option and goes after it, as in 'numerpilot ", " -C ...'")  # fmt: skip
    bogus = numerpilot("--bogus")  # an unknown option: no advice on where it goes
    assert bogus.code == 2 and "No such option: --bogus" in bogus.err, bogus.err
    assert "goes after" not in bogus.err


@pytest.mark.bad_input("demo-data", "a folder holding a dataset it did not write")
def test_demo_data_never_replaces_a_dataset_it_did_not_write(
    numerpilot: Numerpilot, refused: Refused, synthetic_dir: Path, tmp_path: Path
) -> None:
    """`demo-data data/v5.3` replaced Numerai's downloaded files with synthetic ones, without
    a word (and left live.round.json naming a round the new live file is not)."""
    real = Path(shutil.copytree(synthetic_dir, tmp_path / "data" / "v5.3"))
    (real / ".synthetic.json").unlink()  # as download writes a version folder
    before = {p.name: p.read_bytes() for p in real.iterdir()}
    refused(numerpilot("demo-data", str(real)), 2, "holds a dataset that demo-data did not "
            "write (train.parquet, ", "Give demo-data a folder of its own")  # fmt: skip
    assert {p.name: p.read_bytes() for p in real.iterdir()} == before
    again = numerpilot("demo-data", str(tmp_path / "mine"), "--train-eras", "10",
                       "--validation-eras", "4", "--rows-per-era", "50", "--features", "24",
                       "--live-rows", "10")  # fmt: skip
    assert again.code == 0, again.err
    redo = numerpilot("demo-data", str(tmp_path / "mine"), "--seed", "1",
                      "--train-eras", "10", "--validation-eras", "4", "--rows-per-era", "50",
                      "--features", "24", "--live-rows", "10")  # fmt: skip
    assert redo.code == 0, redo.err  # its own dataset: written again
