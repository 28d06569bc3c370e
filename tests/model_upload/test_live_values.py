"""The pickle on live frames other than Numerai's: what it takes, what it refuses, and how.

Numerai's runtime hands the pickle the live.parquet of the data version it was uploaded for:
features int8, whole numbers 0..4. The same values in other types (float64, uint8, pandas'
nullable Int8) give the same predictions; anything else (0.5, NaN, 7, the 0..1 features of
older data versions) is refused with a message for Numerai's log, not predicted on silently.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.conftest import Numerpilot

from numerpilot.model_upload.build import BuiltUpload
from numerpilot.modeling.manifest import load_manifest

Change = Callable[[pd.DataFrame, list[str]], pd.DataFrame]


@pytest.fixture(scope="module")
def features(trained_dir: Path) -> list[str]:
    return list(load_manifest(trained_dir / "models").features)


def _set(frame: pd.DataFrame, name: str, value: object, dtype: str = "float64") -> pd.DataFrame:
    """``frame`` with its first row's ``name`` set to ``value`` (the column as ``dtype``)."""
    frame = frame.astype({name: dtype})
    frame.iloc[0, frame.columns.get_loc(name)] = value
    return frame


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda f, names: f.assign(**{n: f[n] / 4 for n in names}),
         "holds 0.25 \\(and 15 more features\\).*older data version's 0..1 features"),
        (lambda f, names: _set(f, names[0], 0.5), "holds 0.5;.*whole numbers 0..4"),
        (lambda f, names: _set(f, names[0], np.nan), "holds missing values \\(NaN\\)"),
        (lambda f, names: _set(f, names[0], pd.NA, "Int8"), "holds missing values \\(NaN\\)"),
        (lambda f, names: _set(f, names[0], 7, "int8"), "holds 7;.*no rescaling"),
        (lambda f, names: pd.concat([f, f[[names[0]]]], axis=1),
         "has feature .* more than once; give each column once"),
    ],
    ids=["scaled-to-0..1", "a-half", "nan", "nullable-NA", "seven", "a-column-twice"],
)  # fmt: skip
def test_features_that_are_not_numerais_are_refused(
    change: Change, needle: str, built: BuiltUpload, live_file: Path, features: list[str]
) -> None:
    """They were predicted on silently: 0..1 features gave other predictions (off by 0.4)."""
    model = pd.read_pickle(built.path)
    with pytest.raises(ValueError, match=needle) as raised:
        model(change(pd.read_parquet(live_file), features))
    assert features[0] in str(raised.value)
    assert "data version demo" in str(raised.value) or "more than once" in str(raised.value)


@pytest.mark.parametrize(
    "change",
    [
        lambda f, names: f.astype(dict.fromkeys(names, "float64")),
        lambda f, names: f.astype(dict.fromkeys(names, "uint8")),
        lambda f, names: f.astype(dict.fromkeys(names, "Int8")),
        lambda f, names: f[f.columns[::-1]].assign(other=0.5),
        lambda f, names: f.reset_index(),
    ],
    ids=["float64", "uint8", "nullable-Int8", "reordered-and-extra", "id-column"],
)
def test_numerais_values_in_other_types_predict_alike(
    change: Change, built: BuiltUpload, live_file: Path, features: list[str]
) -> None:
    """Int8 raised "float() argument must be ... not 'NAType'"; an 'id' column (the index
    reset) gave predictions indexed 0, 1, 2, ... that Numerai would refuse."""
    model = pd.read_pickle(built.path)
    live = pd.read_parquet(live_file)
    want = model(live)
    got = model(change(live, features))
    assert got.index.name == "id" and list(got.index) == list(want.index)
    np.testing.assert_allclose(got["prediction"], want["prediction"], rtol=0, atol=0)


def test_one_row_predicts(built: BuiltUpload, live_file: Path) -> None:
    out = pd.read_pickle(built.path)(pd.read_parquet(live_file).iloc[:1])
    assert len(out) == 1 and 0 < out["prediction"].iloc[0] < 1


