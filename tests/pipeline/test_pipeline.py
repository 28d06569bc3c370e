from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numerai_tools.scoring import correlation_contribution, numerai_corr
from tests.conftest import Numerpilot
from tests.pipeline.conftest import FAST_CONFIG, make_workdir
from tests.support.catalogue import Refused

from numerpilot.config import EnsembleConfig
from numerpilot.data import layout
from numerpilot.modeling.manifest import load_manifest
from numerpilot.modeling.store import load_bundle
from numerpilot.pipeline.context import Context
from numerpilot.pipeline.plan import neutralizer_features
from numerpilot.pipeline.predict import predict_file, predict_live
from numerpilot.pipeline.train import train_ensemble
from numerpilot.pipeline.validate import validate_ensemble
from numerpilot.workdir import Workdir


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, synthetic_dir: Path) -> Context:
    root = make_workdir(tmp_path_factory.mktemp("trained"), synthetic_dir)
    ctx = Context.load(Workdir(root))
    train_ensemble(ctx)
    return ctx


def test_train_saves_bundle_with_metadata(trained: Context) -> None:
    bundle = load_bundle(trained.workdir.models)
    m = bundle.manifest
    assert m.data_version == "v5.2" and m.feature_set == "medium"
    # The main target always stays; weights are fitted on the holdout and sum to one.
    # Three seeds per target by default, their weight shared, their tree count the same.
    seeds = {f"{t}.seed{s}" for t in ("target", "target_teager2b_20") for s in range(3)}
    assert m.targets[:3] == ["target.seed0", "target.seed1", "target.seed2"]
    assert m.params["seed"] == [0, 1, 2]  # the seeds the members were fitted with
    assert set(m.targets) <= {*seeds, "target.linear", "target_teager2b_20.linear"}
    for target in ("target", "target_teager2b_20"):
        mine = [t for t in m.targets if t.startswith(f"{target}.seed")]
        assert len(mine) in (0, 3)
        assert len({m.weights[m.targets.index(t)] for t in mine}) <= 1
        assert len({m.best_iterations[t] for t in mine}) <= 1
    assert set(m.kinds) == {t for t in m.targets if t.endswith(".linear")}
    assert all(w > 0 for w in m.weights) and sum(m.weights) == pytest.approx(1.0)
    assert set(m.versions) >= {"python", "lightgbm", "numpy", "pandas", "numerpilot"}
    # Chosen on the holdout (at most n_estimators), then scaled for the refit on every era.
    trees = [t for t in m.targets if t not in m.kinds]
    assert all(1 <= m.best_iterations[t] <= 60 for t in trees)
    for target in trees:
        booster = bundle.models[target]
        assert booster.feature_name() == m.features
        assert booster.current_iteration() == m.best_iterations[target]


