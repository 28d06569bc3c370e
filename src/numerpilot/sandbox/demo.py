"""End-to-end demo against the sandbox: ``python -m numerpilot.sandbox.demo WORKDIR``.

Starts the sandbox in-process (inside an open Saturday round), points numerpilot at it with
the sandbox's demo keys, runs ``numerpilot run`` (download, train, validate, predict,
submit) and then ``numerpilot submit`` once more (which must say it is already done), as a
user would (each a ``numerpilot`` subprocess), then shows what the sandbox received and
the scores after the round is resolved on its hidden targets.
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


def _numerpilot(workdir: Path, args: tuple[str, ...], env: dict[str, str]) -> None:
    code = "from numerpilot.cli import main; main()"
    cmd = [sys.executable, "-c", code, *args[:1], "-C", str(workdir), *args[1:]]
    print(f"\n$ numerpilot {args[0]} -C {workdir}", flush=True)
    done = subprocess.run(cmd, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"numerpilot {args[0]} failed with exit code {done.returncode}")


def run_demo(workdir: Path) -> list[dict[str, object]]:
    """Run the whole round against a fresh in-process sandbox; returns what it received."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / CONFIG_NAME
    if not config.exists():
        config.write_text(DEMO_CONFIG, encoding="utf-8")
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


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m numerpilot.sandbox.demo WORKDIR", file=sys.stderr)
        return 2
    received = run_demo(Path(args[0]).resolve())
    return 0 if received else 1


if __name__ == "__main__":
    raise SystemExit(main())
