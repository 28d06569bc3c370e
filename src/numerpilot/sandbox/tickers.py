"""The sandbox's Signals and Crypto data: synthetic tickers/symbols in Numerai's layout.

Signals (``signals/v2.1/``): ``train.parquet`` and ``validation.parquet`` (one row per
ticker and date: ``numerai_ticker``, ``composite_figi``, ``date``, ``era``, ``data_type``,
int8 ``feature_*`` 0..4, ``target`` binned 0/.25/.5/.75/1) and per round ``live.parquet``
(the round's live universe with its features). Crypto (``crypto/v2.0/``): ``train.parquet``
(``symbol``, ``date``, ``era``, ``target``: no features, Crypto participants bring their
own) and per round ``live_universe.parquet`` (``symbol``).

Every ticker has a latent quality (fixed, plus a wobble per date) that drives both its
features and its target, so a model trained on the history has an edge on a round's live
universe. The universe changes a little every round: each ticker leaves it for two
rounds out of fifty, at its own phase. A round's hidden targets and meta model are kept
beside its live file.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from numerpilot.io import atomic_path

SIGNALS_VERSION = "v2.1"
CRYPTO_VERSION = "v2.0"
TRAIN, VALIDATION = "train.parquet", "validation.parquet"
SIGNALS_LIVE, CRYPTO_LIVE = "live.parquet", "live_universe.parquet"
HIDDEN = "hidden.parquet"
#: Rounds out of ``_CYCLE`` during which a ticker is outside the live universe.
_CYCLE, _ABSENT = 50, 2
_BINS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
_BIN_EDGES = np.array([0.05, 0.25, 0.75, 0.95])
#: Dates over which a ticker's wobble turns into a new one: it moves a little from week to
#: week, so a model's ranking churns under Numerai's 15 % limit against its last five
#: submissions, as a steady signal's does on Numerai (a fresh wobble every date: ~30 %).
_TURNOVER_DATES = 20


@dataclass(frozen=True)
class TickerSpec:
    """One tournament's synthetic world: which ids, how much history, how many features."""

    tournament: str
    version: str
    id_column: str
    live_file: str
    n_tickers: int
    train_dates: int
    validation_dates: int
    n_features: int
    seed: int

    @property
    def prefix(self) -> str:
        return f"{self.tournament}/{self.version}"

    @property
    def files(self) -> tuple[str, ...]:
        history = (TRAIN, VALIDATION) if self.validation_dates else (TRAIN,)
        return (*history, self.live_file)

    def listing(self) -> list[str]:
        """The file names ``listDatasets`` returns (``signals/v2.1/train.parquet``, ...)."""
        return [f"{self.prefix}/{name}" for name in self.files]


SIGNALS = TickerSpec(
    "signals", SIGNALS_VERSION, "numerai_ticker", SIGNALS_LIVE, 320, 60, 20, 24, 11
)
CRYPTO = TickerSpec("crypto", CRYPTO_VERSION, "symbol", CRYPTO_LIVE, 220, 60, 0, 0, 12)
SPECS = {"signals": SIGNALS, "crypto": CRYPTO}


@dataclass(frozen=True)
class TickerTruth:
    """A round's live universe (ids), hidden target and hidden meta model."""

    ids: np.ndarray
    target: np.ndarray
    meta_model: np.ndarray


def ticker_names(spec: TickerSpec) -> np.ndarray:
    """Deterministic ids: ``T0007 US`` style tickers, ``C0007`` style symbols."""
    if spec.tournament == "crypto":
        return np.array([f"C{i:04d}" for i in range(spec.n_tickers)])
    return np.array([f"T{i:04d} US" for i in range(spec.n_tickers)])


def in_universe(spec: TickerSpec, round_number: int) -> np.ndarray:
    """Mask (n_tickers,) of the tickers in round ``round_number``'s live universe."""
    phase = np.random.default_rng(spec.seed).integers(0, _CYCLE, spec.n_tickers)
    return (round_number + phase) % _CYCLE >= _ABSENT


def _wobble(key: list[int], step: int, shape: tuple[int, int]) -> np.ndarray:
    """Standard normal values at date ``step`` that glide from one independent draw to the
    next over :data:`_TURNOVER_DATES` dates (unit variance at every date)."""
    anchor, offset = divmod(step, _TURNOVER_DATES)
    angle = offset / _TURNOVER_DATES * math.pi / 2
    now = np.random.default_rng([*key, anchor]).standard_normal(shape)
    then = np.random.default_rng([*key, anchor + 1]).standard_normal(shape)
    return math.cos(angle) * now + math.sin(angle) * then


def _latent(spec: TickerSpec, step: int) -> np.ndarray:
    """Latent quality (n_tickers, 3) at date ``step``: fixed per ticker plus a wobble."""
    rng = np.random.default_rng(spec.seed)
    base = rng.standard_normal((spec.n_tickers, 3))
    return base + 0.3 * _wobble([spec.seed], step, (spec.n_tickers, 3))


