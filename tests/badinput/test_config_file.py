"""Mistakes in numerpilot.toml itself, as a user makes them: a typo in a key or a section,
a key in the wrong section, a key or a section given twice, a section given as a value, a
folder or an unreadable file in its place. Each is named with the fix."""

from __future__ import annotations

import builtins
import errno
import io
import os
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import Numerpilot
from tests.support.catalogue import Refused


def _validate(numerpilot: Numerpilot, root: Path, text: str) -> Any:
    (root / "numerpilot.toml").write_text(text, encoding="utf-8")
    return numerpilot("validate", "-C", str(root))


def _case(text: str, case: str, *fragments: str) -> object:
    return pytest.param(text, fragments, marks=pytest.mark.bad_input("validate", case))


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        _case("[lightgbm]\nlearning_rte = 0.1\n", "a misspelled key (`learning_rte`): the "
              "key it may be is named", "unknown key 'lightgbm.learning_rte'",
              "did you mean 'learning_rate'?", "allowed here: n_estimators"),
        _case("[lightgbms]\nlearning_rate = 0.1\n", "a misspelled section (`[lightgbms]`)",
              "unknown key 'lightgbms'", "did you mean [lightgbm]?"),
        _case("[train]\nn_estimators = 100\n", "a key in the wrong section (`[train] "
              "n_estimators`)", "unknown key 'train.n_estimators'",
              "it belongs under [lightgbm] or [demo]"),
        _case("[train]\nn_estimator = 100\n", "a misspelled key in the wrong section "
              "(`[train] n_estimator`)", "did you mean 'n_estimators' under [lightgbm]?"),
        _case("learning_rate = 0.1\n[lightgbm]\n", "a key above every section",
              "unknown key 'learning_rate'", "it belongs under [lightgbm]"),
        _case("lightgbm = 3\n", "a section given as a value (`lightgbm = 3`)",
              "lightgbm: must be a section ([lightgbm] on a line of its own"),
        _case('[api]\nsecret_key = "SECRETINLINE42"\n', "API keys written into the config "
              "(`[api] secret_key`)", "unknown key 'api.secret_key': API keys never go in "
              "numerpilot.toml", "credentials.json (mode 600) or set NUMERAI_PUBLIC_ID"),
        _case('[credentials]\npublic_id = "PUBLICINLINE42"\n', "a `[credentials]` section in "
              "the config", "unknown key 'credentials': API keys never go in numerpilot.toml"),
    ],
)  # fmt: skip
def test_key_or_section_named_with_the_fix(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, text: str, fragments: tuple[str, ...]
) -> None:
    """A typo listed every allowed key but not the one meant; a section as a value said
    'a valid dictionary or instance of LightGBMConfig'."""
    line = refused(_validate(numerpilot, tmp_path, text), 1, *fragments)
    assert "LightGBMConfig" not in line and "dictionary" not in line
    assert "INLINE42" not in line  # a key written into the config is never quoted


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        _case("[lightgbm]\nseed = 1\nnum_leaves = 31\nseed = 2", "a key given twice (at the "
              "end of the file: TOML names no line)", "'lightgbm.seed' is given twice, on "
              "lines 2 and 4"),
        _case("[lightgbm]\nseed = 1\n\n[train]\nrefit = true\n[lightgbm]\nnum_leaves = 31\n",
              "a section given twice", "[lightgbm] is given twice, on lines 1 and 6"),
        _case('[data]\nversion = v5.2\n', "a text value without quotes (`version = v5.2`)",
              "at line 2", 'text values need "quotes"'),
    ],
)  # fmt: skip
def test_toml_mistake_named_with_its_lines(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, text: str, fragments: tuple[str, ...]
) -> None:
    """A key given last in the file twice was 'Cannot overwrite a value (at end of
    document)': no key, no line."""
    refused(_validate(numerpilot, tmp_path, text), 1, "not valid TOML", *fragments)


