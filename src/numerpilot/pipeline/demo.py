"""Synthetic demo data for ``run --demo``: created once, reused while its spec is unchanged."""

from __future__ import annotations

import json
from pathlib import Path

from numerpilot.config import DemoConfig
from numerpilot.data import layout
from numerpilot.data.layout import DEMO_VERSION
from numerpilot.data.synthetic_io import MARKER, is_current, write_synthetic
from numerpilot.errors import DataError, UsageError
from numerpilot.modeling.manifest import MANIFEST, load_manifest
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
            f"{workdir.root} holds {' and '.join(found)}; --demo writes demo models, "
            "predictions and reports here, in their place or beside them. Try the demo in a "
            "folder of its own: mkdir demo && numerpilot run --demo -C demo"
        )


#: The dataset files ``demo-data`` writes (any of them in a folder it did not write is data).
_DATASET_FILES = (
    layout.TRAIN, layout.VALIDATION, layout.LIVE, layout.FEATURES_JSON, layout.META_MODEL,
    layout.VALIDATION_BENCHMARKS, layout.LIVE_BENCHMARKS,
)  # fmt: skip


def refuse_demo_data_over_data(folder: Path) -> None:
    """``demo-data DIR`` never replaces a dataset it did not write (Numerai's, downloaded,
    or one of your own): refuse, naming its files."""
    if not folder.is_dir() or (folder / MARKER).exists():
        return
    found = [name for name in _DATASET_FILES if (folder / name).exists()]
    if found:
        raise UsageError(
            f"{folder} holds a dataset that demo-data did not write ({', '.join(found)}); "
            "demo-data would replace it with synthetic files. Give demo-data a folder of its "
            "own, e.g. numerpilot demo-data demo-dataset"
        )


def ensure_demo_data(cfg: DemoConfig, folder: Path, progress: Progress = SILENT) -> bool:
    """Write the demo dataset into ``folder`` unless it is already there; True if written."""
    spec = cfg.spec()
    if is_current(spec, folder):
        return False
    with progress.task("Generating synthetic Numerai data", None):
        write_synthetic(spec, folder)
    return True


def require_demo_models(workdir: Workdir) -> None:
    """A ``--demo`` command that uses trained models (``validate``, ``predict``) is refused
    before it writes the demo dataset when there are none (saying how to train them) or
    their manifest is damaged."""
    if not (workdir.models / MANIFEST).exists():
        raise DataError(
            f"no trained models in {workdir.models}. Run 'numerpilot train --demo' first, or "
            "'numerpilot run --demo' for the whole round on the demo data."
        )
    load_manifest(workdir.models)


def load_context(
    workdir: Workdir, *, demo: bool, progress: Progress = SILENT, trains: bool = False
) -> Context:
    """The command's context; with ``demo``, the demo data is created first if missing (for
    a command that ``trains``, once its model parameters passed: a LightGBM value it
    refuses, or a GPU this install lacks, is said before seconds of writing data; for one
    that uses the trained models, once there are some)."""
    ctx = Context.load(workdir, demo=demo)
    if demo:
        refuse_demo_over_real(workdir)
        if trains:
            from numerpilot.modeling.backends import resolved
            from numerpilot.pipeline.members import model_params

            model_params(resolved(ctx.config))
        else:
            require_demo_models(workdir)
        ensure_demo_data(ctx.config.demo, ctx.data_dir, progress)
    return ctx