def _binned(values: np.ndarray) -> np.ndarray:
    """Per-date ranks binned 0/.25/.5/.75/1 at 5/20/50/20/5 %."""
    ranks = (pd.Series(values).rank(method="first").to_numpy() - 0.5) / len(values)
    return _BINS[np.searchsorted(_BIN_EDGES, ranks)]


def _noise(spec: TickerSpec, step: int) -> np.ndarray:
    """Feature noise (n_tickers, n_features) at date ``step``: mostly a lasting part per
    ticker, as real features persist from week to week (so a model's ranking churns a
    little between rounds, as on Numerai, not all over again)."""
    shape = (spec.n_tickers, spec.n_features)
    lasting = np.random.default_rng([spec.seed, 2]).standard_normal(shape)
    return 0.98 * lasting + 0.2 * _wobble([spec.seed, 2], step, shape)


def _features(spec: TickerSpec, latent: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """int8 quintile features (n, n_features): noisy views of the latent factors."""
    n = len(latent)
    out = np.empty((n, spec.n_features), dtype=np.int8)
    for j in range(spec.n_features):
        raw = latent[:, j % 3] * (1.0 if j % 2 else -1.0) + noise[:, j] * (1 + j % 4)
        ranks = (pd.Series(raw).rank(method="first").to_numpy() - 0.5) / n
        out[:, j] = np.minimum((ranks * 5).astype(np.int8), 4)
    return out


def _date(step: int) -> pd.Timestamp:
    return pd.Timestamp("2020-01-03") + pd.Timedelta(weeks=step)


def _rows(spec: TickerSpec, step: int, mask: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows of one date: ids, features; and the target (binned) and meta model."""
    rng = np.random.default_rng([spec.seed, step, 1])
    latent = _latent(spec, step)[mask]
    names = ticker_names(spec)[mask]
    frame = pd.DataFrame({spec.id_column: names})
    if spec.tournament == "signals":
        frame["composite_figi"] = [f"BBG{n[1:5]}FIGI" for n in names]
    date = _date(step)
    frame["date"] = date.strftime("%Y-%m-%d")
    frame["era"] = date.strftime("%Y%m%d")
    if spec.n_features:
        feats = _features(spec, latent, _noise(spec, step)[mask])
        for j in range(spec.n_features):
            frame[f"feature_{j:03d}"] = feats[:, j]
    signal = latent @ np.array([0.5, -0.3, 0.2])
    target = _binned(signal + rng.standard_normal(len(signal)) * 4.0)
    meta = signal + rng.standard_normal(len(signal)) * 3.0
    return frame, np.column_stack([target, meta])


def _history(spec: TickerSpec, steps: range, data_type: str) -> pd.DataFrame:
    parts = []
    for step in steps:
        frame, hidden = _rows(spec, step, in_universe(spec, step))
        if spec.validation_dates:
            frame["data_type"] = data_type
        frame["target"] = hidden[:, 0]
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


class TickerData:
    """Generates and caches one tournament's files under ``root/<tournament>``."""

    def __init__(self, root: Path, spec: TickerSpec) -> None:
        self.root = Path(root) / spec.tournament
        self.spec = spec
        self._lock = threading.Lock()

    def path(self, name: str, round_number: int) -> Path:
        """The file to serve for ``name`` (the live universe for the given round)."""
        if name == self.spec.live_file:
            return self._round(round_number) / name
        path = self.root / "base" / name
        with self._lock:
            if not path.exists():
                spec = self.spec
                end = spec.train_dates + spec.validation_dates
                steps = range(spec.train_dates) if name == TRAIN else range(spec.train_dates, end)
                frame = _history(spec, steps, "train" if name == TRAIN else "validation")
                path.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(path) as tmp:
                    frame.to_parquet(tmp, index=False)
        return path

    def truth(self, round_number: int) -> TickerTruth:
        hidden = pd.read_parquet(self._round(round_number) / HIDDEN)
        return TickerTruth(
            ids=hidden[self.spec.id_column].to_numpy().astype(str),
            target=hidden["target"].to_numpy(dtype=np.float64),
            meta_model=hidden["meta"].to_numpy(dtype=np.float64),
        )

    def universe(self, round_number: int) -> pd.DataFrame:
        """The round's live universe: its id columns."""
        live = pd.read_parquet(self._round(round_number) / self.spec.live_file)
        return live[[c for c in live.columns if c in (self.spec.id_column, "composite_figi")]]

    def _round(self, number: int) -> Path:
        folder = self.root / "rounds" / str(number)
        with self._lock:
            if not (folder / HIDDEN).exists():
                spec = self.spec
                step = spec.train_dates + spec.validation_dates + 4 + (number % 1000)
                live, hidden = _rows(spec, step, in_universe(spec, number))
                if spec.tournament == "crypto":
                    live = live[[spec.id_column]]
                else:
                    live["data_type"] = "live"
                secret = live[[spec.id_column]].assign(target=hidden[:, 0], meta=hidden[:, 1])
                folder.mkdir(parents=True, exist_ok=True)
                for name, frame in ((spec.live_file, live), (HIDDEN, secret)):
                    with atomic_path(folder / name) as tmp:
                        frame.to_parquet(tmp, index=False)
        return folder
