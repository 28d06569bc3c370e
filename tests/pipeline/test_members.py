"""Members (target x seed) on a Dask LocalCluster, XGBoost, and the GPU refusal."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import Numerpilot
from tests.pipeline.conftest import FAST_CONFIG, CliRunner, make_workdir
from tests.support.catalogue import Refused

from numerpilot.modeling.store import Manifest, load_bundle, load_manifest
from numerpilot.workdir import Workdir


def _predict(cli: CliRunner, wd: Path, *train_args: str) -> bytes:
    code, out = cli("train", "-C", str(wd), *train_args)
    assert code == 0, out
    code, out = cli("predict", "-C", str(wd))
    assert code == 0, out
    return (wd / "predictions" / "live_predictions.csv").read_bytes()


def test_cluster_training_writes_the_same_predictions(
    cli: CliRunner, tmp_path: Path, synthetic_dir: Path
) -> None:
    config = FAST_CONFIG.replace("num_threads = 1", "num_threads = 0")  # resolved once, sent
    wd = make_workdir(tmp_path / "wd", synthetic_dir, config)
    local = _predict(cli, wd)
    local_models = load_bundle(Workdir(wd).models).payload["models"]
    clustered = _predict(cli, wd, "--cluster", "local")
    assert clustered == local
    assert load_bundle(Workdir(wd).models).payload["models"] == local_models


def test_seeds_make_members_on_the_cluster_as_here(
    cli: CliRunner, tmp_path: Path, synthetic_dir: Path
) -> None:
    config = FAST_CONFIG.replace('"target", "target_teager2b_20"', '"target"')
    wd = make_workdir(
        tmp_path / "wd", synthetic_dir, config + "\n[model]\nseeds = [1, 2]\nlinear = false\n"
    )
    here = _predict(cli, wd)
    manifest = load_manifest(Workdir(wd).models)
    assert manifest.targets == ["target.seed1", "target.seed2"]
    assert manifest.weights == [0.5, 0.5]
    payload = load_bundle(Workdir(wd).models).payload
    assert payload["models"]["target.seed1"] != payload["models"]["target.seed2"]
    assert _predict(cli, wd, "--cluster", "local") == here


@pytest.mark.bad_input("train", "the --cluster address has no Dask scheduler")
def test_unreachable_cluster_fails_fast(
    numerpilot: Numerpilot, refused: Refused, workdir: Path
) -> None:
    started = time.monotonic()
    outcome = numerpilot("train", "-C", str(workdir), "--cluster", "tcp://127.0.0.1:9")
    refused(outcome, 1, "cannot reach the Dask scheduler at tcp://127.0.0.1:9", "--cluster local")
    assert time.monotonic() - started < 30
    assert not (workdir / "models" / "manifest.json").exists()


@pytest.mark.bad_input("train", "--cluster is neither 'local' nor a scheduler address")
def test_cluster_address_form(numerpilot: Numerpilot, refused: Refused, workdir: Path) -> None:
    refused(numerpilot("train", "-C", str(workdir), "--cluster", "myhost"), 2, "tcp://host:8786")


def test_xgboost_members_train_validate_and_predict(
    cli: CliRunner, tmp_path: Path, synthetic_dir: Path
) -> None:
    pytest.importorskip("xgboost", reason="XGBoost is an optional extra")
    wd = make_workdir(
        tmp_path / "wd", synthetic_dir, FAST_CONFIG + '\n[model]\nbackend = "xgboost"\n'
    )
    first = _predict(cli, wd)
    manifest = load_manifest(Workdir(wd).models)
    assert manifest.backend == "xgboost"
    trees = [t for t in manifest.targets if t not in manifest.kinds]
    assert trees and all(1 <= manifest.best_iterations[t] <= 40 for t in trees)
    assert _predict(cli, wd) == first  # same seeds, same models
    code, out = cli("validate", "-C", str(wd))
    assert code == 0, out
    corr = json.loads((wd / "reports" / "validation.json").read_text())["ensemble"]["summary"]
    assert np.isfinite(corr["corr_mean"])


def test_xgboost_trees_cut_at_the_best_iteration_predict_as_the_booster(
    tmp_path: Path, synthetic_dir: Path
) -> None:
    xgboost = pytest.importorskip("xgboost", reason="XGBoost is an optional extra")
    from numerpilot.config import Config
    from numerpilot.data.load import load_era_data
    from numerpilot.kernel.ensemble import build_models, predict_members
    from numerpilot.modeling.backends import fit_member
    from numerpilot.modeling.cv import holdout_split
    from numerpilot.modeling.members import Member

    names = [f"feature_{i}" for i in range(0)]
    data_path = synthetic_dir / "train.parquet"
    features = json.loads((synthetic_dir / "features.json").read_text())["feature_sets"]["small"]
    data = load_era_data(data_path, features + names, ["target"])
    cfg = Config.model_validate(
        {"model": {"backend": "xgboost"}, "lightgbm": {"n_estimators": 60, "learning_rate": 0.2}}
    )
    split = holdout_split(data.eras, holdout=8, embargo=2)
    fitted = fit_member(
        data.features, data.target("target"), data.eras, member=Member("target", "target", 0, 1.0),
        feature_names=features, cfg=cfg, split=split, early_stopping_rounds=5,
    )  # fmt: skip
    assert fitted.best_iteration < 60  # stopped early, cut there
    payload = {"backend": "xgboost", "features": features, "members": ["target"],
               "models": {"target": fitted.model_text}}  # fmt: skip
    model = build_models(payload)["target"]
    assert model.num_boosted_rounds() == fitted.best_iteration
    x = data.features[:300]
    direct = model.predict(xgboost.DMatrix(x.astype(np.float32)))
    np.testing.assert_allclose(predict_members(payload, x, {"target": model})[:, 0], direct)


@pytest.mark.bad_input("train", 'device = "gpu" with a LightGBM that has no GPU build')
def test_gpu_without_a_gpu_build_says_how_to_get_one(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, synthetic_dir: Path
) -> None:
    from numerpilot.modeling.devices import lightgbm_gpu_params

    try:
        lightgbm_gpu_params()
    except Exception:  # the expected case here: a CPU-only LightGBM
        pass
    else:
        pytest.skip("this LightGBM has a GPU build and a GPU: nothing to refuse")
    wd = make_workdir(tmp_path / "wd", synthetic_dir, FAST_CONFIG + '\n[model]\ndevice = "gpu"\n')
    refused(
        numerpilot("train", "-C", str(wd)), 1, "no GPU support", "USE_CUDA=ON", 'device = "cpu"'
    )
    assert not (wd / "models").exists() or not any((wd / "models").iterdir())


def _cuda() -> str | None:
    """Why the GPU path cannot run here, or None when XGBoost sees a CUDA device."""
    try:
        import xgboost
    except ImportError:
        return "XGBoost is not installed (pip install 'numerpilot[xgboost]')"
    if not xgboost.build_info().get("USE_CUDA"):
        return "this XGBoost is a CPU-only build (xgboost-cpu); the GPU path needs the full wheel"
    try:
        xgboost.train({"device": "cuda"}, xgboost.DMatrix(np.zeros((4, 1)), label=np.zeros(4)), 1)
    except xgboost.core.XGBoostError as error:
        return f"no CUDA device is visible ({str(error).splitlines()[0]})"
    return None


def test_gpu_training_matches_the_cpu_closely(
    cli: CliRunner, tmp_path: Path, synthetic_dir: Path
) -> None:
    reason = _cuda()
    if reason:
        pytest.skip(f"GPU path not checked: {reason}")
    cpu_dir = make_workdir(
        tmp_path / "cpu", synthetic_dir, FAST_CONFIG + '\n[model]\nbackend = "xgboost"\n'
    )
    gpu_dir = make_workdir(
        tmp_path / "gpu", synthetic_dir,
        FAST_CONFIG + '\n[model]\nbackend = "xgboost"\ndevice = "gpu"\n',
    )  # fmt: skip
    for wd in (cpu_dir, gpu_dir):
        _predict(cli, wd)
    import pandas as pd

    cpu = pd.read_csv(cpu_dir / "predictions" / "live_predictions.csv", index_col=0)
    gpu = pd.read_csv(gpu_dir / "predictions" / "live_predictions.csv", index_col=0)
    assert cpu.index.equals(gpu.index)
    assert np.corrcoef(cpu.iloc[:, 0], gpu.iloc[:, 0])[0, 1] > 0.95


@pytest.mark.bad_input("train", 'device = "gpu" with a CPU-only XGBoost')
def test_xgboost_gpu_on_a_cpu_build_says_how_to_get_one(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, synthetic_dir: Path
) -> None:
    xgboost = pytest.importorskip("xgboost", reason="XGBoost is an optional extra")
    if xgboost.build_info().get("USE_CUDA"):
        pytest.skip("this XGBoost has CUDA: nothing to refuse")
    config = FAST_CONFIG + '\n[model]\nbackend = "xgboost"\ndevice = "gpu"\n'
    wd = make_workdir(tmp_path / "wd", synthetic_dir, config)
    refused(numerpilot("train", "-C", str(wd)), 1, "CPU-only build", "pip install xgboost")


def test_a_worker_needs_only_its_columns_and_eras(tmp_path: Path, synthetic_dir: Path) -> None:
    """fit_task on a file holding only the member's columns and eras fits the very model
    fitted here from all of train (so a worker never needs more than those)."""
    import pandas as pd

    from numerpilot.config import Config
    from numerpilot.data.load import load_era_data
    from numerpilot.modeling.backends import fit_member, resolved
    from numerpilot.modeling.distributed import MemberTask, fit_task
    from numerpilot.modeling.members import Member
    from numerpilot.pipeline.members import train_split

    features = json.loads((synthetic_dir / "features.json").read_text())["feature_sets"]["medium"]
    cfg = resolved(
        Config.model_validate(
            {
                "data": {"era_step": 1},
                "train": {"holdout_eras": 8, "embargo_eras": 2},
                "lightgbm": {"n_estimators": 20},
            }
        )
    )
    full = load_era_data(synthetic_dir / "train.parquet", features, ["target", "target_ender_20"])
    split = train_split(cfg, full.eras)
    member = Member("target_ender_20", "target_ender_20", 0, 1.0)
    here = fit_member(
        full.features, full.target(member.target), full.eras, member=member,
        feature_names=features, cfg=cfg, split=split, early_stopping_rounds=5,
    )  # fmt: skip
    frame = pd.read_parquet(
        synthetic_dir / "train.parquet", columns=["era", *features, member.target]
    )
    keep = frame["era"].isin(set(split.fit) | set(split.holdout))
    only = tmp_path / "only.parquet"
    frame[keep].to_parquet(only)
    there = fit_task(MemberTask([str(only)], features, member, split, cfg, 5))
    assert there == here


RECIPE = """\
[data]
feature_set = "medium"
era_step = 1

