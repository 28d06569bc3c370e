"""Bad input to download, submit, score, the model-upload commands and the sandbox."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.badinput.conftest import write_config
from tests.conftest import Numerpilot
from tests.pipeline.conftest import FAST_CONFIG
from tests.support.catalogue import Outcome, Refused
from tests.support.fs import disk_full, read_only, snapshot

from numerpilot.api.client import NumeraiClient
from numerpilot.data import layout
from numerpilot.sandbox import DEMO_PUBLIC_ID, DEMO_SECRET_KEY, SandboxServer
from numerpilot.submission.ledger import Ledger


def pin(root: Path) -> None:
    """Pin the data version, so submit finds the live ids without asking Numerai."""
    (root / "numerpilot.toml").write_text(
        FAST_CONFIG.replace("[data]\n", '[data]\nversion = "v5.2"\n')
    )


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> SandboxServer:
    monkeypatch.setenv("NUMERPILOT_API_URL", sandbox.url)
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", DEMO_PUBLIC_ID)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", DEMO_SECRET_KEY)
    return sandbox


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NUMERAI_PUBLIC_ID", raising=False)
    monkeypatch.delenv("NUMERAI_SECRET_KEY", raising=False)
    monkeypatch.setenv("NUMERPILOT_CREDENTIALS", str(tmp_path / "no-credentials.json"))


def _ids(root: Path) -> pd.Index:
    return pd.read_parquet(root / "data" / "v5.2" / layout.LIVE, columns=["era"]).index


def _preds(root: Path, values: object = None, **columns: object) -> Path:
    """A predictions file for the work dir's live ids (``values`` or random ones)."""
    ids = _ids(root)
    if values is None:
        values = np.random.default_rng(0).uniform(0.05, 0.95, len(ids))
    path = root / "preds.csv"
    pd.DataFrame({"id": ids, "prediction": values, **columns}).to_csv(path, index=False)
    return path


def _downloaded(numerpilot: Numerpilot, root: Path) -> Path:
    """The sandbox's newest data downloaded into ``root``, and predictions for its live ids."""
    assert numerpilot("download", "-C", str(root)).code == 0
    live = pd.read_parquet(root / "data" / "v5.3" / layout.LIVE, columns=["era"])
    values = np.random.default_rng(0).uniform(0.1, 0.9, len(live))
    path = root / "preds.csv"
    pd.DataFrame({"id": live.index, "prediction": values}).to_csv(path, index=False)
    return path


def _dry_run(numerpilot: Numerpilot, root: Path, path: Path) -> Outcome:
    pin(root)
    return numerpilot("submit", str(path), "--dry-run", "-C", str(root))


# -- submit: the file -------------------------------------------------------------------


