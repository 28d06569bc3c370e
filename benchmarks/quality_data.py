"""Generator families for the model-quality benchmark, in Numerai's file layout.

Each family is a different world (numbers of features and rows per era, dense or sparse
signal, linear and non-linear parts, slow or fast drift, sign flips between regimes,
auxiliary targets of different quality and horizon). None of them is the demo's
generator (:mod:`numerpilot.data.synthetic`); they exist so that numerpilot's defaults are
chosen across many worlds, never fitted to one.

Generative model of a family (per era ``e``, row ``i``; one seeded generator):

* features: ``x = a g[group] + sqrt(1 - a^2) u`` (8 latent groups), cut into quintiles
  per era and stored as int8 0..4; ``z = (x_q - 2) / sqrt(2)``;
* signal ``s``: a mix of unit-variance parts with the family's shares: *linear* (weights on
  a ``density`` share of the features), *pairs* (products of feature pairs), *ushape*
  (``z^2 - 1``), *steps* (only a feature's top or bottom quintile matters), *regime* (a
  few features whose sign flips every ``regime_eras`` eras), *drift* (weights on a random
  walk of ``drift_step`` per era);
* main ``target``: the per-era binned rank of ``rho s + sqrt(1 - rho^2) noise``
  (0/.25/.5/.75/1 at 5/20/50/20/5 %);
* auxiliary targets: ``rho_a (c s + sqrt(1 - c^2) own) + noise_a`` where ``own`` is a
  signal of the target's own and ``noise_a`` shares ``common`` of the main target's noise.

A family with ``persist`` > 0 or ``horizon`` > 1 is Numerai's dependence between eras:
the same stocks every era, their latent features an AR(1) with coefficient ``persist``
per era, and a target's noise the sum of ``horizon`` weekly shocks (a 20-day target over
weekly eras: 4), so that neighbouring eras share most of it (an auxiliary ``_60`` target
spans three times as many).

The *best achievable* predictor knows the stationary parts of the signal (linear, pairs,
ushape, steps) exactly, but not the era's regime sign nor its drift: it is the benchmark's 100 %.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from numerpilot.data import layout
from numerpilot.data.synthetic import bin_target, feature_names

STATIONARY = ("linear", "pairs", "ushape", "steps")
#: Family fields added after the first families were cached: left out of the cache key
#: while at their default, so that those families keep their data.
LATER_FIELDS = {"persist": 0.0, "horizon": 1}


@dataclass(frozen=True)
class Aux:
    """An auxiliary target: ``quality`` = share of the main signal in its own signal,
    ``common`` = share of the main target's noise it carries, ``rho`` its strength."""

    name: str
    quality: float
    common: float
    rho: float


@dataclass(frozen=True)
class Family:
    """One world of the benchmark (sizes, signal, targets)."""

    name: str
    about: str
    n_features: int
    rows_per_era: int
    train_eras: int
    validation_eras: int
    shares: dict[str, float]
    rho: float = 0.1
    density: float = 0.5
    regime_eras: tuple[int, int] = (10, 60)
    drift_step: float = 0.1
    aux: tuple[Aux, ...] = field(default_factory=tuple)
    seed: int = 0
    persist: float = 0.0
    horizon: int = 1

    def scaled(self, rows: float, eras: float = 1.0) -> Family:
        """The same world with fewer rows per era / eras (``--quick``)."""
        from dataclasses import replace

        return replace(
            self,
            rows_per_era=max(100, int(self.rows_per_era * rows)),
            train_eras=max(60, int(self.train_eras * eras)),
            validation_eras=max(30, int(self.validation_eras * eras)),
        )

    @property
    def targets(self) -> list[str]:
        return [layout.MAIN_TARGET, *(a.name for a in self.aux)]