@pytest.mark.bad_input("validate", "a folder named numerpilot.toml")
def test_config_a_folder(numerpilot: Numerpilot, refused: Refused, tmp_path: Path) -> None:
    """It said 'numerpilot.toml is a folder; give a file path': no path was given."""
    (tmp_path / "numerpilot.toml").mkdir()
    line = refused(numerpilot("validate", "-C", str(tmp_path)), 1, "numerpilot.toml is a "
                   "folder", "Move the folder away")  # fmt: skip
    assert "give a file path" not in line


def unreadable(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """``path`` cannot be read: by its mode, and for root (whom modes do not stop) by
    refusing Python's reads of it with EACCES."""
    path.chmod(0)
    if os.geteuid() != 0:
        return
    real_open = builtins.open

    def fake_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, str | os.PathLike) and Path(file).absolute() == path.absolute():
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(io, "open", fake_open)


@pytest.mark.bad_input("validate", "numerpilot.toml that this user cannot read")
def test_config_unreadable(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It said '... is not writable. Make it writable (chmod u+w)': the wrong fix."""
    path = tmp_path / "numerpilot.toml"
    path.write_text("[lightgbm]\nseed = 1\n")
    unreadable(monkeypatch, path)
    try:
        line = refused(numerpilot("validate", "-C", str(tmp_path)), 1, "cannot be read",
                       f"chmod u+r {path}")  # fmt: skip
    finally:
        path.chmod(0o644)
    assert "writable" not in line


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        _case("[daemon]\nlead_seconds = 1e308\n", "a wait no timer holds (`lead_seconds = "
              "1e308`): the daemon crashed with OverflowError", "daemon.lead_seconds",
              "less than or equal to 604800"),
        _case("[api]\ntimeout = 1e308\n", "a request timeout no socket holds (`timeout = "
              "1e308`)", "api.timeout", "less than or equal to 3600"),
        _case("[api]\nretries = 100000\n", "retries without end (`retries = 100000`)",
              "api.retries", "less than or equal to 100"),
        _case("[lightgbm]\nnum_leaves = 3000000000\n", "more leaves than LightGBM allows "
              "(it said 'Check failed: (num_leaves) > (1)')", "lightgbm.num_leaves",
              "less than or equal to 131072"),
        _case("[demo]\nn_estimators = 3000000000\n", "a tree count beyond LightGBM's ints "
              "(train ended in a traceback)", "demo.n_estimators", "2147483647"),
        _case('[submission]\nmodels = ["mine", "mine"]\n', "a model name listed twice",
              "submission.models", "must not repeat"),
        _case('[submission]\nmodels = [""]\n', "a blank model name", "submission.models",
              "a model name is blank"),
        _case('[data]\ndir = ""\n', 'an empty data folder (`dir = ""`)', "data.dir",
              "must not be empty"),
        _case('[submission]\nsignal_file = " "\n', "a blank signal file",
              "submission.signal_file", "must not be empty"),
    ],
)  # fmt: skip
def test_value_refused_before_it_fails_later(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, text: str, fragments: tuple[str, ...]
) -> None:
    """Each was accepted, then crashed (a timer, LightGBM's C ints), looped or did
    something else than meant (a submission per copy of a name, the work dir as data)."""
    refused(_validate(numerpilot, tmp_path, text), 1, "invalid configuration", *fragments)


@pytest.mark.bad_input("validate", 'numerpilot.toml saved as UTF-16 (Windows\' "Unicode")')
def test_config_utf16(numerpilot: Numerpilot, refused: Refused, tmp_path: Path) -> None:
    """It said 'not UTF-8 text (byte 0xff at position 0)', which named no cause."""
    (tmp_path / "numerpilot.toml").write_bytes("[lightgbm]\r\nseed = 1\r\n".encode("utf-16"))
    line = refused(numerpilot("validate", "-C", str(tmp_path)), 1, "numerpilot.toml: UTF-16 "
                   "text", "Save it as UTF-8")  # fmt: skip
    assert "0xff" not in line
