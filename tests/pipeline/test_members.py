"""Members (target x seed) on a Dask LocalCluster, XGBoost, and the GPU refusal."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.conftest import Numerpilot
from tests.pipeline.conftest import FAST_CONFIG, TWO_WORKERS, CliRunner, make_workdir
from tests.support.catalogue import Refused
from tests.support.s3 import SECRET, local_s3

from numerpilot.modeling.manifest import Manifest, load_manifest
from numerpilot.modeling.store import load_bundle
from numerpilot.workdir import Workdir


def _predict(cli: CliRunner, wd: Path, *train_args: str) -> bytes:
    code, out = cli("train", "-C", str(wd), *train_args)
    assert code == 0, out
    code, out = cli("predict", "-C", str(wd))
    assert code == 0, out
    return (wd / "predictions" / "live_predictions.csv").read_bytes()


def test_cluster_training_writes_the_same_predictions(
    cli: CliRunner, tmp_path: Path, synthetic_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """num_threads = 0 is resolved here and sent: the workers build the very same trees.

    The machine is held idle, so the two runs resolve the same count (the models' texts
    name it); each worker resolving its own would differ from this process's."""
    monkeypatch.setattr("numerpilot.threads.busy_elsewhere", lambda logical_cpus: 0.0)
    config = FAST_CONFIG.replace("num_threads = 1", "num_threads = 0")
    wd = make_workdir(tmp_path / "wd", synthetic_dir, config + TWO_WORKERS)
    local = _predict(cli, wd)
    local_models = load_bundle(Workdir(wd).models).payload["models"]
    clustered = _predict(cli, wd, "--cluster", "local")
    assert clustered == local
    assert load_bundle(Workdir(wd).models).payload["models"] == local_models


def test_seeds_and_era_samples_make_members_on_the_cluster_as_here(
    cli: CliRunner, tmp_path: Path, synthetic_dir: Path
) -> None:
    """Each seed fits on its own half of the eras (model.era_sample), on a worker as here."""
    config = FAST_CONFIG.replace('"target", "target_teager2b_20"', '"target"')
    config += TWO_WORKERS + "\n[model]\nseeds = [1, 2]\nera_sample = 0.5\nlinear = false\n"
    wd = make_workdir(tmp_path / "wd", synthetic_dir, config)
    here = _predict(cli, wd)
    manifest = load_manifest(Workdir(wd).models)
    assert manifest.targets == ["target.seed1", "target.seed2"]
    assert manifest.weights == [0.5, 0.5]
    payload = load_bundle(Workdir(wd).models).payload
    assert payload["models"]["target.seed1"] != payload["models"]["target.seed2"]
    assert _predict(cli, wd, "--cluster", "local") == here


