"""Per-era values equal numerai-tools applied era by era, within 1e-9."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numerai_tools import scoring as nt

from numerpilot.kernel.eras import EraIndex
from numerpilot.scoring import (
    PerEra,
    feature_scores,
    neutralize_by_era,
    per_era_corr,
    per_era_corr_mmc,
    per_era_meta_scores,
    per_era_mmc,
    per_era_rank_corr,
)
from numerpilot.scoring.fnc import TIE_DECIMALS

# numerai-tools applied era by era: the reference
Frame = pd.DataFrame


def frame(ids: np.ndarray, eras: np.ndarray, preds: np.ndarray, **cols: np.ndarray) -> Frame:
    """Predictions p0..pk plus extra columns, indexed by (unsorted) string ids."""
    out = pd.DataFrame(preds, index=pd.Index(ids, name="id"))
    out.columns = [f"p{j}" for j in range(preds.shape[1])]
    out["era"] = eras
    for name, values in cols.items():
        out[name] = values
    return out


def per_era(df: Frame, fn: Callable[[Frame, list[str]], object]) -> dict[str, np.ndarray]:
    """{era: fn(era_frame, prediction_columns)} for the eras where numerai-tools returns."""
    cols = [c for c in df.columns if str(c).startswith("p")]
    out = {}
    for era, g in df.groupby("era"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[str(era)] = np.asarray(fn(g, cols), dtype=np.float64)
        except AssertionError:
            continue
    return out


def corr(df: Frame) -> dict[str, np.ndarray]:
    return per_era(df, lambda g, c: nt.numerai_corr(g[c], g["target"]))


def mmc(df: Frame, meta: str = "meta") -> dict[str, np.ndarray]:
    return per_era(df, lambda g, c: nt.correlation_contribution(g[c], g[meta], g["target"]))


def fnc(df: Frame, features: Frame) -> dict[str, np.ndarray]:
    """numerai-tools' ``feature_neutral_corr``, step by step, with one documented change:
    neutral predictions are snapped to TIE_DECIMALS before the second ranking, so rows that
    are mathematically tied stay tied (numerai-tools would rank their rounding noise)."""

    def one(g: Frame, c: list[str]) -> object:
        g = g.sort_index()
        neutral = nt.tie_kept_rank__gaussianize__neutralize__variance_normalize(
            g[c], features.loc[g.index]
        )
        return nt.numerai_corr(neutral.round(TIE_DECIMALS), g["target"])

    return per_era(df, one)


def exposure(df: Frame, features: Frame) -> dict[str, np.ndarray]:
    def one(g: Frame, c: list[str]) -> object:
        g = g.sort_index()
        return [nt.max_feature_correlation(g[col], features.loc[g.index])[1] for col in c]

    return per_era(df, one)


def spearman(df: Frame, other: str = "meta") -> dict[str, np.ndarray]:
    def one(g: Frame, c: list[str]) -> object:
        g = g.sort_index()
        return [nt.spearman_correlation(g[other], g[col]) for col in c]

    return per_era(df, one)


reference = SimpleNamespace(
    frame=frame, corr=corr, mmc=mmc, fnc=fnc, exposure=exposure, spearman=spearman
)

TOL = 1e-9
BUCKETS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])


def assert_matches(ours: PerEra, ref: dict[str, np.ndarray], nan_for_asserts: bool = False) -> None:
    """Same eras scored, same values (NaN where numerai-tools gives NaN).

    With ``nan_for_asserts``, an era where numerai-tools raised (constant predictions before
    FNC's second ranking) must be NaN in ours: the documented deliberate difference.
    """
    if nan_for_asserts:
        extra = sorted(set(ours.eras.tolist()) - set(ref))
        for era in extra:
            assert np.isnan(ours.values[ours.eras.tolist().index(era)]).any()
        ref = {**ref, **{e: ours.values[ours.eras.tolist().index(e)] for e in extra}}
    assert ours.eras.tolist() == sorted(ref)
    for i, era in enumerate(ours.eras):
        np.testing.assert_allclose(ours.values[i], ref[str(era)], rtol=0, atol=TOL)


def dataset(
    seed: int,
    sizes: list[int],
    k: int = 3,
    ties: float = 0.0,
    nan_target: float = 0.0,
    n_features: int = 6,
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """Random data in shuffled row order with unsorted string ids and string eras."""
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    eras = np.repeat([f"era{e:03d}" for e in range(len(sizes))], sizes)
    preds = rng.normal(size=(n, k))
    if ties:
        preds = np.round(preds / ties) * ties
    target = rng.choice(BUCKETS, size=n)
    target[rng.random(n) < nan_target] = np.nan
    meta = rng.random(n)
    feats = rng.integers(0, 5, size=(n, n_features)).astype(np.int8)
    perm = rng.permutation(n)
    ids = np.array([f"id{rng.integers(1e9)}x{i}" for i in range(n)])
    df = reference.frame(ids, eras[perm], preds[perm], target=target[perm], meta=meta[perm])
    fdf = pd.DataFrame(feats[perm], index=df.index)
    return df, preds[perm], fdf


def cols(df: pd.DataFrame) -> np.ndarray:
    return df[[c for c in df.columns if str(c).startswith("p")]].to_numpy()


@pytest.mark.parametrize(
    ("ties", "nan_target"), [(0.0, 0.0), (0.5, 0.0), (3.0, 0.0), (0.0, 0.1), (1.0, 0.15)]
)
def test_corr_mmc_match_numerai_tools(ties: float, nan_target: float) -> None:
    df, preds, _ = dataset(1, [40, 7, 120, 3, 60], ties=ties, nan_target=nan_target)
    t, eras, meta = df["target"].to_numpy(), df["era"].to_numpy(), df["meta"].to_numpy()
    assert_matches(per_era_corr(preds, t, eras), reference.corr(df))
    assert_matches(per_era_mmc(preds, meta, t, eras), reference.mmc(df))
    both = per_era_corr_mmc(preds, meta, t, eras)
    assert_matches(both[0], reference.corr(df))
    assert_matches(both[1], reference.mmc(df))
    # one sort per column for CORR, MMC and the Spearman with the meta model
    three = per_era_meta_scores(preds, meta, t, EraIndex.from_eras(eras))
    assert_matches(three.corr, reference.corr(df))
    assert_matches(three.mmc, reference.mmc(df))
    assert_matches(three.rank_corr, reference.spearman(df))


def test_corr_one_dimensional_predictions() -> None:
    df, preds, _ = dataset(2, [30, 30], k=1)
    ours = per_era_corr(preds[:, 0], df["target"].to_numpy(), df["era"].to_numpy())
    assert ours.values.shape == (2, 1)
    assert_matches(ours, reference.corr(df))


def test_heavy_ties_and_constant_columns_give_nan_like_numerai_tools() -> None:
    df, preds, _ = dataset(3, [50, 50, 50], k=3)
    preds[:, 1] = np.round(preds[:, 1] > 1.2)  # two values only
    preds[:, 2] = 0.7  # constant
    df["p1"], df["p2"] = preds[:, 1], preds[:, 2]
    t, eras, meta = df["target"].to_numpy(), df["era"].to_numpy(), df["meta"].to_numpy()
    corr = per_era_corr(preds, t, eras)
    assert np.isnan(corr.values[:, 2]).all()
    assert_matches(corr, reference.corr(df))
    assert_matches(per_era_mmc(preds, meta, t, eras), reference.mmc(df))


def test_meta_model_coverage_rules() -> None:
    """No coverage: skipped. Up to 20 % missing: scored on the intersection. More: skipped."""
    df, preds, _ = dataset(4, [100, 100, 100, 100])
    eras = df["era"].to_numpy()
    meta = df["meta"].to_numpy().copy()
    meta[eras == "era000"] = np.nan
    holes = np.flatnonzero(eras == "era001")[:20]
    meta[holes] = np.nan  # exactly 20 % missing: still scored
    meta[np.flatnonzero(eras == "era002")[:21]] = np.nan  # 21 %: numerai-tools asserts
    df["meta"] = meta
    ours = per_era_mmc(preds, meta, df["target"].to_numpy(), eras)
    assert ours.skipped == ("era000", "era002")
    assert_matches(ours, reference.mmc(df))


def test_tiny_eras_are_scored_or_skipped_like_numerai_tools() -> None:
    df, preds, _ = dataset(5, [2, 3, 1, 5], k=2)
    t, eras = df["target"].to_numpy(), df["era"].to_numpy()
    corr = per_era_corr(preds, t, eras)
    assert "era002" in corr.skipped  # a single row cannot be scored
    ref = {e: v for e, v in reference.corr(df).items() if e != "era002"}
    assert_matches(corr, ref)


def test_no_scorable_era_gives_empty_scores_with_the_meta_model_too() -> None:
    """Predictions missing in half the rows of every era: no era is scored. CORR alone
    said so; scored with the meta model (one sort for CORR, MMC and Spearman) it raised
    ValueError (cannot reshape array of size 0)."""
    df, preds, _ = dataset(12, [10, 12, 1], k=2)
    preds[::2] = np.nan
    t, eras, meta = df["target"].to_numpy(), df["era"].to_numpy(), df["meta"].to_numpy()
    three = per_era_meta_scores(preds, meta, t, eras)
    for scores in (three.corr, three.mmc, three.rank_corr, per_era_corr(preds, t, eras)):
        assert scores.values.shape == (0, 2)
        assert scores.skipped == ("era000", "era001", "era002")


def test_rank_correlation_matches_spearman() -> None:
    df, preds, _ = dataset(6, [30, 80, 45], ties=0.5)
    ours = per_era_rank_corr(preds, df["meta"].to_numpy(), df["era"].to_numpy())
    assert_matches(ours, reference.spearman(df))


def test_fnc_and_exposure_match_numerai_tools() -> None:
    df, preds, fdf = dataset(7, [60, 80, 45], ties=0.5, nan_target=0.05, n_features=8)
    fdf.loc[df["era"] == "era001", 3] = 2  # a feature missing in an era is constant
    fdf[7] = fdf[6]  # duplicated feature: rank-deficient neutralizers
    scores = feature_scores(preds, fdf.to_numpy(), df["target"].to_numpy(), df["era"].to_numpy())
    assert_matches(scores.fnc, reference.fnc(df, fdf))
    assert_matches(scores.exposure, reference.exposure(df, fdf))


@pytest.mark.parametrize("proportion", [1.0, 0.5, 0.0])
def test_neutralize_by_era_matches_neutralize(proportion: float) -> None:
    df, preds, fdf = dataset(8, [50, 70, 30], n_features=10)
    feats = fdf.to_numpy()
    eras = df["era"].to_numpy()
    ours = neutralize_by_era(preds, feats, eras, proportion)
    for era in np.unique(eras):
        rows = eras == era
        ref = nt.neutralize(pd.DataFrame(preds[rows]), pd.DataFrame(feats[rows]), proportion)
        np.testing.assert_allclose(ours[rows], ref.to_numpy(), rtol=0, atol=TOL)


def test_neutralize_float_neutralizers_and_constant_column() -> None:
    rng = np.random.default_rng(9)
    x = rng.normal(size=(40, 2))
    x[:20, 1] = 3.0  # constant within the first era -> NaN there, like numerai-tools
    neutralizers = rng.normal(size=(40, 3))
    eras = np.repeat(["a", "b"], 20)
    ours = neutralize_by_era(x, neutralizers, eras)
    assert np.isnan(ours[:20, 1]).all()
    ref = nt.neutralize(pd.DataFrame(x[20:]), pd.DataFrame(neutralizers[20:]))
    np.testing.assert_allclose(ours[20:], ref.to_numpy(), rtol=0, atol=TOL)


@st.composite
def random_data(draw: st.DrawFn, min_rows: int = 2) -> tuple[pd.DataFrame, np.ndarray]:
    sizes = draw(st.lists(st.integers(min_rows, 40), min_size=1, max_size=5))
    k = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    ties = draw(st.sampled_from([0.0, 0.25, 1.0, 5.0]))
    nan_target = draw(st.sampled_from([0.0, 0.05, 0.3]))
    df, preds, _ = dataset(seed, sizes, k=k, ties=ties, nan_target=nan_target)
    return df, preds


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_data())
def test_hypothesis_corr_and_mmc(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    df, preds = data
    t, eras, meta = df["target"].to_numpy(), df["era"].to_numpy(), df["meta"].to_numpy()
    assert_matches(per_era_corr(preds, t, eras), reference.corr(df))
    assert_matches(per_era_mmc(preds, meta, t, eras), reference.mmc(df))
    three = per_era_meta_scores(preds, meta, t, eras)
    assert_matches(three.corr, reference.corr(df))
    assert_matches(three.mmc, reference.mmc(df))
    assert_matches(three.rank_corr, reference.spearman(df))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_data(min_rows=9), st.integers(1, 6))
def test_hypothesis_fnc(data: tuple[pd.DataFrame, np.ndarray], n_features: int) -> None:
    """Eras have more rows than features + 1: with fewer the neutralized predictions are
    rounding noise (numerai-tools' sign is arbitrary there; numerpilot gives NaN)."""
    df, preds = data
    rng = np.random.default_rng(len(df))
    fdf = pd.DataFrame(rng.integers(0, 5, (len(df), n_features)).astype(np.int8), index=df.index)
    scores = feature_scores(preds, fdf.to_numpy(), df["target"].to_numpy(), df["era"].to_numpy())
    assert_matches(scores.fnc, reference.fnc(df, fdf), nan_for_asserts=True)


def test_a_float32_target_is_scored_in_float64_like_numerai_tools_on_its_float64_copy() -> None:
    """Numerai's files hold float32 targets. numerai-tools centres and powers such a target
    in float32, so fed the file's column as it is, it differs from float64 arithmetic by up
    to ~1e-8 (the FNC gap once put down to correlated features: it is CORR's too). numerpilot
    scores in float64: equal to numerai-tools fed the target as float64, within 1e-9."""
    df, preds, fdf = dataset(11, [54, 62, 58, 60], n_features=30)
    base = fdf.to_numpy()[:, :1]
    fdf = pd.DataFrame(np.clip(base + fdf.to_numpy() % 2, 0, 4).astype(np.int8), index=df.index)
    rng = np.random.default_rng(3)
    df["target"] = rng.choice(BUCKETS, len(df)).astype(np.float32)  # as Numerai's files
    target32 = df["target"].to_numpy()
    ours_corr = per_era_corr(preds, target32, df["era"].to_numpy())
    ours_fnc = feature_scores(preds, fdf.to_numpy(), target32, df["era"].to_numpy()).fnc
    as64 = df.assign(target=df["target"].astype(np.float64))
    assert_matches(ours_corr, reference.corr(as64))
    assert_matches(ours_fnc, reference.fnc(as64, fdf))
    gap = max(
        float(np.max(np.abs(ours_corr.values[i] - v)))
        for i, v in enumerate(reference.corr(df).values())
    )
    assert 1e-12 < gap < 1e-7  # float32 arithmetic in numerai-tools, not a scoring difference


@pytest.mark.parametrize("scale", [1e300, 1e-300, 1e-5, -3e200])
def test_exposure_of_huge_and_tiny_predictions_matches_numerai_tools(scale: float) -> None:
    """Pearson is scale-free, as numerai-tools' ``max_feature_correlation`` is: predictions
    of 1e300 gave an exposure of 0 and of 1e-300 none (their squares over- and underflow)."""
    df, preds, fdf = dataset(5, [50, 70], k=2, n_features=6)
    scaled = df.assign(p0=df["p0"] * scale, p1=df["p1"] * scale)
    scores = feature_scores(
        preds * scale, fdf.to_numpy(), df["target"].to_numpy(), df["era"].to_numpy()
    )
    assert_matches(scores.exposure, reference.exposure(df, fdf))
    assert_matches(scores.exposure, reference.exposure(scaled, fdf))


def fnc_of_rows_with_predictions(df: Frame, features: Frame) -> dict[str, np.ndarray]:
    """numerai-tools' ``feature_neutral_corr`` where some predictions are missing: it cannot
    neutralize NaN, so the rows with predictions are neutralized, and numerai_corr gets the
    era's targets, as CORR does (centred on every target of the era; 80 % of it scored)."""

    def one(g: Frame, c: list[str]) -> object:
        g = g.sort_index()
        have = g.dropna(subset=c)
        neutral = nt.tie_kept_rank__gaussianize__neutralize__variance_normalize(
            have[c], features.loc[have.index]
        )
        return nt.numerai_corr(neutral.round(TIE_DECIMALS), g["target"])

    return per_era(df, one)


def test_fnc_of_predictions_with_missing_rows_scores_the_eras_and_target_corr_does() -> None:
    """FNC centred the target on the rows with predictions only, and took its 80 % rule of
    them: it differed from CORR at proportion 0 (where FNC is CORR) and from numerai-tools,
    and it scored eras that CORR skips (15 % without predictions, another 15 % without a
    target: 70 % of the era scorable)."""
    df, preds, fdf = dataset(13, [80, 90, 100], k=2, n_features=5)
    eras, target = df["era"].to_numpy(), df["target"].to_numpy().copy()
    rng = np.random.default_rng(13)
    preds[(rng.random(len(df)) < 0.1) & (eras != "era002")] = np.nan
    era2 = np.flatnonzero(eras == "era002")
    preds[era2[:15]] = np.nan
    target[era2[15:30]] = np.nan
    df[["p0", "p1"]], df["target"] = preds, target
    scores = feature_scores(preds, fdf.to_numpy(), target, eras)
    assert "era002" in scores.fnc.skipped
    assert_matches(scores.fnc, fnc_of_rows_with_predictions(df, fdf))
    unneutralized = feature_scores(preds, fdf.to_numpy(), target, eras, proportion=0.0).fnc
    corr = per_era_corr(preds, target, eras)
    assert_matches(unneutralized, dict(zip(corr.eras.tolist(), corr.values, strict=True)))
