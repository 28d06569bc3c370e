"""Numerai's model-upload runtime images (numerai-predict), their pins, and the version policy.

A numerpilot upload pickle carries only plain data (LightGBM model text, feature names,
weights) and functions serialised by value that reach numpy, scipy, pandas and lightgbm by
module name. So what must match the runtime image is:

- the Python minor: pickled code objects are bytecode of one minor version;
- the cloudpickle major: the pickle calls cloudpickle's private reconstructors by name;
- the LightGBM major: the model text format (``version=v4``) is stable within a major.

numpy/pandas/scipy versions do not travel in the pickle; the image's pins are what the
pickle meets at run time, and ``check-upload`` runs it against exactly those pins.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from numerpilot.errors import NumerpilotError

#: Packages a pickle's compatibility depends on (their local versions go in the sidecar).
CHECKED = ("lightgbm", "pandas", "numpy", "scipy", "cloudpickle")


@dataclass(frozen=True)
class RuntimeImage:
    """One numerai-predict image: Python minor, API name, container and exact pins."""

    python: str
    pins: tuple[tuple[str, str], ...]

    @property
    def key(self) -> str:
        return f"py{self.python}"

    @property
    def api_name(self) -> str:
        """The name Numerai's API lists in ``computePickleDockerImages``."""
        return f"Python {self.python}"

    @property
    def container(self) -> str:
        return f"ghcr.io/numerai/numerai_predict_py_{self.python.replace('.', '_')}:latest"

    def pin(self, package: str) -> str:
        return dict(self.pins)[package]

    def requirements(self) -> list[str]:
        return [f"{name}=={ver}" for name, ver in self.pins]

    def describe(self) -> str:
        main = ", ".join(f"{p} {self.pin(p)}" for p in CHECKED)
        return f"{self.key} ({self.container}; {main})"


_COMMON = (("python-dateutil", "2.9.0.post0"), ("pytz", "2025.2"), ("six", "1.17.0"),
           ("threadpoolctl", "3.6.0"))  # fmt: skip

#: Pins from numerai-predict's ``py3.X/requirements.txt`` (the packages a pickle touches).
IMAGES: dict[str, RuntimeImage] = {
    "3.11": RuntimeImage(
        "3.11",
        (
            ("pandas", "2.3.1"),
            ("numpy", "2.1.3"),
            ("lightgbm", "4.6.0"),
            ("scipy", "1.16.0"),
            ("pyarrow", "21.0.0"),
            ("cloudpickle", "3.1.1"),
            ("scikit-learn", "1.6.1"),
            ("numerai-tools", "0.4.0"),
            ("tzdata", "2025.2"),
            ("joblib", "1.5.1"),
            *_COMMON,
        ),
    ),
    "3.12": RuntimeImage(
        "3.12",
        (
            ("pandas", "2.3.1"),
            ("numpy", "2.1.3"),
            ("lightgbm", "4.5.0"),
            ("scipy", "1.16.0"),
            ("pyarrow", "18.1.0"),
            ("cloudpickle", "3.1.1"),
            ("scikit-learn", "1.6.1"),
            ("numerai-tools", "0.4.0"),
            ("tzdata", "2025.2"),
            ("joblib", "1.5.1"),
            *_COMMON,
        ),
    ),
    "3.13": RuntimeImage(
        "3.13",
        (
            ("pandas", "2.3.3"),
            ("numpy", "2.2.6"),
            ("lightgbm", "4.5.0"),
            ("scipy", "1.17.1"),
            ("pyarrow", "18.1.0"),
            ("cloudpickle", "3.1.2"),
            ("scikit-learn", "1.6.1"),
            ("numerai-tools", "0.4.3"),
            ("tzdata", "2025.3"),
            ("joblib", "1.5.3"),
            *_COMMON,
        ),
    ),
}


def python_minor() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def local_versions() -> dict[str, str]:
    """Python minor and the installed versions of the packages in :data:`CHECKED`."""
    out = {"python": python_minor()}
    for package in CHECKED:
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "missing"
    return out


def _major(ver: str) -> str:
    return ver.split(".", 1)[0]


def image_for(python: str) -> RuntimeImage:
    """The image for a Python minor, or an error naming the supported ones."""
    image = IMAGES.get(python)
    if image is None:
        raise NumerpilotError(
            f"Numerai has no runtime image numerpilot supports for Python {python} (supported: "
            f"{', '.join(IMAGES)}). Build the pickle with one of those Python versions."
        )
    return image


def target_image(versions: dict[str, str] | None = None) -> RuntimeImage:
    """The image a pickle built here would run in; refuses what would break there.

    Refuses when the Python minor has no image, when cloudpickle's major differs from the
    image's (the pickle could not be loaded), or when LightGBM's major differs (the model
    text could not be parsed). Other version differences are fine by construction.
    """
    local = versions or local_versions()
    image = image_for(local["python"])
    problems = []
    for package, why in (
        ("cloudpickle", "the runtime could not unpickle the function"),
        ("lightgbm", "the runtime could not parse the model text"),
    ):
        have, pinned = local[package], image.pin(package)
        if have == "missing" or _major(have) != _major(pinned):
            problems.append(f"{package} {have} here vs {pinned} in {image.key} ({why})")
    if problems:
        raise NumerpilotError(
            "this environment cannot build a pickle for Numerai's runtime: "
            + "; ".join(problems)
            + f". Install a {image.key}-compatible version, e.g. pip install "
            + " ".join(f"'{p}=={image.pin(p)}'" for p in ("cloudpickle", "lightgbm"))
            + "."
        )
    return image