[train]
targets = ["target", "target_teager2b_20", "target_ender_20"]
holdout_eras = 8
embargo_eras = 2
cv_folds = {folds}
early_stopping_rounds = 10
refit = {refit}

[lightgbm]
n_estimators = 40
learning_rate = 0.1
colsample_bytree = 0.5
num_threads = 1

[model]
backend = "{backend}"
seeds = [1, 2]
linear = false
"""


def _recipe_bundle(
    root: Path, synthetic_dir: Path, *, backend: str, refit: bool, folds: int = 0,
    cluster: str | None = None,
) -> Manifest:  # fmt: skip
    from numerpilot.pipeline.context import Context
    from numerpilot.pipeline.train import train_ensemble

    config = RECIPE.format(backend=backend, refit=str(refit).lower(), folds=folds)
    make_workdir(root, synthetic_dir, config)
    return train_ensemble(Context.load(Workdir(root)), cluster=cluster)


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_seeded_members_follow_the_recipe(
    tmp_path: Path, synthetic_dir: Path, backend: str
) -> None:
    """Per target, the seeds' mean stage-one tree count is scaled for the refit on every
    era; the fitted weight of a target is shared equally by its seeds."""
    if backend == "xgboost":
        pytest.importorskip("xgboost", reason="XGBoost is an optional extra")
    from numerpilot.data.load import load_era_data
    from numerpilot.modeling.cv import holdout_split
    from numerpilot.pipeline.train import refit_trees

    staged = _recipe_bundle(tmp_path / "staged", synthetic_dir, backend=backend, refit=False)
    final = _recipe_bundle(tmp_path / "final", synthetic_dir, backend=backend, refit=True)
    assert final.backend == backend and final.targets == staged.targets
    assert final.weights == staged.weights and sum(final.weights) == pytest.approx(1.0)
    assert "target.seed1" in final.targets and "target.seed2" in final.targets
    targets = {name.rsplit(".seed", 1)[0] for name in final.targets}
    data = load_era_data(synthetic_dir / "train.parquet", [], sorted(targets))
    split = holdout_split(data.eras, holdout=8, embargo=2)
    for target in targets:
        seeds = [f"{target}.seed1", f"{target}.seed2"]
        assert seeds[0] in final.targets and seeds[1] in final.targets  # kept together
        w = [final.weights[final.targets.index(s)] for s in seeds]
        assert w[0] == w[1] > 0
        chosen = round(float(np.mean([staged.best_iterations[s] for s in seeds])))
        known = ~np.isnan(data.target(target))
        fit_rows = int((known & np.isin(data.eras, split.fit)).sum())
        expected = refit_trees(chosen, fit_rows, int(known.sum()))
        assert [final.best_iterations[s] for s in seeds] == [expected, expected]
        assert expected > chosen


def test_era_folds_on_the_cluster_make_the_same_bundle(tmp_path: Path, synthetic_dir: Path) -> None:
    """Fold fits, weights and refits as Dask tasks: the very bundle fitted here."""
    here = _recipe_bundle(tmp_path / "here", synthetic_dir, backend="lightgbm", refit=True,
                          folds=3)  # fmt: skip
    there = _recipe_bundle(tmp_path / "there", synthetic_dir, backend="lightgbm", refit=True,
                           folds=3, cluster="local")  # fmt: skip
    assert there.targets == here.targets and there.weights == here.weights
    assert there.best_iterations == here.best_iterations
    assert there.holdout_scores == here.holdout_scores
    models = [
        load_bundle(tmp_path / name / "models").payload["models"] for name in ("here", "there")
    ]
    assert models[0] == models[1]