FAMILIES: tuple[Family, ...] = (
    Family(
        "dense-linear",
        "many small linear effects, slow drift, a good and a poor auxiliary target",
        n_features=300,
        rows_per_era=500,
        train_eras=240,
        validation_eras=100,
        shares={"linear": 0.7, "pairs": 0.1, "ushape": 0.0, "regime": 0.1, "drift": 0.1},
        rho=0.09,
        density=0.8,
        drift_step=0.05,
        aux=(Aux("target_alpha_20", 0.9, 0.6, 0.09), Aux("target_bravo_20", 0.3, 0.3, 0.09)),
        seed=1,
    ),
    Family(
        "sparse-nonlinear",
        "few features matter, mostly interactions and U-shapes; a 60-day auxiliary target",
        n_features=200,
        rows_per_era=600,
        train_eras=240,
        validation_eras=100,
        shares={"linear": 0.25, "pairs": 0.35, "ushape": 0.2, "regime": 0.1, "drift": 0.1},
        rho=0.1,
        density=0.05,
        aux=(Aux("target_charlie_20", 0.8, 0.5, 0.1), Aux("target_delta_60", 0.6, 0.3, 0.07)),
        seed=2,
    ),
    Family(
        "regime-flips",
        "a third of the signal flips sign every 5-20 eras; fast drift",
        n_features=240,
        rows_per_era=500,
        train_eras=240,
        validation_eras=100,
        shares={"linear": 0.35, "pairs": 0.1, "ushape": 0.05, "regime": 0.35, "drift": 0.15},
        rho=0.1,
        density=0.4,
        regime_eras=(5, 20),
        drift_step=0.25,
        aux=(Aux("target_echo_20", 0.85, 0.7, 0.1), Aux("target_golf_60", 0.5, 0.4, 0.08)),
        seed=3,
    ),
    Family(
        "many-eras-few-rows",
        "400 eras of 200 rows, strong drift, one noisy auxiliary target",
        n_features=150,
        rows_per_era=200,
        train_eras=400,
        validation_eras=120,
        shares={"linear": 0.45, "pairs": 0.15, "ushape": 0.1, "regime": 0.1, "drift": 0.2},
        rho=0.12,
        density=0.5,
        drift_step=0.2,
        aux=(Aux("target_hotel_20", 0.7, 0.6, 0.12),),
        seed=4,
    ),
    Family(
        "wide-weak",
        "800 features, a weak signal, a useless and a good auxiliary target",
        n_features=800,
        rows_per_era=400,
        train_eras=200,
        validation_eras=100,
        shares={"linear": 0.5, "pairs": 0.2, "ushape": 0.1, "regime": 0.1, "drift": 0.1},
        rho=0.08,
        density=0.3,
        aux=(Aux("target_india_20", 0.0, 0.2, 0.08), Aux("target_juliet_20", 0.9, 0.5, 0.08)),
        seed=5,
    ),
    Family(
        "persistent-overlapping",
        "Numerai's dependence: the same stocks every era, persistent features, 20-day "
        "targets over weekly eras; threshold effects that trees find",
        n_features=250,
        rows_per_era=500,
        train_eras=240,
        validation_eras=100,
        shares={"linear": 0.35, "pairs": 0.1, "steps": 0.25, "regime": 0.1, "drift": 0.2},
        rho=0.1,
        density=0.4,
        drift_step=0.1,
        aux=(Aux("target_kilo_20", 0.8, 0.6, 0.1), Aux("target_lima_60", 0.6, 0.3, 0.08)),
        seed=6,
        persist=0.9,
        horizon=4,
    ),
    Family(
        "large-eras",
        "Numerai's scale of an era: 2,000 stocks, 400 features; linear parts, thresholds "
        "and interactions, a good 20-day and a weak 60-day auxiliary target",
        n_features=400,
        rows_per_era=2000,
        train_eras=240,
        validation_eras=100,
        shares={
            "linear": 0.35,
            "pairs": 0.15,
            "ushape": 0.05,
            "steps": 0.15,
            "regime": 0.1,
            "drift": 0.2,
        },
        rho=0.06,
        density=0.3,
        drift_step=0.1,
        aux=(Aux("target_mike_20", 0.8, 0.5, 0.06), Aux("target_november_60", 0.4, 0.3, 0.05)),
        seed=7,
    ),
)


@dataclass(frozen=True)
class _World:
    names: list[str]
    group_of: np.ndarray
    loading: np.ndarray
    w_linear: np.ndarray
    pairs: np.ndarray
    w_pairs: np.ndarray
    ushape: np.ndarray
    w_ushape: np.ndarray
    w_regime: np.ndarray
    regime_sign: np.ndarray
    drift: np.ndarray
    own: np.ndarray
    steps: np.ndarray
    w_steps: np.ndarray
    step_top: np.ndarray


