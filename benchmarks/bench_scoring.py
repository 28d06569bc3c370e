"""numerpilot.scoring against numerai-tools applied era by era (pandas groupby).

Default: 600 eras x 5,000 rows x 8 prediction columns, FNC against 700 int8 features.
numerai-tools' FNC (an SVD per era) is timed on --ref-eras eras and scaled to all eras;
everything else is timed in full. numerpilot's time is the best of a few runs (they are
short, so other load on the machine would dominate a single run). Peak memory of numerpilot
is measured with tracemalloc (numpy reports its buffers to it) and compared with the bytes
of the input arrays.

    python benchmarks/bench_scoring.py            # full size (a few minutes on 2 cores)
    python benchmarks/bench_scoring.py --quick    # seconds
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from numerai_tools import scoring as nt
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from numerpilot.kernel.eras import EraIndex
from numerpilot.scoring import PerEra, feature_scores, per_era_corr_mmc, score_frame


@dataclass(frozen=True)
class Data:
    ids: np.ndarray
    eras: np.ndarray
    preds: np.ndarray
    target: np.ndarray
    meta: np.ndarray
    features: np.ndarray


def make_data(n_eras: int, rows: int, cols: int, n_features: int, seed: int = 0) -> Data:
    rng = np.random.default_rng(seed)
    n = n_eras * rows
    eras = np.repeat([f"{e + 1:04d}" for e in range(n_eras)], rows)
    features = rng.integers(0, 5, size=(n, n_features), dtype=np.int8)
    signal = features[:, :10].sum(axis=1, dtype=np.float64) + rng.normal(scale=8, size=n)
    target = (
        np.digitize(
            signal + rng.normal(scale=4, size=n), np.quantile(signal, [0.05, 0.25, 0.75, 0.95])
        )
        / 4
    )
    preds = signal[:, None] + rng.normal(scale=3, size=(n, cols))
    meta = signal + rng.normal(scale=3, size=n)
    ids = np.array([f"n{i:09x}" for i in rng.permutation(n)])
    return Data(ids, eras, preds, target.astype(np.float64), meta, features)


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """(best wall time of ``repeat`` runs, result): the minimum filters out other load."""
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def peak_memory(fn: Callable[[], Any]) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def reference_corr_mmc(
    d: Data, eras: np.ndarray | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    cols = [f"p{j}" for j in range(d.preds.shape[1])]
    frame = pd.DataFrame(d.preds, index=pd.Index(d.ids, name="id"), columns=cols)
    frame["era"], frame["target"], frame["meta"] = d.eras, d.target, d.meta
    if eras is not None:
        frame = frame[frame["era"].isin(eras)]
    groups = frame.groupby("era")
    corr = groups.apply(lambda g: nt.numerai_corr(g[cols], g["target"]))
    mmc = groups.apply(lambda g: nt.correlation_contribution(g[cols], g["meta"], g["target"]))
    return corr, mmc


def reference_fnc(d: Data, eras: np.ndarray) -> pd.DataFrame:
    cols = [f"p{j}" for j in range(d.preds.shape[1])]
    rows = np.isin(d.eras, eras)
    index = pd.Index(d.ids[rows], name="id")
    frame = pd.DataFrame(d.preds[rows], index=index, columns=cols)
    frame["era"], frame["target"] = d.eras[rows], d.target[rows]
    feats = pd.DataFrame(d.features[rows], index=index)
    out = {}
    for era, g in frame.groupby("era"):
        g = g.sort_index()
        out[era] = nt.feature_neutral_corr(g[cols], feats.loc[g.index], g["target"])
    return pd.DataFrame(out).T


def era_index_saving(d: Data) -> None:
    """What grouping rows by era once saves: an :class:`EraIndex` built when data is loaded
    is reused by every metric of ``score_frame`` (CORR, MMC, meta Spearman, BMC, FNC), each
    of which used to regroup the era labels itself."""
    order = np.random.default_rng(1).permutation(len(d.eras))
    for name, rows in (("sorted by era", np.arange(len(d.eras))), ("shuffled rows", order)):
        eras = d.eras[rows]
        group_t, index = timed(lambda eras=eras: EraIndex.from_eras(eras), repeat=3)
        score = partial(
            score_frame, d.preds[rows], d.target[rows], index,
            meta_model=d.meta[rows], benchmark=d.meta[rows][::-1].copy(),
        )  # fmt: skip
        with_index, _ = timed(score, repeat=2)
        print(f"EraIndex, {name}: grouping the rows by era takes {group_t:5.2f} s, paid once "
              f"(before: once per metric, 4 times for CORR+MMC+BMC, 6 with FNC); score_frame "
              f"on the index {with_index:5.2f} s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, seconds")
    parser.add_argument("--eras", type=int, default=600)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--cols", type=int, default=8)
    parser.add_argument("--features", type=int, default=700)
    parser.add_argument("--ref-eras", type=int, default=20, help="eras timed for reference FNC")
    args = parser.parse_args()
    if args.quick:
        args.eras, args.rows, args.features, args.ref_eras = 60, 2000, 200, 10
    print(f"data: {args.eras} eras x {args.rows} rows x {args.cols} prediction columns, "
          f"{args.features} int8 features")  # fmt: skip
    d = make_data(args.eras, args.rows, args.cols, args.features)

    def ours() -> tuple[PerEra, PerEra]:
        return per_era_corr_mmc(d.preds, d.meta, d.target, d.eras)

    input_bytes = d.preds.nbytes + d.target.nbytes + d.meta.nbytes + d.eras.nbytes
    peak = peak_memory(ours)  # also warms up
    ours_t, (corr, mmc) = timed(ours, repeat=3)
    ref_t, (rcorr, rmmc) = timed(lambda: reference_corr_mmc(d))
    diff = max(
        float(np.abs(rcorr.to_numpy() - corr.values).max()),
        float(np.abs(rmmc.to_numpy() - mmc.values).max()),
    )
    print(f"CORR+MMC  numerpilot {ours_t:8.2f} s   numerai-tools {ref_t:8.2f} s   "
          f"ratio {ref_t / ours_t:6.1f}x   max |diff| {diff:.1e}   "
          f"peak memory {peak / input_bytes:.2f}x inputs ({peak / 2**20:.0f} MiB)")  # fmt: skip

    era_index_saving(d)

    peak_f = peak_memory(lambda: feature_scores(d.preds, d.features, d.target, d.eras))
    ours_f, fs = timed(lambda: feature_scores(d.preds, d.features, d.target, d.eras))
    sample = np.unique(d.eras)[: args.ref_eras]
    # numerai-tools' lstsq with the default multi-threaded BLAS and with one BLAS thread:
    # the faster of the two is the reference (a threaded BLAS thrashes on shared cores)
    ref_sample_t, rfnc = timed(lambda: reference_fnc(d, sample))
    with threadpool_limits(limits=1, user_api="blas"):
        ref_sample_t = min(ref_sample_t, timed(lambda: reference_fnc(d, sample))[0])
    ref_f = ref_sample_t * args.eras / len(sample)
    fdiff = float(np.abs(rfnc.to_numpy() - fs.fnc.values[: len(sample)]).max())
    input_f = input_bytes - d.meta.nbytes + d.features.nbytes
    print(f"FNC+exposure numerpilot {ours_f:8.2f} s   numerai-tools {ref_f:8.2f} s "
          f"(best BLAS setting, {len(sample)} eras, scaled)   ratio {ref_f / ours_f:6.1f}x   "
          f"max |diff| {fdiff:.1e}   peak memory {peak_f / input_f:.2f}x inputs "
          f"({peak_f / 2**20:.0f} MiB)")  # fmt: skip


if __name__ == "__main__":
    main()
