"""CLI commands: build-upload, check-upload, upload-model (model upload pickles)."""

from __future__ import annotations

import contextlib
import logging
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from numerpilot.cli.app import WorkdirOption, app, check_output, console, workdir
from numerpilot.data.layout import DEMO_VERSION
from numerpilot.errors import DataError, UsageError
from numerpilot.model_upload.guards import account_model_id, classic_only, warn_older_build
from numerpilot.model_upload.images import IMAGES, RuntimeImage, image_for
from numerpilot.words import plural

if TYPE_CHECKING:
    from numerpilot.model_upload.build import BuiltUpload
    from numerpilot.model_upload.check import CheckResult
    from numerpilot.workdir import Workdir

PICKLE_NAME = "model.pkl"

ImageOption = Annotated[
    str | None,
    typer.Option("--image", help=f"Runtime image to check against ({', '.join(IMAGES)}); "
                 "default: the one the pickle was built for.", metavar="IMAGE"),
]  # fmt: skip
LiveOption = Annotated[
    Path | None,
    typer.Option("--live", help="Live features file (default: the work dir's).", metavar="FILE"),
]
BenchOption = Annotated[
    Path | None,
    typer.Option(
        "--benchmarks", help="Live benchmark models file (2-argument pickles).", metavar="FILE"
    ),
]


def _print_built(built: BuiltUpload) -> None:
    info = built.info
    console.print(
        f"Wrote [bold]{built.path}[/bold] ({info['bytes'] / 1e6:.2f} MB): "
        f"{plural(len(info['targets']), 'model')}, {info['n_trees']} trees, {info['n_features']} "
        f"features, {info['arguments']}-argument function.\n"
        f"Targets Numerai's runtime image [bold]{built.image.describe()}[/bold]; "
        f"choose '{built.image.api_name}' when uploading. Details: {built.sidecar}"
    )


@app.command("build-upload", rich_help_panel="Model upload")
def build_upload_cmd(
    directory: WorkdirOption = Path("."),
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Pickle to write (default: model.pkl).", metavar="FILE"),
    ] = None,
    benchmarks: Annotated[
        bool,
        typer.Option("--benchmarks", help="Take (live_features, live_benchmark_models)."),
    ] = False,
) -> None:
    """Pack the trained ensemble into a pickle Numerai can run every round."""
    wd = workdir(directory)
    config = wd.load_config()
    classic_only(config)
    if out is not None:
        keep = {wd.config_path: "the configuration", wd.state_db: "the submission ledger"}
        inside = {wd.models: "the trained models' folder", wd.predictions: "the predictions' "
                  "folder", wd.data_root(config): "the data folder"}  # fmt: skip
        check_output(out, "--out", keep, inside)
    target = out or wd.root / PICKLE_NAME
    with _pickle_note(target, directory):  # from here on, a Ctrl-C says whether the pickle is new
        from numerpilot.model_upload.build import build_upload

        _writable_out(target, given=out is not None)
        built = build_upload(wd.models, target, benchmarks=benchmarks)
        _warn_drift(wd)
        _print_built(built)


def _pickle_note(pickle: Path, directory: Path) -> contextlib.AbstractContextManager[None]:
    """A Ctrl-C inside says whether ``pickle`` was written whole (with its sidecar: the
    pickle is replaced last) or is as it was: the line "Wrote ..." may not have come. The
    check it suggests names the work folder (``-C``), whose config gives the live file."""
    from numerpilot.cli.interrupt_notes import on_interrupt

    if pickle.is_file():
        kept = f"No pickle was written: {pickle} is as it was (an earlier build's)."
    else:
        kept = f"No pickle was written ({pickle} does not exist)."
    check = shlex.join(["numerpilot", "check-upload", str(pickle), *_workdir_words(directory)])
    whole = (f"{pickle} was written whole, with its sidecar {pickle.name}.json: it is "
             f"complete ('{check}' checks it).")  # fmt: skip
    return on_interrupt(pickle, kept, whole)


