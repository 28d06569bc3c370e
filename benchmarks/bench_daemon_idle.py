"""CPU the daemon uses while it sleeps between rounds (goal: well under 1 % of a core).

A sandbox in an open Tuesday round; the daemon (default [daemon] settings) submits both
models, then sleeps until shortly before the next round. Its CPU time (user + system, from
/proc) is measured over --seconds of that sleep and printed as a share of one core.

    python benchmarks/bench_daemon_idle.py --seconds 60
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from numerpilot.api.client import NumeraiClient
from numerpilot.config_file import load_config
from numerpilot.credentials import Credentials
from numerpilot.data.download import download_dataset
from numerpilot.pipeline.context import Context
from numerpilot.pipeline.train import train_ensemble
from numerpilot.sandbox import DEMO_PUBLIC_ID, DEMO_SECRET_KEY, SandboxServer
from numerpilot.sandbox.presets import OPEN_TUESDAY, SMALL_SPEC
from numerpilot.workdir import Workdir

CONFIG = """\
[data]
era_step = 1
[train]
targets = ["target"]
holdout_eras = 8
embargo_eras = 2
[lightgbm]
n_estimators = 20
[submission]
models = ["sandbox_model", "sandbox_model_2"]
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        SandboxServer(Path(tmp_name) / "sb", spec=SMALL_SPEC, start=OPEN_TUESDAY) as sandbox,
    ):
        work = Workdir(Path(tmp_name) / "wd")
        work.root.mkdir()
        (work.root / "numerpilot.toml").write_text(CONFIG)
        config = load_config(work.config_path)
        client = NumeraiClient(Credentials(DEMO_PUBLIC_ID, DEMO_SECRET_KEY), sandbox.url)
        download_dataset(work, config, client)
        train_ensemble(Context(work, config))
        keys = {"NUMERAI_PUBLIC_ID": DEMO_PUBLIC_ID, "NUMERAI_SECRET_KEY": DEMO_SECRET_KEY}
        env = {**os.environ, "NUMERPILOT_API_URL": sandbox.url, **keys}
        proc = subprocess.Popen(
            [sys.executable, "-m", "numerpilot", "daemon", "-C", str(work.root)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            while len(sandbox.state.submissions) < 2:
                time.sleep(0.2)
            time.sleep(2.0)  # let the pass finish and the sleep begin
            before, started = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(args.seconds)
            used, elapsed = cpu_seconds(proc.pid) - before, time.monotonic() - started
        finally:
            proc.terminate()
            proc.wait(30)
    print(f"daemon idle between rounds: {used:.3f} s of CPU in {elapsed:.0f} s = "
          f"{100 * used / elapsed:.3f} % of one core (goal: well under 1 %)")  # fmt: skip


if __name__ == "__main__":
    main()
