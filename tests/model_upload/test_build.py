"""build-upload: the pickle loads and predicts without numerpilot, exactly as `predict` does."""

from __future__ import annotations

import inspect
import json
import pickle
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.conftest import Numerpilot
from tests.model_upload.conftest import folder_held_elsewhere
from typer.testing import CliRunner

from numerpilot.cli.commands import app
from numerpilot.errors import DataError, NumerpilotError
from numerpilot.kernel.ensemble import build_models
from numerpilot.model_upload.build import BuiltUpload, build_upload, pickle_model
from numerpilot.model_upload.images import IMAGES, local_versions, target_image
from numerpilot.modeling.manifest import load_manifest
from numerpilot.modeling.store import Bundle, load_bundle, load_model_strings
from numerpilot.pipeline.predict import predict_file

# Loads a pickle, calls it, and fails if numerpilot gets (or could get) imported.
_BARE = """
import importlib.abc, sys
class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'numerpilot':
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, Blocked())
import pandas as pd
model = pd.read_pickle(sys.argv[1])
live = pd.read_parquet(sys.argv[2])
out = model(live)
assert type(out) is pd.DataFrame and list(out.columns) == ["prediction"], out
assert not any(m.split('.')[0] == 'numerpilot' for m in sys.modules)
out.to_parquet(sys.argv[3])
"""


def _reference(models: Path, path: Path) -> pd.Series:
    result = predict_file(load_bundle(models), path)
    return pd.Series(result.final, index=result.data.ids)


def test_pickle_runs_without_numerpilot_and_equals_predict(
    built: BuiltUpload, trained_dir: Path, live_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.parquet"
    proc = subprocess.run(
        [sys.executable, "-I", "-c", _BARE, str(built.path), str(live_file), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    got = pd.read_parquet(out)["prediction"]
    assert got.between(0, 1).all()
    submitted = pd.read_csv(trained_dir / "predictions" / "live_predictions.csv", index_col="id")
    want = submitted["prediction"].loc[got.index]
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=0, atol=1e-9)
    ref = _reference(trained_dir / "models", live_file).loc[got.index]
    np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=0, atol=1e-9)


def test_neutralized_multi_era_ensemble_matches(trained_dir: Path) -> None:
    models = trained_dir / "models"
    manifest = load_manifest(models)
    manifest = replace(
        manifest, neutralization_proportion=0.5, neutralizer_features=manifest.features[:10]
    )
    payload = manifest.payload(load_model_strings(models, manifest))
    model = pickle.loads(pickle_model(payload))
    validation = trained_dir / "data" / "demo" / "validation.parquet"
    frame = pd.read_parquet(validation)
    got = model(frame)["prediction"]
    bundle = Bundle(manifest, payload, build_models(payload))
    result = predict_file(bundle, validation)
    ref = pd.Series(result.final, index=result.data.ids).loc[got.index]
    assert frame["era"].nunique() > 1
    np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=0, atol=1e-9)