def test_validate_matches_numerai_tools_per_era(trained: Context) -> None:
    report = validate_ensemble(trained)
    saved = json.loads((trained.workdir.reports / "validation.json").read_text())
    # A target's seeds are one column, named after the target.
    members = load_manifest(trained.workdir.models).targets
    assert set(saved) == {*(t.rsplit(".seed", 1)[0] for t in members), "ensemble", "main_target"}
    # the main target's name beside its trees' scores (the name replaced their scores)
    assert saved["main_target"] == "target" and "summary" in saved["target"]
    ens = saved["ensemble"]
    val = pd.read_parquet(trained.data_dir / layout.VALIDATION)
    first_eras = sorted(val.era.unique())[: trained.config.train.embargo_eras]
    assert not set(first_eras) & set(ens["per_era"]["corr"]), "embargo eras must be skipped"
    assert ens["summary"]["n_eras"] == val.era.nunique() - len(first_eras)
    # Recompute one era with numerai-tools from the ensemble's own predictions.
    result = predict_file(load_bundle(trained.workdir.models), trained.data_dir / layout.VALIDATION)
    era = sorted(ens["per_era"]["corr"])[0]
    rows = result.data.eras == era
    target = val.loc[result.data.ids[rows], "target"]
    ref = numerai_corr(pd.DataFrame({"p": result.final[rows]}, index=target.index), target)
    assert ens["per_era"]["corr"][era] == pytest.approx(ref["p"], abs=1e-9)
    # MMC only on the eras the meta model covers.
    meta = pd.read_parquet(trained.data_dir / layout.META_MODEL)
    assert set(ens["per_era"]["mmc"]) == set(meta.era) & set(ens["per_era"]["corr"])
    mmc_era = sorted(ens["per_era"]["mmc"])[0]
    rows = result.data.eras == mmc_era
    ids = result.data.ids[rows]
    ref_mmc = correlation_contribution(
        pd.DataFrame({"p": result.final[rows]}, index=ids),
        meta.loc[ids, layout.META_MODEL_COLUMN],
        val.loc[ids, "target"],
    )
    assert ens["per_era"]["mmc"][mmc_era] == pytest.approx(ref_mmc["p"], abs=1e-9)
    assert report.metric_eras("mmc") == len(ens["per_era"]["mmc"])
    # FNC and feature exposure against the model's own features.
    assert set(ens["per_era"]["fnc"]) == set(ens["per_era"]["corr"])
    features = load_bundle(trained.workdir.models).manifest.features
    exposure = []
    for era in sorted(ens["per_era"]["corr"]):
        ids = result.data.ids[result.data.eras == era]
        pred = pd.Series(result.final[result.data.eras == era], index=ids)
        exposure.append(val.loc[ids, features].corrwith(pred).abs().max())
    assert ens["summary"]["max_feature_exposure"] == pytest.approx(np.mean(exposure), abs=1e-9)


def test_predict_live_writes_a_valid_submission(trained: Context) -> None:
    path = predict_live(trained)
    sub = pd.read_csv(path)
    live = pd.read_parquet(trained.data_dir / layout.LIVE)
    assert list(sub.columns) == ["id", "prediction"]
    assert sorted(sub.id) == sorted(live.index)
    assert sub.prediction.between(0, 1, inclusive="neither").all()
    assert sub.prediction.nunique() == len(sub)
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["rows"] == len(live) and meta["data_version"] == "v5.2"
    assert len(meta["live_sha256"]) == 64


def test_neutralization_reduces_feature_exposure(
    tmp_path: Path, synthetic_dir: Path, trained: Context
) -> None:
    config = (
        FAST_CONFIG
        + '\n[ensemble]\nneutralization_proportion = 1.0\nneutralize_against = "medium"\n'
    )
    root = make_workdir(tmp_path / "neutral", synthetic_dir, config)
    ctx = Context.load(Workdir(root))
    manifest = train_ensemble(ctx)
    assert manifest.neutralizer_features == manifest.features
    plain = predict_file(load_bundle(trained.workdir.models), trained.data_dir / layout.LIVE)
    neutral = predict_file(load_bundle(ctx.workdir.models), ctx.data_dir / layout.LIVE)
    x = neutral.data.features.astype(float)

    def exposure(p: np.ndarray) -> float:
        return float(np.max(np.abs([np.corrcoef(p, x[:, j])[0, 1] for j in range(x.shape[1])])))

    assert exposure(neutral.final) < 0.5 * exposure(plain.final)


