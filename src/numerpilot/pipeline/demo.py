"""Synthetic demo data for ``run --demo``: created once, reused while its spec is unchanged."""

from __future__ import annotations

from pathlib import Path

from numerpilot.config import DemoConfig
from numerpilot.data.synthetic_io import is_current, write_synthetic
from numerpilot.pipeline.context import Context
from numerpilot.progress import SILENT, Progress
from numerpilot.workdir import Workdir


def ensure_demo_data(cfg: DemoConfig, folder: Path, progress: Progress = SILENT) -> bool:
    """Write the demo dataset into ``folder`` unless it is already there; True if written."""
    spec = cfg.spec()
    if is_current(spec, folder):
        return False
    with progress.task("Generating synthetic Numerai data", None):
        write_synthetic(spec, folder)
    return True


def load_context(workdir: Workdir, *, demo: bool, progress: Progress = SILENT) -> Context:
    """The command's context; with ``demo``, the demo data is created first if missing."""
    ctx = Context.load(workdir, demo=demo)
    if demo:
        ensure_demo_data(ctx.config.demo, ctx.data_dir, progress)
    return ctx
