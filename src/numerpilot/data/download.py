"""Dataset downloads: newest version by default, cached per version, live files per round.

Files land in ``<data_root>/<version>/``. Historical files are downloaded once per version.
``live.parquet`` (and ``live_benchmark_models.parquet``) belong to a round: the round and
each file's sha256 are recorded in ``live.round.json``; a new round downloads them again
(into ``.round<N>/``, moved into place together once all have arrived) and keeps the
previous round's copies as ``live_round<N>.parquet``.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from numerpilot.api.client import NumeraiClient
from numerpilot.api.errors import NumeraiAPIError
from numerpilot.api.rounds import RoundInfo
from numerpilot.config import Config
from numerpilot.data.layout import FEATURES_JSON, TRAIN
from numerpilot.data.live_round import read_live_round, write_live_round
from numerpilot.data.tournaments import LAYOUTS, ensure_features_json
from numerpilot.errors import ConfigError, DataError
from numerpilot.io import sha256_file
from numerpilot.lock import hold
from numerpilot.progress import SILENT, Progress
from numerpilot.workdir import Workdir

log = logging.getLogger(__name__)

#: Where a new round's per-round files wait until all of them have arrived.
STAGE_PREFIX = ".round"
#: Held (in the version folder) while a download changes it: a second download into the
#: same folder waits for the first (at most DOWNLOAD_WAIT seconds), then finds it done.
DOWNLOAD_LOCK = ".download.lock"
DOWNLOAD_WAIT = 1800.0


def unreadable(path: Path, name: str = "") -> str | None:
    """None when ``path`` reads as what its name (or ``name``: a part being downloaded is
    ``<name>.temp``) says: a parquet file's footer, a JSON file's text (features.json: with
    its 'feature_sets'); else what it should have been ("a parquet file", "JSON")."""
    suffix = Path(name or path.name).suffix
    data: object = None
    try:
        if suffix == ".parquet":
            pq.read_metadata(path)
        elif suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, pa.ArrowException):
        return "a parquet file" if suffix == ".parquet" else "JSON"
    if Path(name or path.name).name == FEATURES_JSON and not _has_feature_sets(data):
        return "a features.json (a JSON object with 'feature_sets')"
    return None


def _has_feature_sets(data: object) -> bool:
    """Whether ``data`` (a parsed features.json) has what every command reads of it: an
    error answer in JSON ({"message": "Access Denied"}) parses, but was kept for good."""
    return isinstance(data, dict) and isinstance(data.get("feature_sets"), dict)


def intact(path: Path) -> bool:
    """True when ``path`` exists and reads as what its name says (a cut or damaged file,
    copied in or left by a full disk elsewhere, is downloaded again rather than kept)."""
    if not path.exists():
        return False
    if unreadable(path) is not None:
        log.warning("%s is damaged; downloading it again", path)
        return False
    return True


def refuse_own_dataset(workdir: Workdir, config: Config) -> None:
    """Refuse to download into a ``data.dir`` that holds a dataset of the user's own: the
    version folder it would add there hides those files from every later command."""
    root = workdir.data_root(config) / LAYOUTS[config.submission.tournament].prefix
    if (root / TRAIN).exists():
        raise ConfigError(
            f"data.dir ({root}) holds a dataset of your own ({TRAIN}); Numerai's files "
            "downloaded there would take its place in every later command. Point data.dir "
            'at another folder for Numerai\'s data (e.g. "data"); train, validate and '
            "predict use your own dataset without downloading."
        )


def resolve_version(config: Config, client: NumeraiClient) -> str:
    """The configured version, or the newest one the API lists for ``"newest"``."""
    version = config.data.version
    return client.newest_version() if version == "newest" else version


def download_dataset(
    workdir: Workdir,
    config: Config,
    client: NumeraiClient,
    progress: Progress = SILENT,
    *,
    info: RoundInfo | None = None,
    live_only: bool = False,
    lock_wait: float = DOWNLOAD_WAIT,
) -> Path:
    """Download what numerpilot needs for the configured tournament and version; returns
    its folder (``data/v5.2``, ``data/signals/v2.1``, ...).

    Live files are fetched for the round ``info`` (default: the current round);
    ``live_only``: only the round's live file (what a bring-your-own signal is checked on).
    Another download into the same folder is waited for, at most ``lock_wait`` seconds
    (then :class:`numerpilot.lock.LockedError`).
    """
    refuse_own_dataset(workdir, config)
    spec = LAYOUTS[config.submission.tournament]
    dataset = spec.name(resolve_version(config, client))
    listed = set(client.list_datasets())
    required = (spec.live,) if live_only else spec.required
    missing = [n for n in required if f"{dataset}/{n}" not in listed]
    if missing and config.data.version == "newest":  # Numerai's newest is incomplete
        raise NumeraiAPIError(
            f"Numerai's newest dataset {dataset} lacks {', '.join(missing)} (for now?); try "
            "again later, or pin an older version with [data] version in numerpilot.toml.",
            retryable=True,
        )
    if missing:
        versions = sorted({v for v in map(spec.version_of, listed) if v})
        raise DataError(
            f"Dataset {dataset} lacks {', '.join(missing)} on Numerai. Available "
            f"versions: {', '.join(versions) or 'none'}; set [data] version in numerpilot.toml."
        )
    folder = workdir.data_root(config) / dataset
    folder.mkdir(parents=True, exist_ok=True)
    optional = () if live_only else spec.optional
    wanted = [*required, *(n for n in optional if f"{dataset}/{n}" in listed)]
    with hold(folder / DOWNLOAD_LOCK, wait=lock_wait, what="downloading"):
        for name in wanted:
            if name not in spec.per_round and not intact(folder / name):
                client.download_file(f"{dataset}/{name}", folder / name, progress,
                                     check=functools.partial(unreadable, name=name))  # fmt: skip
        info = info or client.current_round()
        offset = client.server_now() - datetime.now(UTC)
        hashes = _fetch_round(client, dataset, folder, spec.per_round, wanted, info.number,
                              progress)  # fmt: skip
        write_live_round(folder, info.number, hashes, closes=info.close_time,
                         clock_offset=offset)  # fmt: skip
        _drop_stages(folder)
        if spec.tournament != "classic" and not live_only:
            ensure_features_json(folder)
    return folder


def _fetch_round(
    client: NumeraiClient,
    dataset: str,
    folder: Path,
    per_round: tuple[str, ...],
    wanted: list[str],
    number: int,
    progress: Progress,
) -> dict[str, str]:
    """Bring the per-round files in ``wanted`` to round ``number``; returns their SHA-256.

    At a new round the old round's files are first kept as ``<name>_round<M>.<ext>`` (a
    file whose hash is not the one recorded for round M is dropped: it is not known to be
    round M's), also one no longer listed. The new round's files are fetched into
    ``.round<N>/`` (kept there when one fails, so the next run fetches only the rest) and
    moved into place together once all have arrived: the folder never holds one round's
    live file next to another round's benchmarks, and ``live.round.json`` is written only
    then.
    """
    marker = read_live_round(folder) or {}
    recorded = marker.get("round")
    old: dict[str, str] = dict(marker.get("files") or {})
    same_round = recorded == number
    hashes = dict(old) if same_round else {}
    fetch = [
        name for name in wanted if name in per_round and not (
            same_round and intact(folder / name) and old.get(name) == sha256_file(folder / name)
        )
    ]  # fmt: skip
    if not same_round and isinstance(recorded, int):  # also a file no longer listed
        for name in (n for n in per_round if (folder / n).exists()):
            digest = sha256_file(folder / name)
            if old.get(name, digest) == digest:
                os.replace(folder / name, folder / _round_copy(name, recorded))
            else:
                log.info("%s is not the round %d file recorded; dropped", folder / name, recorded)
                (folder / name).unlink()
    stage = folder / f"{STAGE_PREFIX}{number}"
    for name in fetch:
        if not intact(stage / name):
            client.download_file(f"{dataset}/{name}", stage / name, progress, round=number,
                                 check=functools.partial(unreadable, name=name))  # fmt: skip
    for name in fetch:
        os.replace(stage / name, folder / name)
        hashes[name] = sha256_file(folder / name)
        for part in (f"{name}.temp", f"{name}.temp.json"):  # left by older numerpilots
            (folder / part).unlink(missing_ok=True)
    return hashes


def _drop_stages(folder: Path) -> None:
    """Remove what is left of fetching other rounds' files (``.round<N>/``)."""
    for stage in folder.glob(f"{STAGE_PREFIX}*"):
        if stage.is_dir():
            shutil.rmtree(stage, ignore_errors=True)


def dataset_folder(workdir: Workdir, config: Config, client: NumeraiClient) -> Path:
    """The configured tournament's dataset folder (the version asked of Numerai if "newest")."""
    spec = LAYOUTS[config.submission.tournament]
    return workdir.data_root(config) / spec.name(resolve_version(config, client))


def _round_copy(name: str, number: int) -> str:
    stem, dot, suffix = name.partition(".")
    return f"{stem}_round{number}{dot}{suffix}"
