"""Synthetic Numerai data in the exact file layout, for demos and offline tests.

Generative model (per era ``e``, row ``i``; every random draw comes from one seeded
``numpy.random.Generator``, so a seed gives identical files):

* **Features.** Eight latent group factors ``g[i, k] ~ N(0, 1)`` (intelligence, wisdom, ...).
  Feature ``j`` of group ``k(j)`` is ``x[i, j] = a_j g[i, k(j)] + sqrt(1 - a_j^2) u[i, j]``
  with loadings ``a_j ~ U(0.2, 0.7)``, so features within a group are correlated. Each
  feature is cut into quintiles within its era and stored as int8 ``0..4`` (20 % each).
  A few features are missing for blocks of eras and hold ``2`` there, as in Numerai's data.
* **Signal.** With ``z = (feature - 2) / sqrt(2)`` the latent return is the sum of five
  parts, each scaled per era to a fixed share of variance:

  - *stable linear* (35 %): small weights on half of the features, spread thin;
  - *interactions* (15 %): products ``z_j z_l`` of feature pairs;
  - *U-shapes* (10 %): ``z_j^2 - 1`` on a few features (invisible to linear models);
  - *regime* (30 %): large weights on a few features whose sign flips between blocks of
    ~10-60 eras, so a model that leans on them wins in-sample and loses out of it;
  - *drift* (10 %): weights that follow a slow random walk over eras.

* **Targets.** ``target = rho * s + sqrt(1 - rho^2) * noise`` (``rho = 0.09``), ranked
  within its era and binned to ``0, .25, .5, .75, 1`` at 5/20/50/20/5 %. ``target`` equals
  ``target_cyrusd_20`` as in v5. Every other name mixes the shared signal with a signal of
  its own and shares part of the main target's noise (so targets correlate 0.3-0.95, 60-day
  targets less and leaning more on the regime part); each is partly NaN: at random in
  train, and for the most recent validation eras that have not resolved yet.
* **Meta model and benchmarks.** Per-era ranks of noisy views of the learnable signal;
  the meta model covers only the later validation eras, as Numerai's does.

A well-built model reaches a per-era CORR of about 0.02-0.05 on validation; the regime
features make naive models overfit and make neutralization and ensembling pay off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from numerpilot.data import layout

_ADJECTIVES = (
    "amber", "brisk", "civic", "dusky", "eager", "fabled", "gilded", "hollow", "ironic",
    "jovial", "kindly", "lunar", "mellow", "nimble", "ornate", "placid", "quaint", "rustic",
    "somber", "tidal", "umber", "vernal", "woven", "zonal",
)  # fmt: skip
_NOUNS = (
    "anchor", "beacon", "cedar", "delta", "ember", "falcon", "garnet", "harbor", "inlet",
    "juniper", "kestrel", "lantern", "meadow", "nectar", "orchid", "pylon", "quarry", "raven",
    "summit", "thicket", "upland", "vessel", "willow", "zephyr",
)  # fmt: skip

#: Bump when the generative model changes, so cached datasets are regenerated.
GENERATOR_VERSION = 2

_SHARES = {"linear": 0.35, "pairs": 0.15, "ushape": 0.10, "regime": 0.30, "drift": 0.10}
_RHO = 0.09
_BIN_EDGES = np.array([0.05, 0.25, 0.75, 0.95])
_BIN_VALUES = np.array([0.0, 0.25, 0.5, 0.75, 1.0], dtype=np.float32)


#: The smallest dataset the generator makes (each feature group needs three features).
MINIMUMS = {"train_eras": 10, "validation_eras": 4, "rows_per_era": 50,
            "n_features": 3 * len(layout.FEATURE_GROUPS), "live_rows": 10}  # fmt: skip


@dataclass(frozen=True)
class SyntheticSpec:
    """Sizes of a synthetic dataset; ``seed`` makes it reproducible (the demo's sizes are
    ``[demo]`` settings, :meth:`numerpilot.config.DemoConfig.spec`)."""

    train_eras: int
    validation_eras: int
    rows_per_era: int
    n_features: int
    live_rows: int
    seed: int = 42
    target_names: tuple[str, ...] = layout.TARGET_NAMES

    def __post_init__(self) -> None:
        for name, least in MINIMUMS.items():
            if getattr(self, name) < least:
                raise ValueError(f"{name} must be at least {least}, not {getattr(self, name)}")
        if self.seed < 0:
            raise ValueError(f"the seed must be 0 or more, got {self.seed}")


@dataclass(frozen=True)
class _World:
    """Fixed parameters of the generative model, drawn once per dataset."""

    names: list[str]
    group_of: np.ndarray
    loading: np.ndarray
    w_linear: np.ndarray
    pairs: np.ndarray
    w_pairs: np.ndarray
    ushape: np.ndarray
    w_regime: np.ndarray
    regime_sign: np.ndarray
    drift: np.ndarray
    own_linear: np.ndarray
    missing: list[tuple[int, int, int]]


def feature_names(n_features: int, rng: np.random.Generator) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n_features:
        a, b = rng.integers(len(_ADJECTIVES)), rng.integers(len(_NOUNS))
        name = f"feature_{_ADJECTIVES[a]}_{_NOUNS[b]}_{len(names):04d}"
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _make_world(spec: SyntheticSpec, rng: np.random.Generator) -> _World:
    f = spec.n_features
    n_eras = spec.train_eras + spec.validation_eras + 1
    w_linear = np.where(rng.random(f) < 0.5, rng.normal(size=f), 0.0)
    n_pairs = max(4, f // 10)
    pairs = np.stack([rng.choice(f, size=2, replace=False) for _ in range(n_pairs)])
    regime = rng.choice(f, size=max(3, f // 20), replace=False)
    w_regime = np.zeros(f)
    w_regime[regime] = rng.choice([-1.0, 1.0], size=len(regime)) * rng.uniform(1, 2, len(regime))
    # Block-wise sign flips of the regime part: blocks of 10-60 eras.
    sign = np.empty(n_eras)
    pos, current = 0, 1.0
    while pos < n_eras:
        length = int(rng.integers(10, 61))
        sign[pos : pos + length] = current
        pos, current = pos + length, -current
    steps = rng.normal(scale=0.15, size=(n_eras, f))
    drift = np.cumsum(steps, axis=0) + rng.normal(size=f)
    missing = []
    for j in rng.choice(f, size=max(1, f // 50), replace=False):
        start = int(rng.integers(0, max(1, spec.train_eras - 20)))
        missing.append((int(j), start, start + int(rng.integers(5, 21))))
    return _World(
        names=feature_names(f, rng),
        group_of=np.arange(f) % len(layout.FEATURE_GROUPS),
        loading=rng.uniform(0.2, 0.7, size=f),
        w_linear=w_linear,
        pairs=pairs,
        w_pairs=rng.normal(size=n_pairs),
        ushape=rng.choice(f, size=max(2, f // 30), replace=False),
        w_regime=w_regime,
        regime_sign=sign,
        drift=drift,
        own_linear=rng.normal(size=(len(spec.target_names), f)),
        missing=missing,
    )


def _unit(v: np.ndarray) -> np.ndarray:
    v = v - v.mean()
    sd = v.std()
    return v / sd if sd > 0 else v


def _quintiles(x: np.ndarray) -> np.ndarray:
    """Per-column quintile of each value within the era, as int8 0..4."""
    ranks = np.argsort(np.argsort(x, axis=0, kind="stable"), axis=0, kind="stable")
    return (ranks * 5 // len(x)).astype(np.int8)


def bin_target(y: np.ndarray) -> np.ndarray:
    """Rank within the era and bin to 0/.25/.5/.75/1 at 5/20/50/20/5 %."""
    pct = (np.argsort(np.argsort(y, kind="stable"), kind="stable") + 0.5) / len(y)
    return _BIN_VALUES[np.searchsorted(_BIN_EDGES, pct, side="right")]


def _era_block(
    world: _World, era: int, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Features (n, f) int8 and the named latent signals of one era."""
    g = rng.normal(size=(n, len(layout.FEATURE_GROUPS)))
    a = world.loading
    x = a * g[:, world.group_of] + np.sqrt(1 - a**2) * rng.normal(size=(n, len(a)))
    feats = _quintiles(x)
    for j, start, stop in world.missing:
        if start <= era < stop:
            feats[:, j] = 2
    z = (feats.astype(np.float64) - 2.0) / np.sqrt(2.0)
    parts = {
        "linear": _unit(z @ world.w_linear),
        "pairs": _unit((z[:, world.pairs[:, 0]] * z[:, world.pairs[:, 1]]) @ world.w_pairs),
        "ushape": _unit((z[:, world.ushape] ** 2 - 1).sum(axis=1)),
        "regime": _unit(world.regime_sign[era] * (z @ world.w_regime)),
        "drift": _unit(z @ world.drift[era]),
    }
    return feats, parts