def test_linear_member_with_feature_products_matches_without_numerpilot(
    trained_dir: Path, live_file: Path, tmp_path: Path
) -> None:
    models = trained_dir / "models"
    manifest = load_manifest(models)
    texts = load_model_strings(models, manifest)
    linear = next(name for name, kind in manifest.kinds.items() if kind == "linear")
    spec = json.loads(texts[linear])
    spec.update(format="numerpilot-linear-2", pairs=[[0, 1], [2, 2]],
                center=[[2.0, 1.9], [2.1, 2.1]], pair_coef=[0.03, -0.02])  # fmt: skip
    payload = manifest.payload({**texts, linear: json.dumps(spec)})
    path, out = tmp_path / "model.pkl", tmp_path / "out.parquet"
    path.write_bytes(pickle_model(payload))
    proc = subprocess.run(
        [sys.executable, "-I", "-c", _BARE, str(path), str(live_file), str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    got = pd.read_parquet(out)["prediction"]
    result = predict_file(Bundle(manifest, payload, build_models(payload)), live_file)
    ref = pd.Series(result.final, index=result.data.ids).loc[got.index]
    np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=0, atol=1e-9)
    plain = _reference(models, live_file).loc[got.index]
    assert not np.allclose(ref.to_numpy(), plain.to_numpy())  # the products took part


def _plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return type(value) in (str, float, int, bool)


def test_payload_is_plain_data(trained_dir: Path) -> None:
    manifest = load_manifest(trained_dir / "models")
    payload = manifest.payload(load_model_strings(trained_dir / "models", manifest))
    assert _plain(payload)
    assert set(payload["models"]) == set(manifest.targets)
    # The default ensemble holds linear members too: the pickle tests above cover them.
    assert payload["kinds"] and set(payload["kinds"].values()) == {"linear"}
    assert set(payload["kinds"]) < set(payload["members"])


def test_sidecar_names_image_and_pins(built: BuiltUpload) -> None:
    info = json.loads(built.sidecar.read_text())
    image = IMAGES[f"{sys.version_info.major}.{sys.version_info.minor}"]
    assert info["image"] == image.key
    assert info["docker_image"] == image.api_name
    assert info["pins"]["lightgbm"] == image.pin("lightgbm")
    assert info["arguments"] == 1
    assert info["n_trees"] > 0
    assert len(info["targets"]) == 16  # four targets: three seeds' trees and a linear model each


def test_two_argument_form(trained_dir: Path, tmp_path: Path) -> None:
    built = build_upload(trained_dir / "models", tmp_path / "m.pkl", benchmarks=True)
    model = pd.read_pickle(built.path)
    assert len(inspect.signature(model).parameters) == 2
    assert built.info["arguments"] == 2


def test_a_pickle_and_a_sidecar_of_two_builds_are_refused(
    trained_dir: Path, tmp_path: Path
) -> None:
    """The pickle and its sidecar appear together; one killed between the two renames (or
    an older sidecar copied beside) is not taken for the pickle's: its arguments, image
    and data version would be another build's."""
    from numerpilot.errors import DataError
    from numerpilot.model_upload.build import read_sidecar

    one = build_upload(trained_dir / "models", tmp_path / "m.pkl", benchmarks=True)
    two = build_upload(trained_dir / "models", tmp_path / "n.pkl")
    assert read_sidecar(one.path) == one.info and not list(tmp_path.glob("*.tmp*"))
    two.sidecar.replace(one.sidecar)
    with pytest.raises(DataError, match="m.pkl.json describes another pickle than m.pkl"):
        read_sidecar(one.path)


def test_the_pickle_says_so_of_a_live_frame_without_rows(
    built: BuiltUpload, live_file: Path
) -> None:
    """It raised numpy's "cannot reshape array of size 0 into shape (0,newaxis)"."""
    model = pd.read_pickle(built.path)
    with pytest.raises(ValueError, match="the live frame has no rows"):
        model(pd.read_parquet(live_file).iloc[:0])


def test_a_build_removes_the_temporary_files_a_killed_build_left(
    trained_dir: Path, tmp_path: Path
) -> None:
    """A build killed (SIGKILL) while it wrote left ``.m.pkl.<random>.tmp`` (the size of the
    pickle) and its sidecar's twin, and no later build removed them."""
    import tempfile

    left = [Path(tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=tmp_path)[1])
            for name in ("m.pkl", "m.pkl.json")]  # fmt: skip
    for path in left:
        path.write_bytes(b"\x80" * 1000)
    others = [tmp_path / ".n.pkl.abcd1234.tmp", tmp_path / "m.pkl.tmp", tmp_path / ".m.pkl.x.tmp"]
    for path in others:
        path.write_text("not the build's")
    build_upload(trained_dir / "models", tmp_path / "m.pkl")
    assert not any(path.exists() for path in left)
    assert all(path.exists() for path in others)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["m.pkl", "m.pkl.json", *(p.name for p in others)]
    )


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"python": "3.10"}, "no runtime image"),
        ({"cloudpickle": "2.2.1"}, "cloudpickle 2.2.1 here"),
        ({"lightgbm": "3.3.5"}, "lightgbm 3.3.5 here"),
    ],
)
def test_refuses_what_breaks_in_the_runtime(change: dict[str, str], needle: str) -> None:
    with pytest.raises(NumerpilotError, match=needle):
        target_image({**local_versions(), "python": "3.11", **change})