def _world(fam: Family, rng: np.random.Generator) -> _World:
    f, n_eras = fam.n_features, fam.train_eras + fam.validation_eras
    w_linear = np.where(rng.random(f) < fam.density, rng.normal(size=f), 0.0)
    if not w_linear.any():
        w_linear[rng.integers(f)] = 1.0
    n_pairs = max(3, int(f * min(fam.density, 0.2) / 2))
    pairs = np.stack([rng.choice(f, size=2, replace=False) for _ in range(n_pairs)])
    ushape = rng.choice(f, size=max(2, f // 40), replace=False)
    regime = rng.choice(f, size=max(3, f // 25), replace=False)
    w_regime = np.zeros(f)
    w_regime[regime] = rng.choice([-1.0, 1.0], size=len(regime)) * rng.uniform(1, 2, len(regime))
    sign, pos, current = np.empty(n_eras), 0, 1.0
    while pos < n_eras:
        length = int(rng.integers(fam.regime_eras[0], fam.regime_eras[1] + 1))
        sign[pos : pos + length] = current
        pos, current = pos + length, -current
    drift = np.cumsum(rng.normal(scale=fam.drift_step, size=(n_eras, f)), axis=0)
    drift += rng.normal(size=f) * (rng.random(f) < 0.3)
    return _World(
        names=feature_names(f, rng),
        group_of=np.arange(f) % len(layout.FEATURE_GROUPS),
        loading=rng.uniform(0.2, 0.7, size=f),
        w_linear=w_linear,
        pairs=pairs,
        w_pairs=rng.normal(size=n_pairs),
        ushape=ushape,
        w_ushape=rng.choice([-1.0, 1.0], size=len(ushape)),
        w_regime=w_regime,
        regime_sign=sign,
        drift=drift,
        own=rng.normal(size=(len(fam.aux), f)) * (rng.random((len(fam.aux), f)) < 0.3),
        **_steps(fam),
    )


def _steps(fam: Family) -> dict[str, np.ndarray]:
    """The threshold features: a tenth of them, each moving the target only in its top
    (or bottom) quintile. Drawn from a generator of their own, so that the families
    without steps keep their data."""
    rng = np.random.default_rng([fam.seed, 1])
    steps = rng.choice(fam.n_features, size=max(2, fam.n_features // 10), replace=False)
    return {"steps": steps, "w_steps": rng.choice([-1.0, 1.0], size=len(steps)),
            "step_top": rng.random(len(steps)) < 0.5}  # fmt: skip


def _unit(v: np.ndarray) -> np.ndarray:
    v = v - v.mean()
    sd = v.std()
    return v / sd if sd > 0 else v


def _mix(
    parts: dict[str, np.ndarray], shares: dict[str, float], keep: tuple[str, ...]
) -> np.ndarray:
    total = sum(shares[k] for k in keep if shares.get(k, 0) > 0)
    return _unit(sum(np.sqrt(shares[k] / total) * parts[k] for k in keep if shares.get(k, 0) > 0))


def _era(
    fam: Family, w: _World, era: int, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Features (n, f) int8, targets, and the best achievable prediction (n,) of one era
    whose rows are new stocks."""
    x = _latent(
        w, rng.normal(size=(n, len(layout.FEATURE_GROUPS))), rng.normal(size=(n, len(w.loading)))
    )
    return _outcome(fam, w, era, x, rng.normal(size=n), lambda k: rng.normal(size=n), rng)


def _latent(w: _World, g: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Latent features (n, f) from the group factors g (n, groups) and each feature's own
    part u (n, f)."""
    a = w.loading
    return np.asarray(a * g[:, w.group_of] + np.sqrt(1 - a**2) * u)


def _persistent_eras(
    fam: Family, w: _World, rng: np.random.Generator
) -> list[tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]]:
    """Every era of the same ``rows_per_era`` stocks: latent features an AR(1) (``persist``)
    from era to era, each target's noise a moving sum of weekly shocks over its horizon."""
    n, f, n_eras = fam.rows_per_era, fam.n_features, fam.train_eras + fam.validation_eras
    phi = fam.persist
    horizons = [fam.horizon] + [fam.horizon * (3 if t.name.endswith("_60") else 1)
                                for t in fam.aux]  # fmt: skip
    shocks = [rng.normal(size=(n_eras + h - 1, n)) for h in horizons]

    def noise(k: int, era: int) -> np.ndarray:
        return np.asarray(shocks[k][era : era + horizons[k]].sum(axis=0) / np.sqrt(horizons[k]))

    g = rng.normal(size=(n, len(layout.FEATURE_GROUPS)))
    u = rng.normal(size=(n, f))
    out = []
    for era in range(n_eras):
        if era:
            g = phi * g + np.sqrt(1 - phi**2) * rng.normal(size=g.shape)
            u = phi * u + np.sqrt(1 - phi**2) * rng.normal(size=u.shape)
        out.append(_outcome(fam, w, era, _latent(w, g, u), noise(0, era),
                            lambda k, e=era: noise(k + 1, e), rng))  # fmt: skip
    return out


def _outcome(
    fam: Family, w: _World, era: int, x: np.ndarray, noise: np.ndarray,
    aux_noise: Callable[[int], np.ndarray], rng: np.random.Generator,
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:  # fmt: skip
    """An era's int8 features, targets and best prediction from its latent features x (n,
    f), the main target's noise (n,) and each auxiliary target's own (``aux_noise(k)``)."""
    n = len(x)
    ranks = np.argsort(np.argsort(x, axis=0, kind="stable"), axis=0, kind="stable")
    feats = (ranks * 5 // n).astype(np.int8)
    z = (feats.astype(np.float64) - 2.0) / np.sqrt(2.0)
    edge = np.where(w.step_top, z[:, w.steps] > 1, z[:, w.steps] < -1).astype(np.float64)
    parts = {
        "linear": _unit(z @ w.w_linear),
        "pairs": _unit((z[:, w.pairs[:, 0]] * z[:, w.pairs[:, 1]]) @ w.w_pairs),
        "ushape": _unit((z[:, w.ushape] ** 2 - 1) @ w.w_ushape),
        "steps": _unit(edge @ w.w_steps),
        "regime": _unit(w.regime_sign[era] * (z @ w.w_regime)),
        "drift": _unit(z @ w.drift[era]),
    }
    s = _mix(parts, fam.shares, tuple(fam.shares))
    best = _mix(parts, fam.shares, STATIONARY)
    targets = {layout.MAIN_TARGET: bin_target(fam.rho * s + np.sqrt(1 - fam.rho**2) * noise)}
    for k, aux in enumerate(fam.aux):
        own = _unit(z @ w.own[k]) if w.own[k].any() else rng.normal(size=n)
        sig = aux.quality * s + np.sqrt(1 - aux.quality**2) * own
        eps = aux.common * noise + np.sqrt(1 - aux.common**2) * aux_noise(k)
        targets[aux.name] = bin_target(aux.rho * sig + np.sqrt(1 - aux.rho**2) * eps)
    return feats, targets, best


@dataclass(frozen=True)
class Generated:
    """A family's files written to ``folder``; ``best`` is the best achievable prediction
    of every validation row (in file order)."""

    folder: Path
    best: np.ndarray


def write_family(fam: Family, folder: Path) -> Generated:
    """Write train.parquet, validation.parquet and features.json of ``fam`` into ``folder``."""
    rng = np.random.default_rng(fam.seed)
    w = _world(fam, rng)
    n_eras = fam.train_eras + fam.validation_eras
    if fam.persist or fam.horizon > 1:
        sizes = np.full(n_eras, fam.rows_per_era)
        blocks = _persistent_eras(fam, w, rng)
    else:
        sizes = rng.integers(int(fam.rows_per_era * 0.9), int(fam.rows_per_era * 1.1) + 1, n_eras)
        blocks = [_era(fam, w, e, int(n), rng) for e, n in enumerate(sizes)]
    eras = np.repeat([f"{e + 1:04d}" for e in range(n_eras)], sizes)
    ids = np.array([f"n{i:012x}" for i in rng.permutation(len(eras))], dtype=object)
    frame = pd.DataFrame(
        np.concatenate([b[0] for b in blocks]), columns=w.names, index=pd.Index(ids, name=layout.ID)
    )
    frame.insert(0, layout.ERA, eras)
    frame.insert(1, layout.DATA_TYPE, "train")
    for t in fam.targets:
        frame[t] = np.concatenate([b[1][t] for b in blocks]).astype(np.float32)
    n_train = int(sizes[: fam.train_eras].sum())
    frame.iloc[n_train:, 1] = "validation"
    folder.mkdir(parents=True, exist_ok=True)
    frame.iloc[:n_train].to_parquet(folder / layout.TRAIN)
    frame.iloc[n_train:].to_parquet(folder / layout.VALIDATION)
    meta = {"feature_sets": {"all": w.names}, "targets": fam.targets}
    (folder / layout.FEATURES_JSON).write_text(json.dumps(meta), encoding="utf-8")
    best = np.concatenate([b[2] for b in blocks[fam.train_eras :]])
    return Generated(folder, best)