def test_build_upload_names_a_setting_changed_after_train(
    trained: Context, numerpilot: Numerpilot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The pickle runs the models' own neutralization: build-upload says so, as predict."""
    root = Path(shutil.copytree(trained.workdir.root, tmp_path / "wd"))
    (root / "numerpilot.toml").write_text(
        FAST_CONFIG + "\n[ensemble]\nneutralization_proportion = 0.5\n"
    )
    with caplog.at_level("WARNING"):
        out = numerpilot("build-upload", "-C", str(root))
    assert out.code == 0, out.err
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "asks for neutralization 0.5" in warning and "the models in use: none" in warning


def test_a_setting_changed_after_train_is_named_not_silently_ignored(
    trained: Context, caplog: pytest.LogCaptureFixture
) -> None:
    """The feature set and [ensemble] are part of the trained bundle: predict and validate
    keep the bundle's and say that numerpilot.toml now asks for others."""
    plain = predict_file(load_bundle(trained.workdir.models), trained.data_dir / layout.LIVE)
    edited = trained.config.model_copy(
        update={"ensemble": EnsembleConfig(neutralization_proportion=0.5)}
    )
    ctx = Context(trained.workdir, edited)
    with caplog.at_level("WARNING"):
        path = predict_live(ctx)
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warned == [
        f"numerpilot.toml asks for neutralization 0.5 against 'all' "
        f"({len(neutralizer_features(ctx))} features) (the models in use: none); the models "
        "keep what they were trained with until you run 'numerpilot train'."
    ]
    written = pd.read_csv(path)
    np.testing.assert_allclose(written["prediction"].to_numpy(), plain.final, rtol=1e-6)
    caplog.clear()
    with caplog.at_level("WARNING"):
        predict_live(trained)
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    data = trained.config.data.model_copy(update={"feature_set": "small"})
    with caplog.at_level("WARNING"):
        validate_ensemble(
            Context(trained.workdir, edited.model_copy(update={"data": data})), write_report=False
        )
    (asked,) = [r.getMessage() for r in caplog.records if "asks for" in r.getMessage()]
    assert asked.startswith(
        "numerpilot.toml asks for feature set 'small' (the models in use: 'medium') and "
        "neutralization 0.5"
    )
    caplog.clear()
    typo = EnsembleConfig(neutralization_proportion=0.5, neutralize_against="gigantic")
    with caplog.at_level("WARNING"):  # train would refuse the set; predict still runs
        predict_live(Context(trained.workdir, trained.config.model_copy(update={"ensemble": typo})))
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning.startswith("[ensemble] of numerpilot.toml does not apply to the models in use")
    assert "(config key ensemble.neutralize_against)" in warning


def test_data_dir_may_hold_the_dataset_files_themselves(
    numerpilot: Numerpilot, tmp_path: Path, synthetic_dir: Path
) -> None:
    """A dataset of your own, its files straight in data.dir (no version folder)."""
    shutil.copytree(synthetic_dir, tmp_path / "my data")
    (tmp_path / "wd").mkdir()
    config = FAST_CONFIG.replace("[data]", f"[data]\ndir = {str(tmp_path / 'my data')!r}")
    (tmp_path / "wd" / "numerpilot.toml").write_text(config)
    for command in ("train", "validate", "predict"):
        done = numerpilot(command, "-C", str(tmp_path / "wd"))
        assert done.code == 0, done.err
        if command == "train":  # the ensemble's held-out score, not a mean of members'
            assert "features; the ensemble's held-out CORR per era 0." in done.out, done.out
    assert load_manifest(tmp_path / "wd" / "models").data_version == "my data"
    assert (tmp_path / "wd" / "predictions" / "live_predictions.csv").exists()


@pytest.mark.bad_input("train", "a dataset of your own without features.json")
def test_a_dataset_of_your_own_without_features_json_is_told_to_use_all(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, synthetic_dir: Path
) -> None:
    """It led with "Run 'numerpilot download'", which refuses a data.dir holding a dataset
    of your own."""
    mine = Path(shutil.copytree(synthetic_dir, tmp_path / "mine"))
    (mine / "features.json").unlink()
    (tmp_path / "wd").mkdir()
    config = FAST_CONFIG.replace("[data]", f"[data]\ndir = {str(mine)!r}")
    (tmp_path / "wd" / "numerpilot.toml").write_text(config)
    line = refused(numerpilot("train", "-C", str(tmp_path / "wd")), 1,
                   "features.json is missing: for a dataset of your own, set "
                   'data.feature_set = "all"')  # fmt: skip
    assert line.index("data.feature_set") < line.index("numerpilot download")


@pytest.mark.bad_input("run", "data.dir holds a dataset of your own (run, download, daemon)")
def test_numerais_data_is_never_downloaded_over_a_dataset_of_your_own(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, synthetic_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """run (and download, and the daemon) put Numerai's v5.3 into it, which every later
    command then read instead of the user's files, silently."""
    monkeypatch.setenv("NUMERPILOT_API_URL", "http://127.0.0.1:9/")  # never reached
    mine = Path(shutil.copytree(synthetic_dir, tmp_path / "mine"))
    (tmp_path / "wd").mkdir()
    config = FAST_CONFIG.replace("[data]", f"[data]\ndir = {str(mine)!r}")
    (tmp_path / "wd" / "numerpilot.toml").write_text(config + '\n[submission]\nmodels = ["m"]\n')
    for command in ("run", "download", "daemon"):
        refused(numerpilot(command, "-C", str(tmp_path / "wd")), 1,
                f"data.dir ({mine}) holds a dataset of your own (train.parquet)",
                "Point data.dir at another folder")  # fmt: skip
    assert sorted(p.name for p in mine.iterdir()) == sorted(p.name for p in synthetic_dir.iterdir())


def test_validation_eras_inside_train_are_named(trained: Context, tmp_path: Path) -> None:
    """A dataset of your own whose validation file repeats training eras: validate still
    scores them, and says which eras the models may have seen."""
    before = validate_ensemble(trained, write_report=False).notes
    assert not [n for n in before if "not after train's" in n]
    root = Path(shutil.copytree(trained.workdir.root, tmp_path / "wd"))
    ctx = Context.load(Workdir(root))
    path = ctx.data_dir / layout.VALIDATION
    val = pd.read_parquet(path)
    train_eras = sorted(pd.read_parquet(ctx.data_dir / layout.TRAIN, columns=["era"]).era.unique())
    # The embargo eras and three scored ones become train's last eras.
    inside = sorted(val.era.unique())[: ctx.config.train.embargo_eras + 3]
    val["era"] = val["era"].replace(dict(zip(inside, train_eras[-len(inside) :], strict=True)))
    val.to_parquet(path)
    said = [n for n in validate_ensemble(ctx, write_report=False).notes if "not after" in n]
    assert len(said) == 1 and said[0].startswith("3 of "), said
    assert f"are not after train's last era {train_eras[-1]}" in said[0]


def test_the_embargo_skips_only_eras_close_to_train(trained: Context, tmp_path: Path) -> None:
    """Validation eras are left out when their targets overlap train's (within
    train.embargo_eras of its last era), named in a note; a validation file that starts
    well after train (a dataset of your own, trimmed to recent eras) loses none of them.
    They were the first embargo_eras of the file wherever it started."""
    embargo = trained.config.train.embargo_eras
    first = sorted(pd.read_parquet(trained.data_dir / layout.VALIDATION, columns=["era"]).era)[0]
    near = validate_ensemble(trained, write_report=False)
    last_skipped = f"{int(first) + embargo - 1:04d}"
    assert (
        f"the first {embargo} validation eras ({first} to {last_skipped}) are not scored: "
        "their targets overlap train's last eras (train.embargo_eras)"
    ) in near.notes
    root = Path(shutil.copytree(trained.workdir.root, tmp_path / "wd"))
    ctx = Context.load(Workdir(root))
    path = ctx.data_dir / layout.VALIDATION
    val = pd.read_parquet(path)
    val["era"] = [f"{int(e) + 30:04d}" for e in val["era"]]  # 30 eras after train's last
    val.to_parquet(path)
    far = validate_ensemble(ctx, write_report=False)
    assert far.metric_eras("corr") == near.metric_eras("corr") + embargo
    assert not [n for n in far.notes if "not scored" in n]


def test_eras_written_in_another_style_are_compared_by_number(
    trained: Context, tmp_path: Path
) -> None:
    """Train's eras "0001"..., validation's "era0041"...: compared as text, every validation
    era was 'not after train's last era' and the embargo went by position."""
    near = validate_ensemble(trained, write_report=False)
    root = Path(shutil.copytree(trained.workdir.root, tmp_path / "wd"))
    ctx = Context.load(Workdir(root))
    for name in (layout.VALIDATION, layout.META_MODEL):
        frame = pd.read_parquet(ctx.data_dir / name)
        frame.assign(era="era" + frame["era"]).to_parquet(ctx.data_dir / name)
    mixed = validate_ensemble(ctx, write_report=False)
    assert not [n for n in mixed.notes if "not after" in n]
    assert [n.replace("era0", "0") for n in mixed.notes] == list(near.notes)
    assert mixed.summary("ensemble") == near.summary("ensemble")


def test_a_meta_model_of_another_version_is_noted_not_refused(
    trained: Context, tmp_path: Path
) -> None:
    root = Path(shutil.copytree(trained.workdir.root, tmp_path / "wd"))
    ctx = Context.load(Workdir(root))
    path = ctx.data_dir / layout.META_MODEL
    pd.read_parquet(path).rename(index=lambda i: f"other{i}").to_parquet(path)
    report = validate_ensemble(ctx, write_report=False)
    assert report.metric_eras("corr") > 0 and report.metric_eras("mmc") == 0
    assert (
        f"{layout.META_MODEL} shares no id with {layout.VALIDATION} (another dataset "
        "version?): the scores that need it are left out"
    ) in report.notes


def test_validate_warns_only_of_ids_missing_from_the_data(
    trained: Context, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The benchmark file covers the embargo eras validate skips: those ids are in the
    data file and are not warned about; ids that are not in it are, and only they."""
    root = Path(shutil.copytree(trained.workdir.root, tmp_path / "wd"))
    config = root / "numerpilot.toml"
    config.write_text(config.read_text() + '\n[scoring]\nbenchmark_column = "v52_lgbm_cyrusd20"\n')
    ctx = Context.load(Workdir(root))
    with caplog.at_level("WARNING", logger="numerpilot.scoring.align"):
        report = validate_ensemble(ctx, write_report=False)
    assert report.metric_eras("bmc") > 0
    assert not [r for r in caplog.records if "not in the data file" in r.getMessage()]
    path = ctx.data_dir / layout.VALIDATION_BENCHMARKS
    bench = pd.read_parquet(path)
    pd.concat([bench, bench.iloc[:3].rename(index=lambda i: f"x{i}")]).to_parquet(path)
    caplog.clear()
    with caplog.at_level("WARNING", logger="numerpilot.scoring.align"):
        validate_ensemble(ctx, write_report=False)
    assert [r.getMessage() for r in caplog.records] == [
        f"3 ids of the {layout.VALIDATION_BENCHMARKS} are not in the data file and are ignored"
    ]


def test_validate_says_why_mmc_is_left_out(trained: Context, tmp_path: Path) -> None:
    """A meta model of the embargo eras only scores nothing (it is not another dataset
    version); without the file, the report says which file is missing."""
    root = Path(shutil.copytree(trained.workdir.root, tmp_path / "wd"))
    ctx = Context.load(Workdir(root))
    path = ctx.data_dir / layout.META_MODEL
    val = pd.read_parquet(ctx.data_dir / layout.VALIDATION, columns=["era"])
    embargo = val[val.era.isin(sorted(val.era.unique())[: ctx.config.train.embargo_eras])]
    embargo.assign(numerai_meta_model=0.5).to_parquet(path)
    report = validate_ensemble(ctx, write_report=False)
    assert report.metric_eras("mmc") == 0 and report.metric_eras("corr") > 0
    assert "MMC: the meta model covers no scored era; MMC left out" in report.notes
    path.unlink()
    report = validate_ensemble(ctx, write_report=False)
    assert report.metric_eras("mmc") == 0 and report.metric_eras("corr") > 0
    assert (
        f"MMC, correlation with the meta model and payout: no {path.name} in "
        f"{ctx.data_dir}; left out ('numerpilot download' fetches it)"
    ) in report.notes