def test_newer_pandas_numpy_lightgbm_minor_are_fine() -> None:
    versions = {
        "python": "3.12",
        "lightgbm": "4.7.0",
        "pandas": "3.1.1",
        "numpy": "2.4.6",
        "scipy": "1.17.1",
        "cloudpickle": "3.1.2",
    }
    assert target_image(versions).key == "py3.12"


def test_missing_models_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="numerpilot train"):
        build_upload(tmp_path / "models", tmp_path / "model.pkl")


def test_cli_build_upload_packs_the_run(trained_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli.pkl"
    result = CliRunner().invoke(app, ["build-upload", "-C", str(trained_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Python 3." in result.output
    assert out.exists()
    assert (
        json.loads((tmp_path / "cli.pkl.json").read_text())["targets"]
        == load_manifest(trained_dir / "models").targets
    )


def test_cli_build_upload_compares_demo_models_with_the_demo_config(
    trained_dir: Path, tmp_path: Path, numerpilot: Numerpilot, caplog: pytest.LogCaptureFixture
) -> None:
    """Demo models against the config's [demo] data: with neutralization asked for, the
    warning said 'no dataset in data/, only the demo dataset' instead of what changed."""
    root = Path(shutil.copytree(trained_dir, tmp_path / "wd"))
    toml = root / "numerpilot.toml"
    toml.write_text(toml.read_text() + "\n[ensemble]\nneutralization_proportion = 0.3\n")
    with caplog.at_level("WARNING"):
        outcome = numerpilot("build-upload", "-C", str(root), "--out", str(tmp_path / "m.pkl"))
    assert outcome.code == 0, outcome.err
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "no dataset in" not in warning
    assert "asks for neutralization 0.3" in warning and "'numerpilot train --demo'" in warning


def test_a_build_waits_for_another_writing_into_the_same_folder(tmp_path: Path) -> None:
    """Held by another process (here: a Python holding the folder's lock), a build waits,
    then says which process is busy where, rather than removing that one's files."""
    from numerpilot.errors import LocalError
    from numerpilot.lock import folder_held

    with (
        folder_held_elsewhere(tmp_path),
        pytest.raises(LocalError, match=f"process is writing a pickle in {tmp_path}"),
        folder_held(tmp_path, wait=0.2, busy="writing a pickle"),
    ):
        pass
    with folder_held(tmp_path, wait=0.2, busy="writing a pickle") as held:  # its holder died
        assert held


def test_a_pickle_of_another_numerpilot_is_warned_about(
    built: BuiltUpload, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A pickle an older numerpilot built passed on 0..1 features, which this version's
    pickles refuse, and was checked and uploaded without a word: its sidecar now names the
    version (and the payload format) that built it."""
    from numerpilot import __version__
    from numerpilot.model_upload.guards import warn_older_build

    assert built.info["numerpilot"] == __version__ and built.info["payload_format"] >= 2
    pkl = tmp_path / "old.pkl"
    shutil.copy(built.path, pkl)
    sidecar = json.loads(built.sidecar.read_text())
    for version, said in ((None, "an earlier numerpilot"), ("0.0.1", "numerpilot 0.0.1")):
        if version is None:
            sidecar.pop("numerpilot")
        else:
            sidecar["numerpilot"] = version
        (tmp_path / "old.pkl.json").write_text(json.dumps(sidecar))
        caplog.clear()
        warn_older_build(pkl)
        (line,) = [r.getMessage() for r in caplog.records]
        assert line.startswith(f"old.pkl was built by {said} (this is {__version__})")
    caplog.clear()
    warn_older_build(built.path)
    assert not caplog.records
