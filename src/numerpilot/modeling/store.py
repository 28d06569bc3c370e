"""Trained ensembles on disk: ``models/manifest.json`` plus one model text file per member
(LightGBM text, XGBoost JSON, or a linear member's JSON).

A bundle's model files live in a folder of their own, ``models/bundle-<time>-<id>/``, and
the manifest names that folder. Saving writes the new folder beside the current one and
then replaces ``manifest.json`` (one rename): a full disk, a crash or Ctrl-C before that
leaves the previous bundle whole and in use, never a mix of old and new files.
``manifest.json`` also names the bundle that was in use before (``previous``): that one is
kept, for ``models rollback`` and for a reader still loading it; every other bundle folder
(older ones, or one that a killed training left unpublished) goes at the next publish. The
callers hold :meth:`~numerpilot.workdir.Workdir.changing_models` meanwhile, so that a
publish or a rollback may also remove the temporary files a killed one left.

The manifest records each model file's SHA-256 and size: a file cut short (a full disk, a
copy cut off) is refused before LightGBM parses it, since its C++ library aborts the whole
process on some texts cut short. Bundles of an earlier numerpilot have no such record: their
LightGBM texts are checked for their end instead (``end of trees``, as many trees as the
header names, a whole parameters block).

Model text files are LightGBM's portable format, so a bundle loads with any LightGBM 4.x.
A loaded bundle is the kernel's *payload* (plain data) plus the models built from it: the
very payload a model-upload pickle carries.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightgbm as lgb

from numerpilot.data.layout import DEMO_VERSION
from numerpilot.errors import DataError
from numerpilot.io import write_bytes_atomic, write_json_atomic
from numerpilot.kernel.ensemble import Payload, build_models
from numerpilot.modeling.lgbm import fatal_lines_hidden
from numerpilot.modeling.manifest import (
    FORMAT,
    MANIFEST,
    Manifest,
    bundle_manifest,
    load_manifest,
    read_json,
)
from numerpilot.modeling.manifest_shape import BUNDLE_PREFIX, is_folder_name
from numerpilot.modeling.model_files import (
    MISSING,
    check_model_file,
    feature_problem,
    file_record,
)

log = logging.getLogger(__name__)

#: What to do about a bundle whose model files are damaged or missing.
REMEDY = ("retrain with 'numerpilot train' ('numerpilot train --demo' on the demo data), or "
          "go back to the previous bundle with 'numerpilot models rollback'.")  # fmt: skip


@dataclass(frozen=True)
class Bundle:
    """A trained ensemble: its manifest, its payload and the models built from it."""

    manifest: Manifest
    payload: Payload
    models: dict[str, Any]


def _new_bundle_name() -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return f"{BUNDLE_PREFIX}{stamp}-{secrets.token_hex(3)}"


def save_bundle(
    folder: Path,
    manifest: Manifest,
    boosters: dict[str, lgb.Booster] | dict[str, str],
    *,
    publish: bool = True,
) -> Manifest:
    """Write the model files (and a copy of the manifest) into a new bundle folder, then,
    with ``publish``, switch ``manifest.json`` to it; returns the bundle's manifest.

    Until the manifest is replaced (the last step, one rename), readers see the previous
    bundle, whole; a failure removes the unfinished folder. An unpublished bundle waits
    for :func:`publish_bundle` (or :func:`discard_bundle`).
    """
    final = replace(manifest, bundle=_new_bundle_name(), format=FORMAT, files={})
    try:
        for target, booster in boosters.items():
            text = (  # model text as it is, or a booster cut at its best iteration
                booster
                if isinstance(booster, str)
                else booster.model_to_string(num_iteration=final.best_iterations[target])
            )
            data = text.encode("utf-8")
            write_bytes_atomic(folder / final.model_file(target), data)
            final.files[target] = file_record(data)
        write_json_atomic(folder / final.bundle / MANIFEST, asdict(final))
        if publish:
            final = publish_bundle(folder, final)
    except BaseException:  # e.g. Ctrl-C: after the publish the bundle is in use and stays
        discard_bundle(folder, final)
        raise
    return final


def publish_bundle(folder: Path, manifest: Manifest) -> Manifest:
    """Make ``manifest``'s bundle the current one (one atomic rename of manifest.json),
    naming as its ``previous`` the bundle in use until now if that one is usable (else the
    one that one would have rolled back to, if usable; else none); returns what was written.

    A bundle of format 1 (model files beside the manifest) is moved into a folder of its
    own first, so that it is kept as ``previous`` for ``models rollback``."""
    before = _current_or_none(folder)
    moved = _into_own_folder(folder, before) if before and not before.bundle else None
    before = moved or before
    previous = _rollback_target(folder, before, manifest.bundle, migrated=moved is not None)
    if moved and previous != moved.bundle:  # damaged: not kept, its flat files stay
        shutil.rmtree(folder / moved.bundle, ignore_errors=True)
    published = _in_use(manifest, previous)
    write_json_atomic(folder / MANIFEST, asdict(published))
    _remove_old_bundles(folder, published)
    if moved:
        _report_migration(folder, moved, kept=previous == moved.bundle)
    return published


def _rollback_target(folder: Path, before: Manifest | None, new: str, *, migrated: bool) -> str:
    """The bundle to keep for ``models rollback`` when ``new`` is published: ``before`` (the
    one in use until now) if it is usable, else the one ``before`` would roll back to if
    that one is usable (a retrain over damaged models keeps the last good ones), else ""."""
    if before is None or before.bundle == new:
        return ""
    problems = _unusable(folder, before)
    if not problems:
        return before.bundle
    earlier = None if migrated else _previous(folder, before)
    fallback = (
        earlier if earlier and earlier.bundle != new and not _unusable(folder, earlier) else None
    )
    kept = (f"{fallback.bundle}, the bundle before them, is kept for 'numerpilot models rollback'"
            if fallback else "no usable bundle is left to roll back to")  # fmt: skip
    which = f"{folder}, of the earlier layout" if migrated else before.bundle
    log.warning("the models in use until now (%s) are damaged (%s), so they are not kept to "
                "roll back to: %s.", which, problems, kept)  # fmt: skip
    return fallback.bundle if fallback else ""


def _unusable(folder: Path, manifest: Manifest) -> str:
    """What makes a bundle no target for a rollback ("" for none): its own manifest copy
    unreadable, or model files missing, empty, cut short or changed (named)."""
    if bundle_manifest(folder, manifest.bundle) is None:
        return f"{folder / manifest.bundle / MANIFEST} is missing or unreadable"
    problems = unreadable_files(folder, manifest)
    return "; ".join(f"{name}: {problem}" for name, problem in problems.items())


def _into_own_folder(folder: Path, flat: Manifest) -> Manifest:
    """Give a format-1 bundle a folder of its own (named after its training time, so that it
    sorts before newer ones) holding its model files and a copy of its manifest.

    The files are linked, not moved: until the new ``manifest.json`` names this folder as
    ``previous``, the format-1 manifest and its files stay whole (a crash meanwhile leaves
    an unnamed folder, removed at the next publish); the flat names go after it
    (:func:`_remove_flat_copies`), only those that are the very files linked."""
    try:
        stamp = datetime.fromisoformat(flat.created).astimezone(UTC)
    except (ValueError, TypeError):
        stamp = datetime.fromtimestamp((folder / MANIFEST).stat().st_mtime, UTC)
    name = f"{BUNDLE_PREFIX}{stamp.strftime('%Y%m%dT%H%M%S%f')}-{secrets.token_hex(3)}"
    moved = replace(flat, bundle=name, format=FORMAT, previous=None, in_use_since="")
    (folder / name).mkdir()
    for target in flat.targets:
        source = folder / flat.model_file(target)
        if source.is_file():  # one already missing stays missing (rollback refuses it)
            _link_or_copy(source, folder / moved.model_file(target))
    write_json_atomic(folder / name / MANIFEST, asdict(moved))
    return moved


def _report_migration(folder: Path, moved: Manifest, *, kept: bool) -> None:
    """Say where the model files of a format-1 bundle went, and which files of the models
    folder stay there as they were (named by no bundle: never removed)."""
    if kept:
        log.info("the models of the earlier layout (model files beside %s) moved into %s, "
                 "kept for 'numerpilot models rollback'.", MANIFEST,
                 folder / moved.bundle)  # fmt: skip
    stay = sorted(p.name for p in folder.glob("*.txt") if not p.name.startswith("."))
    if stay:
        log.warning("%s holds %s, which no kept bundle holds: left as they are (remove them "
                    "when they are no longer needed).", folder, ", ".join(stay))  # fmt: skip


def _link_or_copy(source: Path, dest: Path) -> None:
    try:
        os.link(source, dest)
    except OSError:  # a file system without hard links
        shutil.copy2(source, dest)


def _in_use(manifest: Manifest, previous: str) -> Manifest:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return replace(manifest, previous=previous, in_use_since=now)


def _current_or_none(folder: Path) -> Manifest | None:
    """The bundle in use; for a damaged ``manifest.json``, the one it names if that one's own
    copy is whole (so it is kept as "previous"), else None."""
    try:
        return load_manifest(folder) if (folder / MANIFEST).exists() else None
    except DataError:
        try:
            name = read_json(folder / MANIFEST)["bundle"]
        except (OSError, ValueError, TypeError, KeyError):
            return None
        ok = isinstance(name, str) and is_folder_name(name) and name
        return bundle_manifest(folder, name) if ok else None


def discard_bundle(folder: Path, manifest: Manifest) -> None:
    """Remove an unpublished bundle's folder (never the current one: an interruption just
    after the publish must not take the models in use with it), and any other folder that
    is neither current nor previous (a killed training's)."""
    current = _current_or_none(folder)
    if manifest.bundle and not (current and current.bundle == manifest.bundle):
        shutil.rmtree(folder / manifest.bundle, ignore_errors=True)
    if current is not None and current.previous is not None:  # else: which is previous?
        _remove_old_bundles(folder, current)


def _previous(folder: Path, current: Manifest) -> Manifest | None:
    """The bundle in use before ``current``: the one ``manifest.json`` names (none for
    ""), or, for a manifest written before it named one, the newest bundle folder older
    than ``current`` (a newer one is a training that never finished)."""
    if current.previous is not None:
        return bundle_manifest(folder, current.previous) if current.previous else None
    older = sorted((p.parent.name for p in folder.glob(f"{BUNDLE_PREFIX}*/{MANIFEST}")
                    if p.parent.name < current.bundle), reverse=True)  # fmt: skip
    return next((m for n in older if (m := bundle_manifest(folder, n))), None)


def kept_bundles(folder: Path) -> list[Manifest]:
    """The current bundle and the one in use before it (if kept), newest first."""
    current = load_manifest(folder)
    previous = _previous(folder, current)
    kept = [current, *([previous] if previous else [])]
    return sorted(kept, key=lambda m: m.bundle, reverse=True)


def rollback(folder: Path) -> tuple[Manifest, Manifest]:
    """Switch back to the bundle in use before the current one; returns (from, to).
    Rolling back twice returns to where it started."""
    current = load_manifest(folder)
    earlier = _previous(folder, current)
    retrain = (
        f"retrain with '{_command(current, 'models retrain')}' to have a bundle to go back to."
    )
    if earlier is None and current.previous:
        gone = folder / current.previous
        what = "is missing" if not gone.is_dir() else f"has no readable {MANIFEST}"
        raise DataError(f"the earlier bundle's folder {gone} {what}, so there is nothing to "
                        f"roll back to and the current one stays; {retrain}")  # fmt: skip
    if earlier is None:
        raise DataError(f"no earlier bundle is kept in {folder} to roll back to; {retrain}")
    try:
        load_bundle(folder, earlier)  # its model files must be whole before it serves
    except DataError as error:
        raise DataError(f"the earlier bundle {earlier.bundle} cannot be used, so the "
                        f"current one stays: {str(error).split(';')[0]}; "
                        f"{retrain}") from None  # fmt: skip
    switched = _in_use(earlier, current.bundle)
    write_json_atomic(folder / MANIFEST, asdict(switched))
    _remove_old_bundles(folder, switched)
    return current, switched


def _command(manifest: Manifest, command: str) -> str:
    """``numerpilot <command>``, with ``--demo`` for models of the demo data (what it needs
    to load the same data again)."""
    demo = " --demo" if manifest.data_version == DEMO_VERSION else ""
    return f"numerpilot {command}{demo}"


def _remove_old_bundles(folder: Path, current: Manifest) -> None:
    """Keep the current bundle folder and its previous one; drop the flat names of format-1
    model files that moved into a bundle folder, and the temporary files of a killed save or
    switch.

    Called under the models lock, which every writer of ``models/`` holds (it is released
    when its holder dies, even by SIGKILL): a temporary file of the manifest or of a model
    file found then belongs to no one."""
    if not current.bundle:  # format 1: its files are the models in use
        return
    keep = {current.bundle, current.previous or ""}
    _remove_flat_copies(folder, keep)  # before the folders they moved to go
    for path in folder.glob(f"{BUNDLE_PREFIX}*"):
        if path.is_dir() and path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
    for pattern in _TEMPORARY:
        for temp in (*folder.glob(pattern), *folder.glob(f"{BUNDLE_PREFIX}*/{pattern}")):
            temp.unlink(missing_ok=True)


def _remove_flat_copies(folder: Path, kept: set[str]) -> None:
    """Remove the model files of a format-1 bundle left beside ``manifest.json`` once the
    bundle folder it moved to holds them: only a file that is the very file there (a hard
    link), or, in a kept folder where they were copied, has its name and bytes. Any other
    file of the models folder stays (a user's, or models no bundle names)."""
    for bundle in folder.glob(f"{BUNDLE_PREFIX}*/{MANIFEST}"):
        held = bundle_manifest(folder, bundle.parent.name)
        if held is None or held.files:  # not one moved from format 1 (it records no SHA-256)
            continue
        bytes_too = bundle.parent.name in kept
        for copy in bundle.parent.glob("*.txt"):
            flat = folder / copy.name
            if not flat.is_symlink() and _same_file(flat, copy, bytes_too=bytes_too):
                flat.unlink(missing_ok=True)


def _same_file(a: Path, b: Path, *, bytes_too: bool) -> bool:
    """``a`` is ``b`` (linked), or (``bytes_too``) a copy of it: the same size and bytes."""
    try:
        if a.samefile(b):
            return True
        return (
            bytes_too and a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
        )
    except OSError:
        return False


#: The names :func:`numerpilot.io.write_json_atomic` and its kin give the temporary files
#: of ``manifest.json`` and of model files.
_TEMPORARY = (f".{MANIFEST}.*.tmp", ".*.txt.*.tmp")


def unreadable_files(folder: Path, manifest: Manifest) -> dict[str, str]:
    """The bundle's model files that cannot be used, by name: what is wrong with each
    (:data:`MISSING`, :data:`EMPTY`, or cut short or changed since they were saved)."""
    out = {}
    for target in manifest.targets:
        path = folder / manifest.model_file(target)
        problem = check_model_file(path, manifest.files.get(target))[1]
        if problem:
            out[path.name] = problem
    return out


def load_model_strings(folder: Path, manifest: Manifest) -> dict[str, str]:
    """LightGBM model text per target (what a model-upload pickle embeds), each file checked
    whole (:func:`~numerpilot.modeling.model_files.check_model_file`) before it is parsed."""
    if manifest.bundle and not (folder / manifest.bundle).is_dir():
        raise DataError(f"{folder / manifest.bundle}, the bundle folder that {MANIFEST} names, "
                        f"is missing (removed, or {MANIFEST} copied from another work "
                        f"directory?); {REMEDY}")  # fmt: skip
    out = {}
    for target in manifest.targets:
        path = folder / manifest.model_file(target)
        data, problem = check_model_file(path, manifest.files.get(target))
        if problem == MISSING:
            raise DataError(f"{path} is missing; {REMEDY}")
        if problem:
            raise DataError(damaged(path, problem))
        try:
            out[target] = data.decode("utf-8")
        except UnicodeDecodeError:
            raise DataError(damaged(path, "it is not UTF-8 text")) from None
        mismatch = feature_problem(out[target], manifest.features)
        if mismatch:
            raise DataError(f"{path} does not match {folder / MANIFEST} ({mismatch}): the "
                            "manifest was edited, or the model files are another bundle's; "
                            f"{REMEDY}")  # fmt: skip
    return out


def load_payload(folder: Path) -> tuple[Manifest, Payload]:
    """The manifest and the payload of the bundle in ``folder`` (what ``build-upload`` packs)."""
    manifest = load_manifest(folder)
    return manifest, manifest.payload(load_model_strings(folder, manifest))


def describe(manifest: Manifest) -> str:
    """A bundle in a few words: its folder, when it was trained and on which data."""
    return (f"{manifest.bundle or 'models/'} (trained {manifest.created}, data "
            f"{manifest.data_version})")  # fmt: skip


def load_bundle(folder: Path, manifest: Manifest | None = None) -> Bundle:
    """The current bundle of ``folder`` (or the one ``manifest`` names), models built."""
    manifest = manifest or load_manifest(folder)
    payload = manifest.payload(load_model_strings(folder, manifest))
    try:
        with fatal_lines_hidden():
            models = build_models(payload)
    except (ValueError, TypeError, KeyError, lgb.basic.LightGBMError) as error:
        raise DataError(damaged(folder, error, "a model file in ")) from None
    return Bundle(manifest, payload, models)


def damaged(path: Path, cause: Exception | str | None = None, what: str = "") -> str:
    """A model file (``what`` + a folder: one of its files) that cannot be read: what to do."""
    said = f" ({' '.join(str(cause).split())[:200]})" if cause else ""
    return f"{what}{path} is damaged{said}; {REMEDY}"
