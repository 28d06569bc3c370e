"""Build a model-upload pickle from a trained bundle, plus a JSON sidecar naming its image.

The pickle is a cloudpickle'd function from :mod:`numerpilot.model_upload.runtime`,
serialised by value with the :mod:`numerpilot.kernel` it calls, whose closure holds only the
kernel's payload: plain data (LightGBM model text per member, feature names, weights, the
neutralization settings). Boosters are built when Numerai calls it, so the
pickle depends on the runtime's Python minor (and cloudpickle/LightGBM majors), not on the
numpy/pandas/LightGBM versions it was built with.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cloudpickle

from numerpilot import __version__, kernel
from numerpilot.errors import DataError
from numerpilot.io import json_text, remove_stale_twins, sha256_file, write_files_atomic
from numerpilot.kernel.ensemble import Payload
from numerpilot.lock import folder_held
from numerpilot.model_upload import runtime
from numerpilot.model_upload.images import RuntimeImage, local_versions, target_image
from numerpilot.modeling.store import describe, load_payload

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".json"
_PICKLE_LOCK = threading.Lock()
#: Modules whose functions the pickle carries as code (they import nothing else of numerpilot;
#: registering the kernel package covers its submodules).
_BY_VALUE = (runtime, kernel)


@dataclass(frozen=True)
class BuiltUpload:
    """Where the pickle and its sidecar went, and what they hold."""

    path: Path
    sidecar: Path
    image: RuntimeImage
    info: dict[str, Any]


def sidecar_path(pickle_path: Path) -> Path:
    """``model.pkl`` -> ``model.pkl.json``."""
    return pickle_path.with_name(pickle_path.name + SIDECAR_SUFFIX)


def read_sidecar(pickle_path: Path) -> dict[str, Any] | None:
    """The sidecar of ``pickle_path`` (None without one); refused when it describes
    another pickle (its SHA-256 differs: a build killed between the two files' renames)."""
    path = sidecar_path(pickle_path)
    if not path.exists():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise DataError(f"{path} is not valid JSON ({error}); rebuild with "
                        "'numerpilot build-upload'.") from None  # fmt: skip
    stat = pickle_path.stat() if pickle_path.exists() else None
    if stat and "sha256" in data and data["sha256"] != _sha256(pickle_path, stat.st_mtime_ns,
                                                               stat.st_size):  # fmt: skip
        raise DataError(f"{path} describes another pickle than {pickle_path.name} (an "
                        "interrupted build?); rebuild with 'numerpilot build-upload'.")  # fmt: skip
    return data


@functools.lru_cache(maxsize=8)
def _sha256(path: Path, mtime_ns: int, size: int) -> str:
    """The file's SHA-256, computed once per version of the file (its time and size)."""
    return sha256_file(path)


def pickle_model(payload: Payload, *, with_benchmarks: bool = False) -> bytes:
    """cloudpickle bytes of the predict function; its code travels by value."""
    model = runtime.make_model(payload, with_benchmarks)
    with _PICKLE_LOCK:
        for module in _BY_VALUE:
            cloudpickle.register_pickle_by_value(module)
        try:
            data: bytes = cloudpickle.dumps(model)
        finally:
            for module in _BY_VALUE:
                cloudpickle.unregister_pickle_by_value(module)
    return data


def _n_trees(model_text: str) -> int:
    if model_text.startswith("{"):  # XGBoost JSON, or a linear member's (no trees)
        spec = json.loads(model_text)
        return (
            len(spec["learner"]["gradient_booster"]["model"]["trees"]) if "learner" in spec else 0
        )
    return sum(1 for line in model_text.splitlines() if line.startswith("Tree="))


def build_upload(models_dir: Path, out: Path, *, benchmarks: bool = False) -> BuiltUpload:
    """Pack the trained bundle in ``models_dir`` into ``out`` (+ ``out``.json sidecar).

    Refuses (``NumerpilotError``) when this environment cannot build a pickle that
    Numerai's runtime can load; see :func:`numerpilot.model_upload.images.target_image`.
    """
    versions = local_versions()
    image = target_image(versions)
    manifest, payload = load_payload(models_dir)
    log.info("using models %s", describe(manifest))
    data = pickle_model(payload, with_benchmarks=benchmarks)
    info: dict[str, Any] = {
        "image": image.key,
        "docker_image": image.api_name,
        "container": image.container,
        "python": image.python,
        "pins": dict(image.pins),
        "built_with": versions,
        "numerpilot": __version__,
        "payload_format": payload["format"],
        "arguments": 2 if benchmarks else 1,
        "data_version": manifest.data_version,
        "feature_set": manifest.feature_set,
        "n_features": len(manifest.features),
        "targets": list(manifest.targets),
        "n_trees": sum(_n_trees(text) for text in payload["models"].values()),
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    sidecar = sidecar_path(out)
    with folder_held(out.parent, wait=_FOLDER_WAIT_S, busy="writing a pickle") as held:
        if held:  # no other build writes here meanwhile: their temporary files are no one's
            for path in (out, sidecar):  # what a build killed while writing left
                remove_stale_twins(path)
        write_files_atomic({sidecar: json_text(info).encode(), out: data})  # both, or neither
    log.info("wrote %s (%d bytes) for %s", out, len(data), image.describe())
    return BuiltUpload(out, sidecar, image, info)


#: How long a build waits for another one writing into the same folder.
_FOLDER_WAIT_S = 120.0
