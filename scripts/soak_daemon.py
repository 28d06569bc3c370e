"""The daemon soak a user can run, black box: only the ``numerpilot`` command line.

Starts ``numerpilot sandbox serve --small --round-seconds 20 --window-seconds 12`` with
faults (503s, latency, dropped connections, lost answers), trains small models through
it, runs ``numerpilot daemon`` and SIGKILLs it every 30-60 s for --minutes, restarting it
at once. Then it asks the sandbox what it received and checks: exactly one submission per
model for every round that opened and closed while the daemon ran, none twice.

    python scripts/soak_daemon.py --minutes 6
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

MODELS = ("sandbox_model", "sandbox_model_2")
CONFIG = """\
[data]
era_step = 1
[train]
targets = ["target", "target_teager2b_20"]
holdout_eras = 8
embargo_eras = 2
[lightgbm]
n_estimators = 30
learning_rate = 0.1
[submission]
models = ["sandbox_model", "sandbox_model_2"]
[api]
timeout = 2.0
retries = 4
backoff = 0.2
[daemon]
poll_seconds = 1
lead_seconds = 1
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def numerpilot(*args: str, env: dict[str, str], **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "numerpilot", *args], env=env, **kwargs)  # type: ignore[call-overload, no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=6.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp, port = Path(tmp_name), free_port()
        url = f"http://127.0.0.1:{port}/"
        env = {**os.environ, "NUMERPILOT_API_URL": url,
               "NUMERAI_PUBLIC_ID": "SANDBOXPUBLICID0000000000000000",
               "NUMERAI_SECRET_KEY": "SANDBOXSECRETKEY" + "0" * 48}  # fmt: skip
        faults = ["--error-rate", "0.1", "--latency", "0.05", "--drop-rate", "0.03",
                  "--lose-rate", "0.1"]  # fmt: skip
        server = numerpilot("sandbox", "serve", "--small", "--port", str(port), "--data",
                            str(tmp / "sb"), "--round-seconds", "20", "--window-seconds", "12",
                            *faults, env=env, stdout=subprocess.DEVNULL)  # fmt: skip
        try:
            return run(tmp, url, env, rng, args.minutes)
        finally:
            server.terminate()
            server.wait(30)


def run(tmp: Path, url: str, env: dict[str, str], rng: random.Random, minutes: float) -> int:
    work = tmp / "wd"
    work.mkdir()
    (work / "numerpilot.toml").write_text(CONFIG)
    for _ in range(60):
        try:
            urllib.request.urlopen(url + "sandbox/received", timeout=2)
            break
        except OSError:
            time.sleep(1)
    for step in ("download", "train"):
        if numerpilot(step, "-C", str(work), env=env).wait() != 0:
            print(f"numerpilot {step} failed")
            return 1
    log = (tmp / "daemon.log").open("ab")
    started, end = time.time(), time.time() + minutes * 60
    daemon, kills = numerpilot("daemon", "-C", str(work), env=env, stdout=log, stderr=log), 0
    while time.time() < end:
        time.sleep(min(rng.uniform(30, 60), max(end - time.time(), 0)))
        daemon.send_signal(signal.SIGKILL)
        daemon.wait()
        kills += 1
        daemon = numerpilot("daemon", "-C", str(work), env=env, stdout=log, stderr=log)
    stopped = time.time()
    daemon.send_signal(signal.SIGTERM)
    daemon.wait(60)
    received = json.load(urllib.request.urlopen(url + "sandbox/received", timeout=10))
    return report(received, started, stopped, kills)


def report(received: list[dict[str, object]], started: float, stopped: float, kills: int) -> int:
    counts: dict[tuple[str, int], int] = {}
    for sub in received:
        key = (str(sub["model"]), int(str(sub["round"])))
        counts[key] = counts.get(key, 0) + 1
    rounds = sorted({r for _, r in counts})
    # rounds that opened and closed while the daemon ran: all but the first and last seen
    inner = rounds[1:-1]
    doubled = {k: v for k, v in counts.items() if v > 1}
    missed = [(m, r) for r in inner for m in MODELS if (m, r) not in counts]
    print(f"{(stopped - started) / 60:.1f} minutes, {kills} SIGKILLs, rounds {rounds[0]}-"
          f"{rounds[-1]}: {len(received)} submissions; doubled: {doubled or 'none'}; "
          f"missed: {missed or 'none'}")  # fmt: skip
    return 1 if doubled or missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
