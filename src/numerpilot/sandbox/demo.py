"""End-to-end demo against the sandbox: ``python -m numerpilot.sandbox.demo WORKDIR``.

Starts the sandbox in-process (inside an open Saturday round), points numerpilot at it with
the sandbox's demo keys, runs ``numerpilot run`` (download, train, validate, predict,
submit) and then ``numerpilot submit`` once more (which must say it is already done), as a
user would (each a ``numerpilot`` subprocess), then shows what the sandbox received and
the scores after the round is resolved on its hidden targets.

Then one Signals round (``WORKDIR/signals``: ``run`` trains on ``signals/v2.1`` and submits
the live universe's signal) and one Crypto round (``WORKDIR/crypto``: Crypto data has no
features, so the demo computes a signal from the symbols' past targets, as a user's own
job would, and submits it with ``submit --file``), each submitted a second time to show
it is refused as already done.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from numerpilot.api.connect import ENV_URL
from numerpilot.config import CONFIG_NAME
from numerpilot.sandbox import DEMO_PUBLIC_ID, DEMO_SECRET_KEY, SandboxServer
from numerpilot.sandbox.presets import OPEN_SATURDAY
from numerpilot.workdir import Workdir

#: A config for the demo when the work directory has none: small, fast LightGBM settings.
DEMO_CONFIG = """\
# Written by the sandbox demo: fast settings for synthetic data.
[lightgbm]
n_estimators = 300
learning_rate = 0.05
colsample_bytree = 0.3

[train]
holdout_eras = 40
embargo_eras = 4
early_stopping_rounds = 100
cv_folds = 0  # the single holdout: about 3x faster than era folds

[data]
era_step = 1

[submission]
models = ["sandbox_model"]
"""

STEPS = (("run",), ("submit",))

#: The Signals and Crypto rounds: a small ensemble on the one main target.
TOURNAMENT_CONFIG = """\
# Written by the sandbox demo: fast settings for synthetic {tournament} data.
[lightgbm]
n_estimators = 120
learning_rate = 0.05
colsample_bytree = 0.5

[train]
holdout_eras = 8
embargo_eras = 2
early_stopping_rounds = 30

[data]
era_step = 1

[submission]
tournament = "{tournament}"
models = ["sandbox_{tournament}"]
"""
SIGNAL_FILE = "my_signal.csv"


def _numerpilot(workdir: Path, args: tuple[str, ...], env: dict[str, str]) -> None:
    code = "from numerpilot.cli import main; main()"
    cmd = [sys.executable, "-c", code, *args[:1], "-C", str(workdir), *args[1:]]
    print(f"\n$ numerpilot {' '.join(args)} -C {workdir}", flush=True)
    done = subprocess.run(cmd, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"numerpilot {args[0]} failed with exit code {done.returncode}")


def forget_earlier_runs(*workdirs: Path) -> None:
    """Remove the ledgers an earlier demo left: each run starts a fresh sandbox at the same
    round, which holds none of their submissions, so they would mark the new round as
    done and nothing would be sent (the data and models are kept and reused)."""
    for folder in workdirs:
        ledger = Workdir(folder).state_db
        if ledger.exists():
            print(f"A fresh sandbox: forgetting the submissions of an earlier demo ({ledger})")
        for path in (ledger, *(ledger.with_name(ledger.name + s) for s in ("-wal", "-shm"))):
            path.unlink(missing_ok=True)


def run_demo(workdir: Path) -> list[dict[str, object]]:
    """Run the whole round against a fresh in-process sandbox; returns what it received."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / CONFIG_NAME
    if not config.exists():
        config.write_text(DEMO_CONFIG, encoding="utf-8")
    forget_earlier_runs(workdir, workdir / "signals", workdir / "crypto")
    with SandboxServer(workdir / ".sandbox", start=OPEN_SATURDAY) as sandbox:
        print(f"Sandbox Numerai API on {sandbox.url} (round {sandbox.state.current().number})")
        env = {
            **os.environ,
            ENV_URL: sandbox.url,
            "NUMERAI_PUBLIC_ID": DEMO_PUBLIC_ID,
            "NUMERAI_SECRET_KEY": DEMO_SECRET_KEY,
        }
        for step in STEPS:
            _numerpilot(workdir, step, env)
        print("\n== Signals: train on signals/v2.1, predict the live universe, submit")
        signals = _tournament_dir(workdir / "signals", "signals")
        for step in STEPS:
            _numerpilot(signals, step, env)
        print("\n== Crypto: your own signal (from the symbols' past targets), submit --file")
        crypto = _tournament_dir(workdir / "crypto", "crypto")
        _numerpilot(crypto, ("download",), env)
        write_crypto_signal(crypto)
        for _ in range(2):
            _numerpilot(crypto, ("submit", "--file", str(crypto / SIGNAL_FILE)), env)
        round_number = sandbox.state.current().number
        sandbox.state.resolve(round_number)
        received = sandbox.received()
    print("\nThe sandbox received:")
    for item in received:
        scores = ", ".join(f"{k} {v:+.4f}" for k, v in dict(item["scores"]).items())
        print(
            f"  {item['model']}: round {item['round']}, {item['filename']} "
            f"({item['bytes']} bytes, sha256 {str(item['sha256'])[:12]}…); "
            f"after resolution: {scores or 'not scored'}"
        )
    return received


def _tournament_dir(folder: Path, tournament: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / CONFIG_NAME
    if not config.exists():
        config.write_text(TOURNAMENT_CONFIG.format(tournament=tournament), encoding="utf-8")
    return folder


def write_crypto_signal(folder: Path, lookback: int = 12) -> Path:
    """A bring-your-own Crypto signal: each live symbol's mean target over the last
    ``lookback`` dates of the downloaded history, ranked into (0, 1); symbols without
    history get 0.5."""
    import pandas as pd

    (data,) = (p for p in (folder / "data" / "crypto").iterdir() if p.is_dir())
    train = pd.read_parquet(data / "train.parquet", columns=["symbol", "date", "target"])
    recent = train[train["date"].isin(sorted(train["date"].unique())[-lookback:])]
    score = recent.groupby("symbol")["target"].mean()
    live = pd.read_parquet(data / "live_universe.parquet")["symbol"].astype(str)
    values = score.reindex(live).rank(pct=True).mul(0.98).fillna(0.5).to_numpy()
    dest = folder / SIGNAL_FILE
    pd.DataFrame({"symbol": live, "signal": values}).to_csv(dest, index=False)
    print(f"wrote {dest} ({len(live)} symbols)")
    return dest


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    usage = "usage: python -m numerpilot.sandbox.demo WORKDIR (a folder for the whole round)"
    if args in (["-h"], ["--help"]):
        print(usage)
        return 0
    if len(args) != 1 or args[0].startswith("-"):  # an option is no folder to work in
        print(usage, file=sys.stderr)
        return 2
    received = run_demo(Path(args[0]).resolve())
    if not received:
        print("  nothing: every submission above was refused or already recorded", file=sys.stderr)
    return 0 if received else 1


if __name__ == "__main__":
    raise SystemExit(main())