def _writable_out(out: Path, *, given: bool) -> None:
    """Refuse, before any work, a pickle path whose pickle or sidecar (``<out>.json``) would
    replace something that is not numerpilot's model-upload file (a dataset, a folder, a
    device such as /dev/null, a pipe), or whose folder cannot be written."""
    from numerpilot.model_upload.build import sidecar_path
    from numerpilot.workdir import ensure_writable

    name = f"--out {out}" if given else "build-upload"
    for path, ours in ((out, _is_pickle), (sidecar_path(out), _is_sidecar)):
        if path.is_dir() and path != out:  # --out itself a folder: check_output says so
            raise UsageError(f"{name} would write its sidecar {path}, which is a folder; "
                             "choose another path (or remove that folder).")  # fmt: skip
        if path.exists() and not path.is_dir() and not path.is_file():
            raise UsageError(f"{name} would replace {path}, which is not a regular file (a "
                             "device or a pipe); choose another path.")  # fmt: skip
        if path.is_file() and not ours(path):
            raise UsageError(f"{name} would replace {path}, which is not a model-upload "
                             "file of numerpilot's; it is kept. Choose another path (or "
                             "remove that file first).")  # fmt: skip
    another = "choose another path" + ("" if given else " with --out")
    ensure_writable(out.parent, instead=another)


