"""A sweep of the command line's options and arguments: empty values, devices, values out
of range, and times without a zone, as a user gets them wrong."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import Numerpilot
from tests.support.catalogue import Refused

EMPTY = 'an empty value ("") names nothing'


@pytest.mark.bad_input(
    "demo-data", 'an empty DIR (`demo-data ""`: it wrote into the current folder)'
)
def test_demo_data_into_an_empty_dir(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    refused(numerpilot("demo-data", ""), 2, "'DIRECTORY'", EMPTY)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.bad_input("numerpilot", 'an empty `-C` (`train -C ""`: it used the current folder)')
def test_empty_workdir(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    refused(numerpilot("train", "-C", ""), 2, "'-C'", EMPTY, "numerpilot train --help")
    assert list(tmp_path.iterdir()) == []  # no models.lock in the current folder


@pytest.mark.bad_input("submit", 'an empty model name (`-m ""`)')
def test_submit_an_empty_model_name(numerpilot: Numerpilot, refused: Refused) -> None:
    refused(numerpilot("submit", "--dry-run", "-m", "sandbox_model", "-m", ""), 2, "'--model'",
            EMPTY)  # fmt: skip


@pytest.mark.bad_input("upload-model", "an empty `--pickle` (it was a traceback)")
def test_upload_an_empty_pickle(numerpilot: Numerpilot, refused: Refused) -> None:
    refused(numerpilot("upload-model", "--model", "m", "--pickle", ""), 2, "'--pickle'", EMPTY)


@pytest.mark.timeout(60)  # before: it served, in the current folder or on every interface
@pytest.mark.bad_input(
    "sandbox serve", 'an empty `--data` or `--host` (the dataset in the current folder; every '
    "interface)"
)  # fmt: skip
@pytest.mark.parametrize("option", ["--data", "--host"])
def test_serve_empty_values(
    numerpilot: Numerpilot,
    refused: Refused,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    option: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    refused(numerpilot("sandbox", "serve", "--port", "0", option, ""), 2, f"'{option}'", EMPTY)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.bad_input("numerpilot", "`-C` to a device (`-C /dev/null`)")
def test_workdir_is_a_device(numerpilot: Numerpilot, refused: Refused) -> None:
    refused(numerpilot("validate", "-C", os.devnull), 2, "is not a folder",
            "-C takes the work directory")  # fmt: skip


@pytest.mark.bad_input(
    "upload-model", "`--pickle /dev/null` (it was called a pickle of demo models, after "
    "asking Numerai)"
)  # fmt: skip
def test_upload_a_device_as_the_pickle(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    refused(numerpilot("upload-model", "--model", "m", "--pickle", os.devnull, "-C",
                       str(tmp_path)), 1, "the pickle /dev/null is not a regular file")  # fmt: skip


@pytest.mark.bad_input("score", "a device as PRED (`score /dev/null`: it 'did not exist')")
def test_score_a_device(numerpilot: Numerpilot, refused: Refused, tmp_path: Path) -> None:
    (tmp_path / "v.parquet").write_bytes(b"x")
    line = refused(numerpilot("score", os.devnull, "--data", str(tmp_path / "v.parquet")), 1,
                   "PRED: /dev/null is not a regular file")  # fmt: skip
    assert "does not exist" not in line


@pytest.mark.bad_input(
    "score", "`--json` onto a file that is no score report (the dataset's features.json)"
)
def test_score_json_onto_another_file(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    data = tmp_path / "v.parquet"
    data.write_bytes(b"x")
    (tmp_path / "p.csv").write_text("id,prediction\n")
    features = tmp_path / "features.json"
    features.write_text('{"feature_sets": {"small": ["feature_a"]}}')
    before = features.read_text()
    refused(numerpilot("score", str(tmp_path / "p.csv"), "--data", str(data), "--json",
                       str(features)), 2, "which is not a report of 'numerpilot score --json'",
            "it is kept")  # fmt: skip
    assert features.read_text() == before


@pytest.mark.bad_input("sandbox serve", "a negative latency (`--latency -1`)")
def test_serve_negative_latency(numerpilot: Numerpilot, refused: Refused, tmp_path: Path) -> None:
    """It said 'latency must be >= 0', naming no option."""
    outcome = numerpilot("sandbox", "serve", "--port", "0", "--data", str(tmp_path / "s"),
                         "--latency", "-1")  # fmt: skip
    refused(outcome, 2, "--latency must be 0 or more", "not -1")
    assert not (tmp_path / "s").exists()


@pytest.mark.bad_input(
    "sandbox serve", "a clock start with an impossible offset (`--start ...+99:00`)"
)
def test_serve_start_with_a_bad_offset(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    """It printed Python's 'offset must be a timedelta strictly between ...'."""
    outcome = numerpilot("sandbox", "serve", "--port", "0", "--data", str(tmp_path / "s"),
                         "--start", "2025-01-07T12:00+99:00")  # fmt: skip
    line = refused(outcome, 2, "is not a date and time", "ISO 8601", "2024-01-02T12:00")
    assert "timedelta" not in line


@pytest.fixture
def west_of_utc() -> Iterator[None]:
    """This machine's time zone five hours behind UTC (no tz database needed)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "XYZ+5"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.mark.timeout(60)  # before: it served, from a start read in this machine's zone
@pytest.mark.bad_input(
    "sandbox serve", "a clock start without a zone before the first round in UTC (read in the "
    "machine's zone, it was after)"
)  # fmt: skip
@pytest.mark.usefixtures("west_of_utc")
def test_serve_start_is_utc(numerpilot: Numerpilot, refused: Refused, tmp_path: Path) -> None:
    """--start 2024-01-02T10:00 is 10:00 UTC (README, --help), two hours before the first
    round; read as local time 5 hours behind UTC it was 15:00 UTC and served."""
    outcome = numerpilot("sandbox", "serve", "--port", "0", "--data", str(tmp_path / "s"),
                         "--start", "2024-01-02T10:00")  # fmt: skip
    refused(outcome, 2, "--start 2024-01-02T10:00 is before the sandbox's first round")
    assert not (tmp_path / "s").exists()


@pytest.mark.bad_input(
    "sandbox serve", "a `--host` it cannot listen on (one line: no warning before it)"
)
def test_serve_host_it_cannot_listen_on(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    """The warning 'reachable from other machines' came first: two lines for one failure."""
    outcome = numerpilot(
        "sandbox", "serve", "--port", "0", "--data", str(tmp_path / "s"), "--host", "192.0.2.1"
    )  # TEST-NET-1: no machine's own address
    refused(outcome, 1, "cannot listen on 192.0.2.1", "--host 127.0.0.1")
    assert not (tmp_path / "s").exists()