@contextlib.contextmanager
def _ctrl_c_in(monkeypatch: pytest.MonkeyPatch, target: str) -> Iterator[None]:
    """Press Ctrl-C (a real SIGINT to this process) when ``target`` (module:name) is called."""
    module, _, name = target.partition(":")
    real = getattr(__import__(module, fromlist=[name]), name)

    def pressed(*args: object, **kwargs: object) -> object:
        os.kill(os.getpid(), signal.SIGINT)  # the handler runs before the next line
        return real(*args, **kwargs)

    monkeypatch.setattr(f"{module}.{name}", pressed)
    yield


def test_ctrl_c_just_after_the_pickle_was_written_says_it_is_whole(
    trained_dir: Path, tmp_path: Path, numerpilot: Numerpilot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It exited 130 with "Interrupted." alone: was the new pickle complete?"""
    out = tmp_path / "m.pkl"
    with _ctrl_c_in(monkeypatch, "numerpilot.cli.model_upload:_warn_drift"):
        outcome = numerpilot("build-upload", "--out", str(out), "-C", str(trained_dir))
    assert outcome.code == 130, outcome.err
    assert f"{out} was written whole, with its sidecar m.pkl.json" in outcome.err
    # check-upload takes the live file from the work folder's config: the same -C
    assert f"('numerpilot check-upload {out} -C {trained_dir}' checks it)" in outcome.err
    assert callable(pd.read_pickle(out)) and out.with_name("m.pkl.json").is_file()


@pytest.mark.parametrize("before", [False, True])
def test_ctrl_c_before_the_pickle_was_written_says_none_was(
    before: bool,
    trained_dir: Path,
    tmp_path: Path,
    numerpilot: Numerpilot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "m.pkl"
    if before:
        assert numerpilot("build-upload", "--out", str(out), "-C", str(trained_dir)).code == 0
    was = out.read_bytes() if before else None
    with _ctrl_c_in(monkeypatch, "numerpilot.model_upload.build:pickle_model"):
        outcome = numerpilot("build-upload", "--out", str(out), "-C", str(trained_dir))
    assert outcome.code == 130, outcome.err
    said = "is as it was (an earlier build's)" if before else f"({out} does not exist)"
    assert "No pickle was written" in outcome.err and said in outcome.err
    assert (out.read_bytes() if out.exists() else None) == was


@pytest.mark.e2e
def test_check_upload_names_features_that_are_not_numerais(
    built: BuiltUpload, live_file: Path, features: list[str], replica_python: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    """In the replica (Numerai's pins) too, with what to check instead."""
    from numerpilot.model_upload.check import run_in_runtime
    from numerpilot.model_upload.images import image_for, python_minor

    live = pd.read_parquet(live_file)
    scaled = tmp_path / "live.parquet"
    live.assign(**{n: live[n] / 4 for n in features}).to_parquet(scaled)
    result = run_in_runtime(replica_python, built.path, scaled, image=image_for(python_minor()))
    assert not result.passed and result.stage == "call", result
    assert f"live feature {features[0]} holds 0.25" in result.message
    assert result.fix.startswith("Check with Numerai's live.parquet of the models' data version")


def test_a_nan_among_whole_numbers_is_not_called_an_older_versions_feature(
    built: BuiltUpload, live_file: Path, features: list[str]
) -> None:
    """Features of 0s and 1s (whole numbers 0..4) with one NaN were said to "look like an
    older data version's 0..1 features": only quarters (0.25, 0.5, 0.75) do."""
    model = pd.read_pickle(built.path)
    live = pd.read_parquet(live_file)
    live[features] = live[features].clip(upper=1)
    needle = rf"live feature {features[0]} holds missing values \(NaN\);"
    with pytest.raises(ValueError, match=needle) as raised:
        model(_set(live, features[0], np.nan))
    said = str(raised.value)
    assert "older data version" not in said and "(no NaN, no rescaling)" in said
