"""Signals and Crypto checks decide exactly as numerai-tools; churn/turnover equal it."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numerai_tools import scoring as nts
from numerai_tools import signals as nt_signals
from numerai_tools import submissions as nt

from numerpilot.errors import DataError, SubmissionError
from numerpilot.submission.rules import check_file, check_frame, read_submission
from numerpilot.submission.rules.churn import Previous, max_churn_and_turnover

SETTINGS = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


def _universe(n: int, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: [f"{c[:2]}{i:04d}" for i in range(n)] for c in columns})


@st.composite
def cases(draw: st.DrawFn, tournament: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A live universe and a submission near the rules' edges: 90..130 ids taken, some
    outside the universe, duplicates, NaN ids or values, values off [0, 1], odd headers."""
    if tournament == "signals":
        id_cols, pred_cols = nt.SIGNALS_ALLOWED_ID_COLS, nt.SIGNALS_ALLOWED_PRED_COLS
    else:
        id_cols, pred_cols = nt.CRYPTO_ALLOWED_ID_COLS, nt.CRYPTO_ALLOWED_PRED_COLS
    universe = _universe(draw(st.integers(100, 140)), list(id_cols))
    clean = draw(st.booleans())  # valid headers and values: only the ids decide
    wrong_id = ["id", "ticker"] if tournament == "crypto" else ["id", "symbol"]
    id_col = draw(st.sampled_from(list(id_cols) if clean else [*id_cols, *wrong_id]))
    pred_col = draw(st.sampled_from(list(pred_cols) if clean else [*pred_cols, "probability"]))
    source = universe[id_col] if id_col in universe else universe[universe.columns[0]]
    taken = draw(st.integers(95, len(universe)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ids = list(rng.permutation(source.to_numpy())[:taken])
    ids += [f"ZZ{i}" for i in range(draw(st.integers(0, 5)))]  # outside the universe
    ids += list(rng.choice(ids, draw(st.sampled_from([0, 0, 0, 1, 3]))))  # duplicates
    values = rng.uniform(0.0, 1.0, len(ids))
    if not clean and draw(st.booleans()):
        values[rng.integers(0, len(ids))] = draw(st.sampled_from([np.nan, -0.01, 1.01, 1.0]))
    if not clean and draw(st.integers(0, 4)) == 0:
        values[:] = 0.5
    frame = pd.DataFrame({id_col: pd.Series(ids, dtype=object), pred_col: values})
    if not clean and draw(st.integers(0, 4)) == 0:
        frame.loc[rng.integers(0, len(ids)), id_col] = None
    if tournament == "signals" and draw(st.booleans()):
        frame.insert(draw(st.integers(0, 2)), draw(st.sampled_from(["date", "friday_date"])),
                     "2025-01-07")  # fmt: skip
    return universe, frame


def _accepted_by_numerai_tools(
    tournament: str, universe: pd.DataFrame, frame: pd.DataFrame
) -> bool:
    validate = (
        nt.validate_submission_signals if tournament == "signals" else nt.validate_submission_crypto
    )
    try:
        validate(universe.copy(), frame.copy())
    except (AssertionError, KeyError, TypeError, ValueError):
        return False
    return True


def _accepted_by_numerpilot(tournament: str, universe: pd.DataFrame, frame: pd.DataFrame) -> bool:
    try:
        check_frame(frame.copy(), tournament, universe)
    except SubmissionError:
        return False
    return True


@pytest.mark.parametrize("tournament", ["signals", "crypto"])
def test_checks_accept_and_refuse_exactly_what_numerai_tools_does(tournament: str) -> None:
    seen = set()

    @SETTINGS
    @given(cases(tournament))
    def run(case: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        universe, frame = case
        expected = _accepted_by_numerai_tools(tournament, universe, frame)
        assert _accepted_by_numerpilot(tournament, universe, frame) == expected
        seen.add(expected)

    run()
    assert seen == {True, False}  # both outcomes were exercised


def test_refusals_say_what_is_wrong() -> None:
    universe = _universe(150, ["numerai_ticker", "composite_figi"])
    frame = pd.DataFrame({"numerai_ticker": universe.numerai_ticker[:99], "signal": 0.3})
    frame["signal"] = np.linspace(0.1, 0.9, 99)
    with pytest.raises(SubmissionError, match=r"99 distinct of the 150 live ids \(at least 100"):
        check_frame(frame, "signals", universe)
    with pytest.raises(SubmissionError, match="has no 'sedol' ids"):
        check_frame(frame.rename(columns={"numerai_ticker": "sedol"}), "signals", universe)
    crypto = _universe(120, ["symbol"])
    with pytest.raises(SubmissionError, match="headers must be one of"):
        check_frame(frame, "crypto", crypto)


def _universe_weights(universe: pd.DataFrame, col: str) -> tuple[pd.DataFrame, pd.Series]:
    index = pd.Index(universe[col], name=col)
    return pd.DataFrame(index=index), pd.Series(1.0 / len(index), index=index)


def _reference(
    current: pd.Series, universe: pd.DataFrame, prev: list[tuple[pd.Series, pd.DataFrame]]
) -> tuple[float, float]:
    """Churn and turnover from numerai-tools' primitives, step by step."""
    col = "numerai_ticker"
    cur_u = universe[[col]]
    cur = nt.clean_submission(cur_u, current.rename("signal").rename_axis(col).reset_index(), col,
                              "signal", rank_and_fill=True)  # fmt: skip
    n, w = _universe_weights(universe, col)
    cur_w = nts.generate_neutralized_weights(cur.to_frame(), n, w, center_and_normalize=True)
    churns, turnovers = [], []
    for series, prev_universe in prev:
        old = nt.clean_submission(prev_universe[[col]],
                                  series.rename("signal").rename_axis(col).reset_index(),
                                  col, "signal", rank_and_fill=True)  # fmt: skip
        pn, pw = _universe_weights(prev_universe, col)
        old_w = nts.generate_neutralized_weights(old.to_frame(), pn, pw, center_and_normalize=True)
        churns.append(abs(nt_signals.churn(cur, old)))
        turnovers.append(abs(nt_signals.turnover(cur_w["signal"], old_w["signal"])))
    return max(churns), max(turnovers)


@settings(SETTINGS, max_examples=25)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.floats(0.0, 3.0))
def test_churn_and_turnover_equal_numerai_tools(seed: int, n_prev: int, noise: float) -> None:
    rng = np.random.default_rng(seed)
    pool = np.array([f"T{i:04d}" for i in range(170)])
    base = rng.standard_normal(len(pool))
    universes = [pd.DataFrame({"numerai_ticker": pool[rng.random(len(pool)) > 0.05]})
                 for _ in range(n_prev + 1)]  # fmt: skip

    def signal(universe: pd.DataFrame) -> pd.Series:
        take = universe.numerai_ticker.to_numpy()[rng.random(len(universe)) > 0.03]
        raw = base[[int(t[1:]) for t in take]] + noise * rng.standard_normal(len(take))
        return pd.Series(pd.Series(raw).rank(pct=True).to_numpy() * 0.98, index=take)

    current = signal(universes[0])
    prev = [(signal(u), u) for u in universes[1:]]
    frame = pd.DataFrame({"numerai_ticker": current.index, "signal": current.to_numpy()})
    previous = [
        Previous(f"p{k}", pd.DataFrame({"numerai_ticker": s.index, "signal": s.to_numpy()}), u)
        for k, (s, u) in enumerate(prev)
    ]
    figures = max_churn_and_turnover(frame, universes[0], previous)
    churn, turnover = _reference(current, universes[0], prev)
    assert figures.churn == pytest.approx(churn, abs=1e-9)
    assert figures.turnover == pytest.approx(turnover, abs=1e-9)
    assert figures.compared == n_prev


def test_no_previous_submission_gives_no_figures() -> None:
    universe = _universe(120, ["numerai_ticker"])
    frame = pd.DataFrame({"numerai_ticker": universe.numerai_ticker,
                          "signal": np.linspace(0.01, 0.99, 120)})  # fmt: skip
    figures = max_churn_and_turnover(frame, universe, [])
    assert (figures.churn, figures.turnover, figures.breaches(0.15, 0.25)) == (None, None, [])
    same = max_churn_and_turnover(frame, universe, [Previous("p", frame, universe)])
    assert same.churn == pytest.approx(0.0, abs=1e-12) and same.turnover == pytest.approx(0.0)
    flipped = frame.assign(signal=frame.signal[::-1].to_numpy())
    far = max_churn_and_turnover(flipped, universe, [Previous("p", frame, universe)])
    assert far.churn == pytest.approx(2.0) and far.breaches(0.15, 0.25)


# -- submission files made by hand ------------------------------------------------------


def _classic(tmp_path: Path, ids: list[str]) -> Path:
    path = tmp_path / "p.csv"
    pd.DataFrame({"id": ids, "prediction": np.linspace(0.1, 0.9, len(ids))}).to_csv(
        path, index=False
    )
    return path


def test_csv_ids_that_look_like_numbers_stay_text(tmp_path: Path) -> None:
    """Ids "000123" are checked as written, so they match the live ids "000123"."""
    ids = [f"{i:06d}" for i in range(120)]
    check_file(_classic(tmp_path, ids), "classic", pd.Series(ids))
    path = tmp_path / "s.csv"  # a Signals SEDOL "0263494" is not the number 263494
    sedols = [f"{i:07d}" for i in range(120)]
    pd.DataFrame({"sedol": sedols, "signal": np.linspace(0.1, 0.9, 120)}).to_csv(path, index=False)
    assert read_submission(path)["sedol"].tolist() == sedols
    check_file(path, "signals", pd.DataFrame({"sedol": sedols}))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_file_without_rows_says_so(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"p{suffix}"
    frame = pd.DataFrame({"id": pd.Series([], dtype=str), "prediction": pd.Series([], dtype=float)})
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path, index=False)
    with pytest.raises(DataError, match=rf"^p{suffix} has no rows; a submission needs one row"):
        check_file(path, "classic", pd.Series(["a", "b"]))
    path.write_bytes(b"")
    with pytest.raises(DataError, match=rf"^p{suffix} is empty \(0 bytes\)"):
        read_submission(path)


@pytest.mark.parametrize("name", ["p.csv", "p.parquet", "p.csv.gz"])
def test_a_gzip_file_is_named_compressed_whatever_its_name(tmp_path: Path, name: str) -> None:
    plain = _classic(tmp_path, ["a", "b"])
    (tmp_path / name).write_bytes(gzip.compress(plain.read_bytes()))
    kind = ".gz" if name.endswith(".gz") else "gzip"
    with pytest.raises(DataError, match=rf"is compressed \({kind}\); .* decompress it"):
        check_file(tmp_path / name, "classic", pd.Series(["a", "b"]))


def test_numerai_tools_messages_end_with_one_full_stop(tmp_path: Path) -> None:
    """numerai-tools ends some messages with '.' or '?': no '..' or '?.' after them."""
    ids = [f"n{i:04d}" for i in range(120)]
    path = _classic(tmp_path, [*ids, ids[0]])
    with pytest.raises(SubmissionError) as error:
        check_file(path, "classic", pd.Series(ids))
    assert str(error.value).endswith("Duplicates detected in id for live period. Re-create it "
                                     "with 'numerpilot predict'.")  # fmt: skip
    with pytest.raises(SubmissionError) as error:
        check_file(_classic(tmp_path, ids[:50]), "classic", pd.Series(ids))
    assert "live universe? Re-create it" in str(error.value)


@pytest.mark.parametrize(
    ("odd", "said"),
    [
        (lambda t: t.lower(), "5 tickers are not in this round's live universe: Numerai ignores "
                              "them; 5 of them only differ from live ids in case or spaces, e.g. "
                              "'nu0110' for 'NU0110'"),
        (lambda t: f"{t} ", "5 of them only differ from live ids in case or spaces, e.g. "
                            "'NU0110 ' for 'NU0110'"),
        (lambda t: f"{t}.X", "5 tickers are not in this round's live universe: Numerai ignores "
                             "them, e.g. 'NU0110.X' (live ids look like 'NU0000')"),
    ],
)  # fmt: skip
def test_ids_outside_the_universe_are_shown_next_to_live_ones(
    caplog: pytest.LogCaptureFixture, odd: Callable[[str], str], said: str
) -> None:
    """A valid file with a few ids Numerai will ignore: the warning shows what they look like,
    spaces and all, and which live ids they nearly are."""
    universe = _universe(120, ["numerai_ticker"])
    universe["numerai_ticker"] = universe.numerai_ticker.str.upper()
    ids = [*universe.numerai_ticker[:110], *map(odd, universe.numerai_ticker[110:115])]
    frame = pd.DataFrame({"numerai_ticker": ids, "signal": np.linspace(0.1, 0.9, len(ids))})
    with caplog.at_level("WARNING"):
        check_frame(frame, "signals", universe)
    assert said in caplog.text