def test_workers_read_the_dataset_from_an_object_store(
    cli: CliRunner, tmp_path: Path, synthetic_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cluster.data_url = s3://...: the LocalCluster's workers read their rows from a local
    S3 server (moto on 127.0.0.1) and build the very models plain train builds."""
    wd = make_workdir(tmp_path / "wd", synthetic_dir)
    here = _predict(cli, wd)
    with local_s3(monkeypatch) as s3:
        s3.upload(wd / "data", "bucket/numerai")
        config = FAST_CONFIG + TWO_WORKERS + 'data_url = "s3://bucket/numerai"\n'
        (wd / "numerpilot.toml").write_text(config)
        code, out = cli("train", "-C", str(wd), "--cluster", "local")
        assert code == 0, out
    assert SECRET not in out
    code, out = cli("predict", "-C", str(wd))
    assert code == 0, out
    assert (wd / "predictions" / "live_predictions.csv").read_bytes() == here


@pytest.mark.bad_input("train", "cluster.data_url has no copy of the dataset")
def test_missing_worker_copy_is_refused_before_fitting(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, synthetic_dir: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    config = FAST_CONFIG + f'\n[cluster]\ndata_url = "{empty.as_uri()}"\n'
    wd = make_workdir(tmp_path / "wd", synthetic_dir, config)
    outcome = numerpilot("train", "-C", str(wd), "--cluster", "local")
    url = (empty / "v5.2" / "train.parquet").as_uri()
    refused(outcome, 1, f"{url} is missing", "cluster.data_url")
    assert not (wd / "models" / "manifest.json").exists()


@pytest.mark.bad_input("train", "the workers' copy under cluster.data_url holds other rows")
def test_stale_worker_copy_is_refused(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, synthetic_dir: Path
) -> None:
    import pyarrow.parquet as pq

    stale = tmp_path / "stale" / "v5.2"
    stale.mkdir(parents=True)
    table = pq.read_table(synthetic_dir / "train.parquet")
    pq.write_table(table.slice(0, table.num_rows - 10), stale / "train.parquet")
    config = FAST_CONFIG + f'\n[cluster]\ndata_url = "{stale.parent.as_uri()}"\n'
    wd = make_workdir(tmp_path / "wd", synthetic_dir, config)
    outcome = numerpilot("train", "-C", str(wd), "--cluster", "local")
    refused(outcome, 1, f"{(stale / 'train.parquet').as_uri()} has", "copy the current dataset")


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
        return "XGBoost is not installed (pip install -e '.[xgboost]')"
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
    """Without a refit, every seed is a stage-one model early-stopped on the holdout; with
    one, the first seed's stage-one count, scaled for every era, is every seed's; the
    fitted weight of a target is shared equally by its seeds."""
    if backend == "xgboost":
        pytest.importorskip("xgboost", reason="XGBoost is an optional extra")
    from numerpilot.data.load import load_era_data
    from numerpilot.modeling.cv import holdout_split
    from numerpilot.modeling.tree_count import refit_trees

    staged = _recipe_bundle(tmp_path / "staged", synthetic_dir, backend=backend, refit=False)
    final = _recipe_bundle(tmp_path / "final", synthetic_dir, backend=backend, refit=True)
    assert final.backend == backend and sum(final.weights) == pytest.approx(1.0)
    assert "target.seed1" in final.targets and "target.seed2" in final.targets
    targets = {name.rsplit(".seed", 1)[0] for name in final.targets}
    data = load_era_data(synthetic_dir / "train.parquet", [], sorted(targets))
    split = holdout_split(data.eras, holdout=8, embargo=2)
    for target in targets:
        seeds = [f"{target}.seed1", f"{target}.seed2"]
        assert seeds[0] in final.targets and seeds[1] in final.targets  # kept together
        w = [final.weights[final.targets.index(s)] for s in seeds]
        assert w[0] == w[1] > 0
        chosen = staged.best_iterations[seeds[0]]  # seed 1's early stopping, as in staged
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


def test_local_cluster_size_from_cores_and_memory() -> None:
    from numerpilot.errors import DataError
    from numerpilot.modeling.distributed import local_workers

    gib = 1024**3
    # as many as the cores hold at the thread count, unless memory holds fewer
    assert local_workers(0, per_worker=gib, free=64 * gib, cores=16, threads=4) == 4
    assert local_workers(0, per_worker=gib, free=3 * gib, cores=16, threads=1) == 3
    assert local_workers(0, per_worker=gib, free=64 * gib, cores=2, threads=8) == 1
    assert local_workers(5, per_worker=gib, free=5 * gib, cores=2, threads=8) == 5  # as asked
    with pytest.raises(DataError, match=r"6 workers would need about 6.00 GiB \(1.00 GiB each"):
        local_workers(6, per_worker=gib, free=5 * gib, cores=16, threads=1)
    with pytest.raises(DataError, match="1 worker would need about 2.00 GiB") as error:
        local_workers(0, per_worker=2 * gib, free=gib, cores=16, threads=1)
    assert "cluster.workers" not in str(error.value)  # not even one fits: no count to offer


def test_local_cluster_starts_the_workers_asked_for() -> None:
    from numerpilot.modeling.distributed import connect

    with connect("local", n_workers=1) as client:
        assert len(client.scheduler_info()["workers"]) == 1


@pytest.mark.bad_input("train", "cluster.workers do not fit in the memory left for them")
def test_too_many_local_workers_are_refused_with_the_estimate_before_the_features_are_read(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, synthetic_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import numerpilot.pipeline.train as train

    real = train.load_era_data

    def eras_only(path: Path, features: list[str], *args: Any, **kwargs: Any) -> Any:
        assert not features, "features were read before the cluster was sized"
        return real(path, features, *args, **kwargs)

    monkeypatch.setattr(train, "load_era_data", eras_only)
    config = FAST_CONFIG.replace("[train]\n", "[train]\nmemory_gb = 1\n")
    wd = make_workdir(tmp_path / "wd", synthetic_dir, config + "\n[cluster]\nworkers = 64\n")
    outcome = numerpilot("train", "-C", str(wd), "--cluster", "local")
    refused(outcome, 1, "--cluster local: 64 workers would need about", "set cluster.workers = ")
    assert not (wd / "models" / "manifest.json").exists()


def test_an_automatic_era_step_is_said_and_recorded(
    numerpilot: Numerpilot, synthetic_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A budget that every era does not fit: "auto" trains on every 2nd era, and says so
    (it was said only with -v, and recorded nowhere)."""
    from numerpilot.data.catalog import feature_set
    from numerpilot.modeling.memory import GIB
    from numerpilot.pipeline.context import Context
    from numerpilot.pipeline.plan import memory_plan

    wd = make_workdir(tmp_path / "wd", synthetic_dir)
    ctx = Context.load(Workdir(wd))
    n_features = len(feature_set(ctx.data_dir, ctx.config.data.feature_set))
    every = memory_plan(ctx, n_features, len(ctx.config.train.targets) + 1).estimate
    config = FAST_CONFIG.replace("era_step = 1", 'era_step = "auto"').replace(
        "[train]\n", f"[train]\nmemory_gb = {every * 0.999 / GIB}\n"
    )
    (wd / "numerpilot.toml").write_text(config)
    outcome = numerpilot("train", "-C", str(wd))
    assert outcome.code == 0, outcome.err
    assert " features of every 2nd era" in outcome.out
    assert 'data.era_step "auto": every 2nd era (' in caplog.text
    assert load_manifest(wd / "models").era_step == 2


def test_era_sample_takes_whole_eras_by_seed_reproducibly() -> None:
    from numerpilot.modeling.backends import era_sample

    eras = np.repeat([f"{i:04d}" for i in range(1, 201)], 3)  # rows: 3 per era
    half = era_sample(eras, 0, 0.5)
    assert len(half) == 100 and set(half) <= set(eras) and list(half) == sorted(half)
    np.testing.assert_array_equal(half, era_sample(eras[::-1], 0, 0.5))  # order-free
    other = era_sample(eras, 1, 0.5)
    assert 25 < len(set(half) & set(other)) < 75  # another seed, other eras
    np.testing.assert_array_equal(era_sample(eras, 0, 1.0), np.unique(eras))
    assert len(era_sample(eras, 0, 0.001)) == 1  # never no era at all
    assert len(era_sample(eras, 0, 0.333)) == 67  # ceil(0.333 * 200)


def test_a_sampled_member_fits_exactly_its_seeds_eras(synthetic_dir: Path) -> None:
    """era_sample = 0.5 fits the very model fitted on the sampled eras' rows (whole eras),
    here from all of train and on a worker from only the eras it reads."""
    from numerpilot.config import Config
    from numerpilot.data.load import load_era_data
    from numerpilot.modeling.backends import fit_member, member_split
    from numerpilot.modeling.cv import EraSplit, holdout_split
    from numerpilot.modeling.distributed import MemberTask, fit_task
    from numerpilot.modeling.members import Member

    features = json.loads((synthetic_dir / "features.json").read_text())["feature_sets"]["small"]
    data = load_era_data(synthetic_dir / "train.parquet", features, ["target"])
    settings = {"lightgbm": {"n_estimators": 15, "num_threads": 1, "learning_rate": 0.2}}
    every = Config.model_validate(settings)
    sampled = Config.model_validate({**settings, "model": {"era_sample": 0.5}})
    split = holdout_split(data.eras, holdout=8, embargo=2)
    member = Member("target", "target", 7, 1.0)

    def fit(cfg: Config, split_: EraSplit) -> str:
        return fit_member(
            data.features, data.target("target"), data.eras, member=member,
            feature_names=features, cfg=cfg, split=split_, early_stopping_rounds=0,
        ).model_text  # fmt: skip

    text = fit(sampled, split)
    half = member_split(split, 7, 0.5)
    assert len(half.fit) == -(-len(split.fit) // 2)
    np.testing.assert_array_equal(half.holdout, split.holdout)
    assert text == fit(every, half)
    assert text != fit(every, split)
    task = MemberTask([str(synthetic_dir / "train.parquet")], features, member, split, sampled, 0)
    assert set(task.eras()) == set(half.fit) | set(half.holdout)  # the worker reads no more
    assert fit_task(task).model_text == text


def test_workers_find_the_files_under_data_url(tmp_path: Path, synthetic_dir: Path) -> None:
    """cluster.data_url mirrors the data folder: the version folder (or, for --demo, the
    demo folder's files) under the URL or shared folder."""
    from numerpilot.data import layout
    from numerpilot.pipeline.context import Context
    from numerpilot.pipeline.members import worker_files

    def files(data_url: str | None, demo: bool = False) -> list[str]:
        extra = "" if data_url is None else f'\n[cluster]\ndata_url = "{data_url}"\n'
        wd = make_workdir(tmp_path / f"wd{len(list(tmp_path.iterdir()))}", synthetic_dir,
                          FAST_CONFIG + extra)  # fmt: skip
        ctx = Context.load(Workdir(wd), demo=demo)
        return worker_files(ctx, [ctx.data_dir / layout.TRAIN])

    assert files(None)[0].endswith("/data/v5.2/train.parquet")
    assert files("s3://b/numerai") == ["s3://b/numerai/v5.2/train.parquet"]
    assert files("gs://b/numerai/") == ["gs://b/numerai/v5.2/train.parquet"]
    assert files("/mnt/shared/numerai") == ["/mnt/shared/numerai/v5.2/train.parquet"]
    assert files("s3://b/demo", demo=True) == ["s3://b/demo/train.parquet"]


def test_three_seeds_per_target_by_default_and_one_when_asked() -> None:
    """Default: three members per target, seeded lightgbm.seed, +1, +2, sharing the
    target's weight; ``model.seeds = [s]`` gives the plain single member."""
    from numerpilot.config_file import parse_config
    from numerpilot.modeling.members import ensemble_members

    raw = {"train": {"targets": ["target", "target_b"]}, "lightgbm": {"seed": 7}}
    members = ensemble_members(parse_config(raw, Path("t")), [0.6, 0.4])
    assert [(m.name, m.seed) for m in members] == [
        (f"{t}.seed{s}", s) for t in ("target", "target_b") for s in (7, 8, 9)
    ]
    assert [m.weight for m in members] == pytest.approx([0.2] * 3 + [0.4 / 3] * 3)
    one = ensemble_members(parse_config({**raw, "model": {"seeds": [3]}}, Path("t")))
    assert [(m.name, m.seed, m.weight) for m in one] == [("target", 3, 1.0), ("target_b", 3, 1.0)]


def test_seed_groups_join_a_targets_seeds_and_leave_other_members_alone() -> None:
    from numerpilot.modeling.members import seed_groups

    names = ["target.seed0", "target.seed1", "aux_20.seed0", "aux_20.seed1", "target.linear",
             "target_seedling", "x.seedy"]  # fmt: skip
    assert seed_groups(names) == [("target", [0, 1]), ("aux_20", [2, 3]),
                                  ("target.linear", [4]), ("target_seedling", [5]),
                                  ("x.seedy", [6])]  # fmt: skip