def _mix(parts: dict[str, np.ndarray], shares: dict[str, float]) -> np.ndarray:
    return _unit(sum(np.sqrt(shares[k]) * parts[k] for k in shares))


def _targets(
    world: _World, spec: SyntheticSpec, z: np.ndarray, parts: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:  # fmt: skip
    n = len(z)
    shared = _mix(parts, _SHARES)
    slow = {**_SHARES, "regime": 0.5, "drift": 0.2, "pairs": 0.1, "ushape": 0.05, "linear": 0.15}
    shared_60 = _mix(parts, slow)
    # Returns over overlapping horizons share most of their noise, so targets correlate.
    common = rng.normal(size=n)
    out: dict[str, np.ndarray] = {}
    for k, name in enumerate(spec.target_names):
        own = _unit(z @ world.own_linear[k])
        c = 1.0 if name == "cyrusd" else 0.55 + 0.4 * ((k * 7919) % 97) / 97
        for horizon, base in ((20, shared), (60, shared_60)):
            share = c if horizon == 20 else 0.6 * c
            s = c * base + np.sqrt(1 - c**2) * own
            noise = share * common + np.sqrt(1 - share**2) * rng.normal(size=n)
            out[f"target_{name}_{horizon}"] = bin_target(_RHO * s + np.sqrt(1 - _RHO**2) * noise)
    main = out.get(layout.MAIN_TARGET_ALIAS)
    if main is None:
        main = bin_target(_RHO * shared + np.sqrt(1 - _RHO**2) * common)
    return {layout.MAIN_TARGET: main.copy(), **out}


def _ids(n: int, rng: np.random.Generator) -> np.ndarray:
    while True:
        raw = rng.integers(0, 2**60, size=n, dtype=np.int64)
        if len(np.unique(raw)) == n:
            return np.array([f"n{v:015x}" for v in raw], dtype=object)


def _rank01(values: np.ndarray, eras: np.ndarray) -> np.ndarray:
    out = np.empty(len(values))
    for era in np.unique(eras):
        m = eras == era
        v = values[m]
        out[m] = (np.argsort(np.argsort(v, kind="stable"), kind="stable") + 0.5) / len(v)
    return out


def generate(spec: SyntheticSpec) -> dict[str, pd.DataFrame | dict[str, object]]:
    """Every file of a synthetic version as DataFrames (plus ``features.json`` as a dict)."""
    rng = np.random.default_rng(spec.seed)
    world = _make_world(spec, rng)
    n_eras = spec.train_eras + spec.validation_eras
    sizes = rng.integers(int(spec.rows_per_era * 0.9), int(spec.rows_per_era * 1.1) + 1, n_eras)
    sizes = np.append(sizes, spec.live_rows)
    blocks, latent = [], []
    for era, n in enumerate(sizes):
        feats, parts = _era_block(world, era, int(n), rng)
        z = (feats.astype(np.float64) - 2.0) / np.sqrt(2.0)
        tg = _targets(world, spec, z, parts, rng)
        learnable = _mix(parts, {k: v for k, v in _SHARES.items() if k != "regime"})
        blocks.append((feats, tg))
        latent.append(learnable)
    era_labels = np.repeat([f"{e + 1:04d}" for e in range(n_eras)], sizes[:-1])
    era_labels = np.append(era_labels, [layout.LIVE_ERA] * spec.live_rows)
    ids = _ids(len(era_labels), rng)
    features = np.concatenate([b[0] for b in blocks])
    target_cols = list(blocks[0][1])
    targets = {c: np.concatenate([b[1][c] for b in blocks]).astype(np.float32) for c in target_cols}
    signal = np.concatenate(latent)

    n_train = int(sizes[: spec.train_eras].sum())
    n_hist = int(sizes[:-1].sum())
    split = np.full(len(ids), "train", dtype=object)
    split[n_train:n_hist] = "validation"
    split[n_hist:] = "live"
    _blank_unresolved(targets, split, era_labels, rng)

    frame = pd.DataFrame(features, columns=world.names, index=pd.Index(ids, name=layout.ID))
    frame.insert(0, layout.ERA, era_labels)
    frame.insert(1, layout.DATA_TYPE, split)
    frame = pd.concat([frame, pd.DataFrame(targets, index=frame.index)], axis=1)
    frame.loc[split == "live", target_cols] = np.nan

    is_val, is_live = split == "validation", split == "live"
    files: dict[str, pd.DataFrame | dict[str, object]] = {
        layout.TRAIN: frame[split == "train"],
        layout.VALIDATION: frame[is_val],
        layout.LIVE: frame[is_live],
        layout.FEATURES_JSON: _features_json(world, spec, target_cols, rng),
        layout.META_MODEL: _meta_model(frame[is_val], signal[is_val], rng),
        layout.VALIDATION_BENCHMARKS: _benchmarks(frame[is_val], signal[is_val], rng),
        layout.LIVE_BENCHMARKS: _benchmarks(frame[is_live], signal[is_live], rng),
    }
    return files


@dataclass(frozen=True)
class LiveRound:
    """A fresh live era: the files a participant sees and the truth kept hidden from them.

    live: live.parquet frame; benchmarks: live_benchmark_models.parquet frame;
    target: (n,) main target; meta_model: (n,) meta model in (0, 1).
    """

    live: pd.DataFrame
    benchmarks: pd.DataFrame
    target: np.ndarray
    meta_model: np.ndarray


def generate_live(spec: SyntheticSpec, round_number: int) -> LiveRound:
    """A new live era from the same world as :func:`generate` (same seed), one per round."""
    world = _make_world(spec, np.random.default_rng(spec.seed))
    rng = np.random.default_rng([spec.seed, round_number])
    feats, parts = _era_block(world, spec.train_eras + spec.validation_eras, spec.live_rows, rng)
    z = (feats.astype(np.float64) - 2.0) / np.sqrt(2.0)
    targets = _targets(world, spec, z, parts, rng)
    signal = _mix(parts, {k: v for k, v in _SHARES.items() if k != "regime"})
    ids = _ids(spec.live_rows, rng)
    live = pd.DataFrame(feats, columns=world.names, index=pd.Index(ids, name=layout.ID))
    live.insert(0, layout.ERA, layout.LIVE_ERA)
    live.insert(1, layout.DATA_TYPE, "live")
    blank = pd.DataFrame(np.nan, index=live.index, columns=list(targets), dtype=np.float32)
    live = pd.concat([live, blank], axis=1)
    eras = np.full(len(ids), layout.LIVE_ERA)
    meta = _rank01(signal + rng.normal(scale=1.2, size=len(ids)), eras)
    return LiveRound(live, _benchmarks(live, signal, rng), targets[layout.MAIN_TARGET], meta)


def _blank_unresolved(
    targets: dict[str, np.ndarray], split: np.ndarray, eras: np.ndarray, rng: np.random.Generator
) -> None:
    """Aux targets: ~1 % NaN at random in train; the newest validation eras unresolved."""
    val_eras = np.unique(eras[split == "validation"])
    for col, values in targets.items():
        if col in (layout.MAIN_TARGET, layout.MAIN_TARGET_ALIAS):
            continue
        values[(split == "train") & (rng.random(len(values)) < 0.01)] = np.nan
        recent = val_eras[-(12 if col.endswith("_60") else 4) :]
        values[np.isin(eras, recent)] = np.nan


def _features_json(
    world: _World, spec: SyntheticSpec, target_cols: list[str], rng: np.random.Generator
) -> dict[str, object]:
    names = world.names
    # Like Numerai's, the smaller sets favour features that matter (with some noise).
    weight = np.abs(world.w_linear) + np.abs(world.w_regime) + rng.exponential(0.3, len(names))
    for cols in (world.pairs.ravel(), world.ushape):
        weight[cols] += 1.0
    order = np.argsort(-weight, kind="stable")
    medium = sorted(order[: max(len(names) // 3, 12)])
    small = sorted(order[: max(len(names) // 12, 6)])
    sets: dict[str, list[str]] = {
        "small": [names[i] for i in small],
        "medium": [names[i] for i in medium],
        "all": list(names),
    }
    for k, group in enumerate(layout.FEATURE_GROUPS):
        sets[group] = [n for n, g in zip(names, world.group_of, strict=True) if g == k]
    return {"feature_sets": sets, "targets": target_cols}


def _meta_model(val: pd.DataFrame, signal: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Meta model on the later ~60 % of validation eras only."""
    eras = val[layout.ERA].to_numpy()
    covered = np.isin(eras, np.unique(eras)[int(len(np.unique(eras)) * 0.4) :])
    view = signal + rng.normal(scale=1.2, size=len(signal))
    meta = _rank01(view[covered], eras[covered])
    out = pd.DataFrame({layout.ERA: eras[covered], layout.META_MODEL_COLUMN: meta})
    out.index = val.index[covered]
    return out


def _benchmarks(frame: pd.DataFrame, signal: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    eras = frame[layout.ERA].to_numpy()
    cols = {layout.ERA: eras, layout.DATA_TYPE: frame[layout.DATA_TYPE].to_numpy()}
    for name in layout.BENCHMARK_NAMES:
        for horizon in (20, 60):
            view = signal + rng.normal(scale=1.5, size=len(signal))
            cols[layout.benchmark_column(name, horizon)] = _rank01(view, eras)
    return pd.DataFrame(cols, index=frame.index)