@pytest.mark.bad_input("submit", "no predictions file")
def test_no_predictions_file(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    pin(fresh)
    refused(numerpilot("submit", "--dry-run", "-C", str(fresh)), 1, "does not exist",
            "numerpilot predict")  # fmt: skip


@pytest.mark.bad_input("submit", "a text value in the prediction column")
def test_text_value(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    ids = _ids(fresh)
    values = ["0.5"] * len(ids)
    values[3] = "high"
    refused(_dry_run(numerpilot, fresh, _preds(fresh, values)), 1, "column 'prediction' holds "
            "text", "'high' in data row 4")  # fmt: skip


@pytest.mark.bad_input("submit", "a parquet file with numbers stored as text")
def test_numbers_as_text(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    path = fresh / "preds.parquet"
    frame = pd.read_csv(_preds(fresh))
    frame.assign(prediction=frame["prediction"].astype(str)).to_parquet(path, index=False)
    refused(_dry_run(numerpilot, fresh, path), 1, "numbers stored as text", "store them as numbers")


@pytest.mark.bad_input("submit", "a parquet file named `.csv` (Classic: uploaded as it is)")
def test_parquet_named_csv(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    """It said 'not a readable CSV or parquet file ('utf-8' codec can't decode ...)'."""
    path = fresh / "preds.csv"
    frame = pd.read_csv(_preds(fresh))
    frame.to_parquet(path, index=False)
    refused(_dry_run(numerpilot, fresh, path), 1, "preds.csv is a parquet file, and Numerai "
            "reads a file's format by its name: rename it to preds.parquet")  # fmt: skip


@pytest.mark.bad_input("submit", "true/false values")
def test_bool_values(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    values = [True, False] * (len(_ids(fresh)) // 2) + [True] * (len(_ids(fresh)) % 2)
    refused(_dry_run(numerpilot, fresh, _preds(fresh, values)), 1, "true/false")


@pytest.mark.bad_input("submit", "a CSV that starts with a byte-order mark (BOM)")
def test_bom(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    path = _preds(fresh)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    refused(_dry_run(numerpilot, fresh, path), 1, "byte-order mark", "without BOM")


@pytest.mark.bad_input("submit", "an extra column")
def test_extra_column(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    refused(_dry_run(numerpilot, fresh, _preds(fresh, era=1)), 1, "Classic rules")


@pytest.mark.bad_input("submit", "a Signals file (`numerai_ticker,signal`) for a Classic model")
def test_signals_file(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    ids = [f"T{i:04d} US" for i in range(len(_ids(fresh)))]
    path = fresh / "signal.csv"
    pd.DataFrame({"numerai_ticker": ids, "signal": np.linspace(0.1, 0.9, len(ids))}).to_csv(
        path, index=False
    )
    line = refused(_dry_run(numerpilot, fresh, path), 1, "Classic rules",
                   "this is a Signals file", "[submission] tournament")  # fmt: skip
    assert "numerpilot predict" not in line  # not a file to re-create, a setting to change


@pytest.mark.bad_input("submit", "a compressed file (`.csv.gz`)")
def test_compressed(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    path = fresh / "preds.csv.gz"
    pd.read_csv(_preds(fresh)).to_csv(path, index=False)
    refused(_dry_run(numerpilot, fresh, path), 1, "is compressed (.gz)", "decompress it")


@pytest.mark.bad_input("submit", "a `--file` that does not exist (no 'predict' advice)")
def test_missing_file(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    pin(fresh)
    out = numerpilot("submit", "--file", str(fresh / "nope.csv"), "--dry-run", "-C", str(fresh))
    line = refused(out, 1, "nope.csv does not exist; check the path")
    assert "predict" not in line


@pytest.mark.bad_input("submit", "a missing value (NaN)")
def test_nan(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    values = np.random.default_rng(0).uniform(0.1, 0.9, len(_ids(fresh)))
    values[0] = np.nan
    refused(_dry_run(numerpilot, fresh, _preds(fresh, values)), 1, "NaN")


@pytest.mark.bad_input("submit", "values outside [0, 1]")
def test_out_of_range(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    values = np.linspace(-1, 2, len(_ids(fresh)))
    refused(_dry_run(numerpilot, fresh, _preds(fresh, values)), 1, "between 0 and 1")


@pytest.mark.bad_input("submit", "the same value for every id")
def test_constant(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    refused(_dry_run(numerpilot, fresh, _preds(fresh, 0.5)), 1, "standard deviation")


@pytest.mark.bad_input("submit", "live ids missing")
def test_missing_ids(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    path = _preds(fresh)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-10]) + "\n")
    refused(_dry_run(numerpilot, fresh, path), 1, "Classic rules")


@pytest.mark.bad_input("submit", "a file that is not CSV or parquet")
def test_not_a_table(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    path = fresh / "preds.csv"
    path.write_bytes(bytes(range(256)) * 4)
    refused(_dry_run(numerpilot, fresh, path), 1, "is not a readable CSV or parquet file")


# -- submit: models, keys, the round ----------------------------------------------------


@pytest.mark.bad_input("submit", "no model named in the command or numerpilot.toml")
def test_no_model(
    numerpilot: Numerpilot, refused: Refused, fresh: Path, keys: SandboxServer
) -> None:
    pin(fresh)
    refused(numerpilot("submit", str(_preds(fresh)), "-C", str(fresh)), 2, "--model NAME",
            "[submission] models = [...]")  # fmt: skip


@pytest.mark.bad_input("run", "no model to submit for (checked before the download)")
def test_run_without_models(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, keys: SandboxServer
) -> None:
    write_config(tmp_path, "")
    refused(numerpilot("run", "-C", str(tmp_path)), 2, "--model NAME")
    assert not (tmp_path / "data").exists()


@pytest.mark.bad_input("daemon", "no model to submit for (a config mistake: exit 1)")
def test_daemon_without_models(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, keys: SandboxServer
) -> None:
    """The daemon has no --model option: an empty [submission] models is the config's, not a
    usage error (it exited 2)."""
    write_config(tmp_path, "")
    refused(numerpilot("daemon", "--once", "-C", str(tmp_path)), 1, "[submission] models")
    (tmp_path / "numerpilot.toml").unlink()  # no file at all: how to write one
    refused(numerpilot("daemon", "--once", "-C", str(tmp_path)), 1, "'numerpilot init'")


@pytest.mark.bad_input("run", "a model name the account lacks (checked before the download)")
def test_run_with_an_unknown_model(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, keys: SandboxServer
) -> None:
    write_config(tmp_path, "")
    refused(numerpilot("run", "--dry-run", "-m", "nope", "-C", str(tmp_path)), 1, "nope",
            "sandbox_model, sandbox_model_2")  # fmt: skip
    assert not (tmp_path / "data").exists() and not (tmp_path / "models").exists()


def test_daemon_with_an_unknown_model(
    numerpilot: Numerpilot, tmp_path: Path, keys: SandboxServer
) -> None:
    """A name the account lacks could never be submitted: the daemon stops (its log lines
    come first on stderr), instead of predicting again every poll."""
    write_config(tmp_path, '[submission]\nmodels = ["sandbox_model", "nope", "sandbox_crypto"]\n')
    outcome = numerpilot("daemon", "-C", str(tmp_path))
    assert outcome.code == 1 and "Traceback" not in outcome.err
    last = outcome.err.strip().splitlines()[-1]
    assert last.startswith("Error: ") and "nope" in last and "sandbox_model_2" in last
    assert "sandbox_crypto is a Crypto model" in last and 'tournament = "crypto"' in last
    assert not (tmp_path / "data").exists()


@pytest.mark.bad_input("submit", "a model name the account does not have")
def test_unknown_model(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, keys: SandboxServer
) -> None:
    path = _downloaded(numerpilot, tmp_path)
    line = refused(numerpilot("submit", str(path), "-m", "nope", "-C", str(tmp_path)), 1,
                   "nope", "sandbox_model, sandbox_model_2")  # fmt: skip
    assert "account has" in line
    assert keys.received() == []


@pytest.mark.bad_input("submit", "a model of another tournament (`-m sandbox_signals`)")
def test_model_of_another_tournament(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, keys: SandboxServer
) -> None:
    path = _downloaded(numerpilot, tmp_path)
    refused(numerpilot("submit", str(path), "-m", "sandbox_signals", "-C", str(tmp_path)), 1,
            "sandbox_signals is a Signals model", 'tournament = "signals"')  # fmt: skip
    assert keys.state.submissions == []


@pytest.mark.bad_input("submit", "a model Numerai runs from an uploaded pickle (`-m`)")
def test_model_run_from_a_pickle(
    numerpilot: Numerpilot,
    refused: Refused,
    tmp_path: Path,
    keys: SandboxServer,
    client: NumeraiClient,
) -> None:
    path = _downloaded(numerpilot, tmp_path)
    piped = client.models()["sandbox_model_2"]
    Ledger(tmp_path / "state.db").record_model_upload("classic", "sandbox_model_2", piped, "u1")
    both = ("-m", "sandbox_model", "-m", "sandbox_model_2")
    out = numerpilot("submit", str(path), *both, "-C", str(tmp_path))
    refused(out, 1, "Nothing was submitted for sandbox_model_2", "uploaded model pickle")
    assert "sandbox_model: submitted" in out.out  # the other model's line, then the error
    assert [s.model_name for s in keys.state.submissions] == ["sandbox_model"]


@pytest.mark.bad_input("submit", "the round is closed")
def test_round_closed(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, keys: SandboxServer
) -> None:
    path = _downloaded(numerpilot, tmp_path)
    keys.clock.advance(timedelta(hours=8))  # past the staking close and the late window
    refused(numerpilot("submit", str(path), "-m", "sandbox_model", "-C", str(tmp_path)), 1,
            "no longer takes submissions")  # fmt: skip
    assert keys.received() == []


@pytest.mark.bad_input("submit", "no API keys")
@pytest.mark.usefixtures("no_keys")
def test_no_keys(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    pin(fresh)
    refused(numerpilot("submit", str(_preds(fresh)), "-m", "x", "-C", str(fresh)), 1,
            "No Numerai API keys found")  # fmt: skip


@pytest.mark.bad_input("submit", "a credentials file others can read")
def test_open_credentials(
    numerpilot: Numerpilot, refused: Refused, fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = fresh / "credentials.json"
    creds.write_text('{"public_id": "a", "secret_key": "b"}')
    creds.chmod(0o644)
    monkeypatch.delenv("NUMERAI_PUBLIC_ID", raising=False)
    monkeypatch.delenv("NUMERAI_SECRET_KEY", raising=False)
    monkeypatch.setenv("NUMERPILOT_CREDENTIALS", str(creds))
    pin(fresh)
    refused(numerpilot("submit", str(_preds(fresh)), "-m", "x", "-C", str(fresh)), 1,
            "mode 644", "chmod 600")  # fmt: skip


# -- download ---------------------------------------------------------------------------


@pytest.mark.bad_input("download", "NUMERPILOT_API_URL=notaurl")
def test_api_url_not_a_url(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUMERPILOT_API_URL", "notaurl")
    refused(numerpilot("download", "-C", str(tmp_path)), 1, "NUMERPILOT_API_URL",
            "'notaurl' is not an http(s) URL")  # fmt: skip
    assert list(tmp_path.iterdir()) == []


@pytest.mark.bad_input("download", "a space in NUMERPILOT_API_URL")
def test_api_url_with_a_space(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUMERPILOT_API_URL", "http://exa mple.com/")
    refused(numerpilot("download", "-C", str(tmp_path)), 1, "NUMERPILOT_API_URL", "a space")


@pytest.mark.bad_input("download", "`[api] base_url` is not a URL")
def test_base_url_not_a_url(numerpilot: Numerpilot, refused: Refused, tmp_path: Path) -> None:
    (tmp_path / "numerpilot.toml").write_text('[api]\nbase_url = "api.numer.ai"\n')
    refused(numerpilot("download", "-C", str(tmp_path)), 1, "api.base_url", "http(s) URL")


@pytest.mark.bad_input("download", "NUMERPILOT_API_URL with a wrong path")
def test_api_url_with_a_wrong_path(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    sandbox: SandboxServer,
) -> None:  # fmt: skip
    """The error named the host alone: the path, which is what is wrong, was left out."""
    monkeypatch.setenv("NUMERPILOT_API_URL", sandbox.url.rstrip("/") + "/grapql")
    line = refused(numerpilot("download", "-C", str(tmp_path)), 3, "/grapql answered HTTP")
    assert "NUMERPILOT_API_URL" in line


@pytest.mark.bad_input("download", "Numerai cannot be reached")
def test_api_unreachable(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("NUMERPILOT_API_URL", f"http://127.0.0.1:{port}/")
    (tmp_path / "numerpilot.toml").write_text("[api]\nretries = 0\n")
    refused(numerpilot("download", "-C", str(tmp_path)), 3, "could not connect")


@pytest.mark.bad_input("download", "a dataset version Numerai does not have")
def test_unknown_version(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, keys: SandboxServer
) -> None:
    (tmp_path / "numerpilot.toml").write_text('[data]\nversion = "v9.9"\n')
    refused(numerpilot("download", "-C", str(tmp_path)), 1, "v9.9", "Available versions")


@pytest.mark.bad_input("download", "the data folder is not writable")
def test_data_read_only(
    numerpilot: Numerpilot,
    refused: Refused,
    tmp_path: Path,
    keys: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read_only(monkeypatch, tmp_path / "data")
    refused(numerpilot("download", "-C", str(tmp_path)), 1, "not writable", "[data] dir")


@pytest.mark.bad_input("download", "the disk fills up during a download")
def test_download_disk_full(
    numerpilot: Numerpilot,
    refused: Refused,
    tmp_path: Path,
    keys: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.MonkeyPatch.context() as full:
        disk_full(full, tmp_path / "data", after=4)  # validation.parquet.temp
        refused(numerpilot("download", "-C", str(tmp_path)), 1, "The disk is full", ".temp",
                "kept")  # fmt: skip
    folder = tmp_path / "data" / "v5.3"
    assert not [p for p in folder.iterdir() if p.suffix == ".parquet" and p.stat().st_size == 0]
    assert numerpilot("download", "-C", str(tmp_path)).code == 0  # resumes and completes
    for name in layout.REQUIRED_FILES:
        assert (folder / name).exists()
    assert not list(folder.glob("*.temp*"))


def test_a_refused_submit_changes_nothing(numerpilot: Numerpilot, trained: Path) -> None:
    pin(trained)
    path = _preds(trained, 0.5)
    before = snapshot(trained)
    assert numerpilot("submit", str(path), "--dry-run", "-C", str(trained)).code == 1
    assert snapshot(trained) == before
