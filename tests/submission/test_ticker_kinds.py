"""A Signals file in a ticker kind Numerai accepts but the live universe does not carry
(``bloomberg_ticker``, ``sedol``, ``ticker``): the refusal says what to write instead."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numerai_tools import submissions as nt

from numerpilot.data.tournaments import LAYOUTS, read_universe_file
from numerpilot.errors import SubmissionError
from numerpilot.submission.rules import check_frame

UNIVERSE = pd.DataFrame(
    {
        "numerai_ticker": [f"T{i:04d} US" for i in range(150)],
        "composite_figi": [f"BBG{i:04d}FIGI" for i in range(150)],
    }
)
VALUES = np.linspace(0.1, 0.9, 150)


def test_every_kind_numerai_accepts_is_accepted_by_the_headers() -> None:
    """numerpilot's Signals id kinds are numerai-tools' (Numerai's): ticker, sedol,
    bloomberg_ticker, composite_figi, numerai_ticker; Crypto's: symbol."""
    assert set(LAYOUTS["signals"].id_columns) == {
        "ticker", "sedol", "bloomberg_ticker", "composite_figi", "numerai_ticker"
    }  # fmt: skip
    assert set(LAYOUTS["signals"].id_columns) == set(nt.SIGNALS_ALLOWED_ID_COLS)
    assert LAYOUTS["crypto"].id_columns == ("symbol",)


def test_bloomberg_tickers_that_are_numerai_tickers_are_told_to_rename_the_column() -> None:
    frame = pd.DataFrame({"bloomberg_ticker": UNIVERSE.numerai_ticker, "signal": VALUES})
    with pytest.raises(SubmissionError) as caught:
        check_frame(frame, "signals", UNIVERSE)
    message = str(caught.value)
    assert "150 of the file's 150 ids are live numerai_ticker ids" in message, message
    assert "e.g. 'T0000 US'" in message and "name the column 'numerai_ticker'" in message


def test_a_kind_the_universe_lacks_says_how_to_map_the_ids() -> None:
    frame = pd.DataFrame({"sedol": [f"{i:07d}" for i in range(150)], "signal": VALUES})
    with pytest.raises(SubmissionError) as caught:
        check_frame(frame, "signals", UNIVERSE)
    message = str(caught.value)
    assert "has no 'sedol' ids (it has: numerai_ticker, composite_figi)" in message
    assert "Numerai accepts 'sedol' files" in message and "map your ids" in message
    assert "numerai_ticker like 'T0000 US'" in message and "composite_figi like" in message


def test_the_mapping_examples_are_real_ids(tmp_path: Path) -> None:
    """A universe file whose first rows lack an id of a kind (the example was 'nan' or
    'None'): the example is the first real one; with no ids at all, no empty parenthesis."""
    path = tmp_path / "live_universe.parquet"
    pd.DataFrame(
        {
            "numerai_ticker": [None, *UNIVERSE.numerai_ticker[1:]],
            "composite_figi": [np.nan, np.nan, *UNIVERSE.composite_figi[2:]],
        }
    ).to_parquet(path)
    universe = read_universe_file(path, "signals")
    frame = pd.DataFrame({"sedol": [f"{i:07d}" for i in range(150)], "signal": VALUES})
    with pytest.raises(SubmissionError) as caught:
        check_frame(frame, "signals", universe)
    message = str(caught.value)
    assert "(numerai_ticker like 'T0001 US', composite_figi like 'BBG0002FIGI'; " in message
    with pytest.raises(SubmissionError) as caught:
        check_frame(frame, "signals", universe.iloc[:0])
    message = str(caught.value)
    assert "map your ids to one of those kinds and use it as the id column" in message, message
