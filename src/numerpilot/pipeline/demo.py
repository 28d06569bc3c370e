"""Synthetic demo data for ``run --demo``: created once, reused while its spec is unchanged."""

from __future__ import annotations

import json
from pathlib import Path

from numerpilot.config import DemoConfig
from numerpilot.data.layout import DEMO_VERSION
from numerpilot.data.synthetic_io import is_current, write_synthetic
from numerpilot.errors import UsageError
from numerpilot.pipeline.context import Context
from numerpilot.progress import SILENT, Progress
from numerpilot.workdir import Workdir


def _data_version(sidecar: Path) -> str | None:
    """The ``data_version`` a JSON file records (None when it cannot be read: a damaged
    file is no evidence of real data, and the command that reads it says what is wrong)."""
    try:
        raw = json.loads(sidecar.read_text(encoding="utf-8-sig"))
        return str(raw["data_version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def real_artefacts(workdir: Workdir) -> list[str]:
    """What in ``workdir`` was made from real data: a demo run would replace it."""
    found = []
    version = _data_version(workdir.models / "manifest.json")
    if version not in (None, DEMO_VERSION):
        found.append(f"models trained on {version} data ({workdir.models})")
    preds = workdir.live_predictions
    version = _data_version(preds.with_suffix(".json"))
    if preds.exists() and version != DEMO_VERSION:
        found.append(f"live predictions of {version or 'unknown'} data ({preds})")
    return found


def refuse_demo_over_real(workdir: Workdir) -> None:
    """A ``--demo`` command never replaces real models or predictions: refuse, say why."""
    found = real_artefacts(workdir)
    if found:
        raise UsageError(
            f"{workdir.root} holds {' and '.join(found)}; --demo would replace them with "
            "demo ones. Try the demo in a folder of its own: mkdir demo && numerpilot run "
            "--demo -C demo"
        )


def ensure_demo_data(cfg: DemoConfig, folder: Path, progress: Progress = SILENT) -> bool:
    """Write the demo dataset into ``folder`` unless it is already there; True if written."""
    spec = cfg.spec()
    if is_current(spec, folder):
        return False
    with progress.task("Generating synthetic Numerai data", None):
        write_synthetic(spec, folder)
    return True


def load_context(
    workdir: Workdir, *, demo: bool, progress: Progress = SILENT, trains: bool = False
) -> Context:
    """The command's context; with ``demo``, the demo data is created first if missing (for
    a command that ``trains``, once its model parameters passed: a LightGBM value it
    refuses, or a GPU this install lacks, is said before seconds of writing data)."""
    ctx = Context.load(workdir, demo=demo)
    if demo:
        refuse_demo_over_real(workdir)
        if trains:
            from numerpilot.modeling.backends import resolved
            from numerpilot.pipeline.members import model_params

            model_params(resolved(ctx.config))
        ensure_demo_data(ctx.config.demo, ctx.data_dir, progress)
    return ctx
