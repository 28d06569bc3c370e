"""numerpilot as an installed package: the wheel's and the sdist's files, the metadata, the
dependencies, and the package run from an unpacked wheel, away from the checkout.

The wheel is built offline (``pip wheel --no-build-isolation --no-index``, with the hatchling
of the ``dev`` extra), so these tests need no network.
"""

from __future__ import annotations

import ast
import email
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

import numerpilot

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "numerpilot"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

#: Packages only the ``dev`` extra installs: numerpilot must never import them.
DEV_ONLY = ("pytest", "_pytest", "hypothesis", "statsmodels", "moto", "mypy", "ruff")
#: Imports from packages that a declared dependency brings, and which one.
INDIRECT = {"pydantic_core": "pydantic", "urllib3": "requests", "fsspec": "dask",
            "distributed": "dask"}  # fmt: skip
#: Module name -> distribution name, where the two differ.
DISTRIBUTION = {"numerai_tools": "numerai-tools"}
#: The oldest releases numerpilot works with (each measured in a fresh venv with that release
#: and the other floors; the one before it fails as noted).
FLOORS = {
    "pandas": "2.2.2",  # 2.2.0 and 2.2.1 need numpy < 2
    "matplotlib": "3.8.4",  # 3.8.0 to 3.8.3 need numpy < 2
    "typer": "0.28",  # typer.exceptions (Abort, TyperException); 0.27 has no such module
    "numerai-tools": "0.5",  # 0.4: no validate_submission_numerai
    "pyarrow": "20",  # 19: pa.array(numpy text, large_string()) is not implemented
    "dask": "2025.1",  # 2024.8: a FutureWarning (no dask-expr) whenever LightGBM loads
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this checkout, built offline."""
    out = tmp_path_factory.mktemp("dist")
    cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index",
           "--no-build-isolation", "-w", str(out), str(ROOT)]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    (built,) = out.glob("numerpilot-*.whl")
    return built


@pytest.fixture(scope="module")
def site(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel unpacked, as pip would put it in site-packages."""
    out = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(out)
    return out


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.message_from_bytes(archive.read(name))


def _imports() -> Iterator[tuple[Path, str]]:
    """(file, top-level module) of every absolute import in the package's source."""
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield path, node.module.split(".")[0]


def _declared() -> dict[str, Requirement]:
    """The runtime dependencies by canonical name."""
    reqs = (Requirement(text) for text in PYPROJECT["project"]["dependencies"])
    return {canonicalize_name(req.name): req for req in reqs}


def test_wheel_holds_every_module_and_nothing_of_the_checkout(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    sources = {f"numerpilot/{p.relative_to(PACKAGE).as_posix()}" for p in PACKAGE.rglob("*.py")}
    assert sources - names == set()
    assert "numerpilot/model_upload/runner.py" in names  # check-upload runs it as a script
    package = {n for n in names if not n.startswith(f"numerpilot-{numerpilot.__version__}.")}
    assert {n for n in package if not n.endswith(".py")} == set()
    assert {n.split("/")[0] for n in package} == {"numerpilot"}  # no tests/, docs/, demo/


def test_wheel_metadata_matches_the_package(wheel: Path) -> None:
    meta = _metadata(wheel)
    assert meta["Name"] == "numerpilot"
    assert meta["Version"] == numerpilot.__version__
    assert wheel.name.startswith(f"numerpilot-{numerpilot.__version__}-py3-none-any")
    assert meta["Requires-Python"] == ">=3.11"
    assert "Programming Language :: Python :: 3.11" in meta.get_all("Classifier", [])
    assert meta["Description-Content-Type"] == "text/markdown"
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        entry_points = archive.read(name).decode()
    assert "numerpilot = numerpilot.cli:main" in entry_points


def test_the_sdist_leaves_out_what_commands_wrote_in_the_checkout(tmp_path: Path) -> None:
    project = tmp_path / "checkout"
    shutil.copytree(
        PACKAGE, project / "src" / "numerpilot", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md", ".gitignore"):
        shutil.copy2(ROOT / name, project / name)
    strays = ["credentials.json", "state.db", "model.pkl", "models/manifest.json",
              "data/demo/train.parquet", ".numerpilot-sandbox/classic/train.parquet"]  # fmt: skip
    for stray in strays:
        (project / stray).parent.mkdir(parents=True, exist_ok=True)
        (project / stray).write_text("{}", encoding="utf-8")
    build = "import sys; from hatchling.build import build_sdist; print(build_sdist(sys.argv[1]))"
    done = subprocess.run([sys.executable, "-c", build, str(tmp_path)], cwd=project,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    with tarfile.open(tmp_path / done.stdout.strip().splitlines()[-1]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {s for s in strays if s in names} == set()
    assert {"pyproject.toml", "README.md", "src/numerpilot/__init__.py"} <= names


def test_the_version_is_set_in_one_place() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "src/numerpilot/__init__.py"


def test_every_imported_package_is_a_declared_dependency() -> None:
    declared = set(_declared())
    optional = PYPROJECT["project"]["optional-dependencies"].values()
    extras = {canonicalize_name(Requirement(text).name) for reqs in optional for text in reqs}
    stdlib = sys.stdlib_module_names | {"numerpilot"}
    undeclared = set()
    for path, module in _imports():
        if module in stdlib:
            continue
        name = canonicalize_name(INDIRECT.get(module, DISTRIBUTION.get(module, module)))
        if name not in declared and not (module == "xgboost" and "xgboost" in extras):
            undeclared.add(f"{path.relative_to(ROOT)}: {module}")
    assert undeclared == set()


def test_no_module_imports_a_dev_only_package() -> None:
    found = {f"{path.relative_to(ROOT)}: {m}" for path, m in _imports() if m in DEV_ONLY}
    assert found == set()


def test_dependency_floors_are_releases_numerpilot_works_with() -> None:
    declared = _declared()
    too_low = {}
    for name, floor in FLOORS.items():
        lows = [Version(s.version) for s in declared[name].specifier if s.operator == ">="]
        if not lows or lows[0] < Version(floor):
            too_low[name] = str(declared[name].specifier)
    assert too_low == {}


_SMOKE = """
import importlib, importlib.abc, pkgutil, sys
from pathlib import Path
BLOCKED = set(sys.argv[2].split(","))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not installed with numerpilot")
        return None
sys.meta_path.insert(0, Block())
import numerpilot
site = Path(sys.argv[1]).resolve()
for info in pkgutil.walk_packages(numerpilot.__path__, "numerpilot."):
    if not info.name.endswith("__main__"):
        module = importlib.import_module(info.name)
        assert site in Path(module.__file__).resolve().parents, module.__file__
print("imported", numerpilot.__version__)
"""


def _run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip


def test_the_unpacked_wheel_imports_without_the_checkout_or_dev_packages(
    site: Path, tmp_path: Path
) -> None:
    blocked = ",".join((*DEV_ONLY, "xgboost"))  # xgboost: an extra, imported only when used
    done = _run(site, tmp_path, "-c", _SMOKE, str(site), blocked)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"imported {numerpilot.__version__}"


def test_the_unpacked_wheel_runs_as_python_m_numerpilot(site: Path, tmp_path: Path) -> None:
    version = _run(site, tmp_path, "-m", "numerpilot", "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"numerpilot {numerpilot.__version__}"
    init = _run(site, tmp_path, "-m", "numerpilot", "init", "here")
    assert init.returncode == 0, init.stderr
    assert "[train]" in (tmp_path / "here" / "numerpilot.toml").read_text(encoding="utf-8")