def _is_pickle(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(1) == b"\x80"  # every pickle of protocol 2 or later starts so


def _is_sidecar(path: Path) -> bool:
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and {"image", "sha256"} <= set(data)


def _warn_drift(wd: Workdir) -> None:
    """The warning of ``predict`` when numerpilot.toml asks for another feature set or
    neutralization than the packed models have: the pickle runs the models' own."""
    from numerpilot.errors import NumerpilotError
    from numerpilot.modeling.manifest import load_manifest
    from numerpilot.pipeline.context import Context
    from numerpilot.pipeline.predict import config_drift

    try:
        manifest = load_manifest(wd.models)
        ctx = Context.load(wd, demo=manifest.data_version == DEMO_VERSION)
        drift = config_drift(ctx, manifest)
    except (NumerpilotError, OSError):  # no data here to compare with: nothing to say
        return
    if drift:
        logging.getLogger("numerpilot.model_upload").warning(drift)


def _data_dir(wd: Workdir, pickle: Path) -> Path:
    """The live data's folder: the pickle's data version, else the trained models'."""
    from numerpilot.model_upload.build import read_sidecar
    from numerpilot.modeling.manifest import MANIFEST, load_manifest
    from numerpilot.pipeline.context import Context

    version = (read_sidecar(pickle) or {}).get("data_version")
    if version is None and (wd.models / MANIFEST).exists():
        version = load_manifest(wd.models).data_version
    return Context.load(wd, demo=version == DEMO_VERSION).data_dir


def _inputs(
    wd: Workdir, pickle: Path, live: Path | None, bench: Path | None
) -> tuple[Path, Path | None]:
    from numerpilot.data import layout
    from numerpilot.model_upload.build import read_sidecar

    if live is None:
        live = _data_dir(wd, pickle) / layout.LIVE
    info = read_sidecar(pickle) or {}
    if bench is None and info.get("arguments") == 2:
        bench = live.with_name(layout.LIVE_BENCHMARKS)
    return live, bench


def _resolve_image(pickle: Path, image: str | None) -> RuntimeImage:
    from numerpilot.model_upload.check import default_image

    if image is None:
        return default_image(pickle)
    if image.removeprefix("py") not in IMAGES:
        raise UsageError(f"--image {image}: not one of Numerai's runtime images numerpilot "
                         f"knows ({', '.join(IMAGES)}).")  # fmt: skip
    return image_for(image.removeprefix("py"))


def _render(result: CheckResult, pickle: Path) -> None:
    from rich.table import Table
    from rich.text import Text

    from numerpilot.cli.render import print_table

    table = Table(show_header=False, box=None)
    verdict = "[bold green]PASS[/bold green]" if result.passed else "[bold red]FAIL[/bold red]"
    table.add_row("result", verdict)
    table.add_row("image", result.image)
    table.add_row("wall time", f"{result.wall_seconds:.1f} s (limit 600 s)")
    table.add_row("peak memory", f"{result.peak_rss_mb:.0f} MB (limit 4096 MB)")
    if result.passed:
        table.add_row("predictions", f"{result.rows} (all live ids, in [0, 1], not constant)")
    console.print(f"Numerai runtime replica: {pickle}")
    print_table(table)
    if not result.passed:
        for line in result.log_tail[-8:]:
            console.print(Text(f"  {line}", style="dim"))


def _step(what: str) -> contextlib.AbstractContextManager[object]:
    """A spinner on a terminal; piped (cron, logs), one line saying what is going on."""
    if console.is_terminal:
        return console.status(what)
    console.print(f"{what} ...", highlight=False)
    return contextlib.nullcontext()


def check_pickle(wd: Workdir, pickle: Path, live: Path | None, bench: Path | None,
                 image: str | None) -> CheckResult:  # fmt: skip
    """Run ``pickle`` in the replica of its image; raise DataError (with the fix) on failure.

    The live and benchmark files are checked first: a wrong file is named as such, before
    minutes of building a replica, not reported as the runtime failing on the pickle."""
    from numerpilot.model_upload.check import (
        built_for_another,
        check_inputs,
        refuse_missing_pickle,
        run_in_runtime,
    )
    from numerpilot.model_upload.replica import ensure_replica, is_ready

    refuse_missing_pickle(pickle)
    target = _resolve_image(pickle, image)
    live_path, bench_path = _inputs(wd, pickle, live, bench)
    check_inputs(live_path, bench_path)
    result = built_for_another(pickle, target)  # no replica needed to know that
    if result is None:
        if is_ready(target):
            python = ensure_replica(target)
        else:
            with _step(f"Preparing the {target.key} runtime replica (first use: ~1 min)"):
                python = ensure_replica(target)
        with _step("Running the pickle as Numerai's runtime does"):
            result = run_in_runtime(python, pickle, live_path, image=target,
                                    benchmarks=bench_path)  # fmt: skip
    _render(result, pickle)
    if not result.passed:
        said = "The check could not run the pickle" if result.stage in ("input", "replica") else (
            "Numerai's runtime would fail")  # fmt: skip
        raise DataError(f"{said}: {result.message}\nFix: {result.fix}")
    warn_older_build(pickle)  # it passes: worth knowing whose checks it passed
    return result


@app.command("check-upload", rich_help_panel="Model upload")
def check_upload_cmd(
    pickle: Annotated[
        Path | None,
        typer.Argument(help="Model pickle to check (default: model.pkl of the work directory)."),
    ] = None,
    live: LiveOption = None,
    benchmarks: BenchOption = None,
    image: ImageOption = None,
    directory: WorkdirOption = Path("."),
) -> None:
    """Run a pickle in a local replica of Numerai's runtime (1 CPU, 4 GB, 10 minutes)."""
    wd = workdir(directory)
    classic_only(wd.load_config())
    check_pickle(wd, pickle or wd.root / PICKLE_NAME, live, benchmarks, image)


def _refuse_demo(
    wd: Workdir, demo_dir: str, pickle: Path, live: Path | None, *, demo: bool = False
) -> None:
    """A pickle of models trained on the synthetic demo data passes the check on the demo's
    live file, and would fail on Numerai's every day: its features are not Numerai's. Its
    sidecar says so (or ``demo``: the models it would be built from); without one, the
    live file it would be checked on does."""
    from numerpilot.model_upload.build import read_sidecar

    def checked_on_demo_data() -> bool:
        checked_on = live or _inputs(wd, pickle, None, None)[0]
        return checked_on.resolve().is_relative_to((wd.root / demo_dir).resolve())

    if (
        demo
        or (read_sidecar(pickle) or {}).get("data_version") == DEMO_VERSION
        or checked_on_demo_data()
    ):
        raise UsageError(
            f"{pickle.name} holds models trained on the synthetic demo data (--demo); Numerai "
            "would run them on its live data, which has none of their features. Train on "
            "Numerai's data ('numerpilot download', 'numerpilot train'), then upload."
        )


def _command_again(
    model: str, pickle: Path | None, live: Path | None, bench: Path | None, directory: Path
) -> str:
    """This ``upload-model`` command as given, to run again (the same pickle, checked alike)."""
    words = ["numerpilot", "upload-model", "--model", model]
    for option, value in (("--pickle", pickle), ("--live", live), ("--benchmarks", bench)):
        words += [option, str(value)] if value is not None else []
    return shlex.join(words + _workdir_words(directory))


def _workdir_words(directory: Path) -> list[str]:
    """``-C DIR`` for a command to run again in work folder ``directory`` (none for ".")."""
    return ["-C", str(directory)] if directory != Path(".") else []


@app.command("upload-model", rich_help_panel="Model upload")
def upload_model_cmd(
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="Numerai model name (required: from then on Numerai runs it from the "
            "pickle and takes no API submissions for it).",
            metavar="NAME",
        ),
    ],
    pickle: Annotated[
        Path | None,
        typer.Option(
            "--pickle", help="Pickle to upload (default: build model.pkl).", metavar="FILE"
        ),
    ] = None,
    live: LiveOption = None,
    benchmarks: BenchOption = None,
    directory: WorkdirOption = Path("."),
) -> None:
    """Check the pickle in the runtime replica, then upload it for Numerai to run daily."""
    from numerpilot.api.connect import make_client
    from numerpilot.api.errors import NumeraiAPIError
    from numerpilot.api.http import UNSURE_TAIL
    from numerpilot.model_upload.build import build_upload, read_sidecar
    from numerpilot.model_upload.check import default_image, refuse_missing_pickle
    from numerpilot.modeling.manifest import load_manifest
    from numerpilot.submission.ledger import Ledger

    again = _command_again(model, pickle, live, benchmarks, directory)
    if pickle is not None:  # named as what it is (a device, a folder), not as demo models
        refuse_missing_pickle(pickle)
    wd = workdir(directory)
    config = wd.load_config()
    classic_only(config)
    client = make_client(config)
    model_id = account_model_id(client, model)  # before minutes of checking
    if pickle is None:
        pickle = wd.root / PICKLE_NAME
        _writable_out(pickle, given=False)
        if load_manifest(wd.models).data_version == DEMO_VERSION:  # before building over it
            _refuse_demo(wd, config.demo.dir, pickle, live, demo=True)
        with _pickle_note(pickle, directory):
            _print_built(build_upload(wd.models, pickle))
    _refuse_demo(wd, config.demo.dir, pickle, live)
    check_pickle(wd, pickle, live, benchmarks, None)
    info = read_sidecar(pickle) or {}
    image = default_image(pickle)
    version = str(info.get("data_version") or "")
    data_version = version if version.startswith("v") else None
    with _step(f"Uploading {pickle.name} for {model}"):
        try:
            upload_id = client.upload_model_pickle(pickle, model_id, data_version=data_version,
                                                   docker_image=image.api_name)  # fmt: skip
        except NumeraiAPIError as error:
            if not error.uncertain:
                raise
            cause = str(error).removesuffix(UNSURE_TAIL)
            raise NumeraiAPIError(
                f"{cause}; Numerai may or may not have the pickle. Sending it again is safe "
                "(a model runs from its newest pickle, and this is the same file): run "
                f"'{again}' again."
            ) from None
    Ledger(wd.state_db).record_model_upload(config.submission.tournament, model, model_id,
                                            upload_id)  # fmt: skip
    console.print(f"[bold green]Uploaded[/bold green] {pickle.name} for model [bold]{model}"
                  f"[/bold] (upload {upload_id}, image '{image.api_name}'). Numerai runs it "
                  "every round from now on; the daemon skips this model.")  # fmt: skip
