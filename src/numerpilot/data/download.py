"""Dataset downloads: newest version by default, cached per version, live files per round.

Files land in ``<data_root>/<version>/``. Historical files are downloaded once per version.
``live.parquet`` (and ``live_benchmark_models.parquet``) belong to a round: the round and
each file's sha256 are recorded in ``live.round.json``; a new round downloads them again
and keeps the previous round's copies as ``live_round<N>.parquet``.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from numerpilot.api.client import NumeraiClient
from numerpilot.api.rounds import RoundInfo
from numerpilot.config import Config
from numerpilot.data.live_round import read_live_round, write_live_round
from numerpilot.data.tournaments import LAYOUTS, ensure_features_json
from numerpilot.errors import DataError
from numerpilot.io import sha256_file
from numerpilot.progress import SILENT, Progress
from numerpilot.workdir import Workdir

log = logging.getLogger(__name__)


def intact(path: Path) -> bool:
    """True when ``path`` exists and reads as what its name says: a parquet file's footer
    (a cut or damaged file, copied in or left by a full disk elsewhere, is downloaded
    again rather than kept), a JSON file's text."""
    if not path.exists():
        return False
    try:
        if path.suffix == ".parquet":
            pq.read_metadata(path)
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, pa.ArrowException):
        log.warning("%s is damaged; downloading it again", path)
        return False
    return True


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
) -> Path:
    """Download what numerpilot needs for the configured tournament and version; returns
    its folder (``data/v5.2``, ``data/signals/v2.1``, ...).

    Live files are fetched for the round ``info`` (default: the current round);
    ``live_only``: only the round's live file (what a bring-your-own signal is checked on).
    """
    spec = LAYOUTS[config.submission.tournament]
    dataset = spec.name(resolve_version(config, client))
    listed = set(client.list_datasets())
    required = (spec.live,) if live_only else spec.required
    missing = [n for n in required if f"{dataset}/{n}" not in listed]
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
    info = info or client.current_round()
    round_number = info.number
    offset = client.server_now() - datetime.now(UTC)
    marker = read_live_round(folder) or {}
    same_round = marker.get("round") == round_number
    hashes: dict[str, str] = dict(marker.get("files") or {}) if same_round else {}
    for name in wanted:
        dest = folder / name
        if name not in spec.per_round:
            if not intact(dest):
                client.download_file(f"{dataset}/{name}", dest, progress)
            continue
        if same_round and dest.exists() and hashes.get(name) == sha256_file(dest):
            continue
        if dest.exists() and isinstance(marker.get("round"), int) and not same_round:
            os.replace(dest, folder / _round_copy(name, int(marker["round"])))
        client.download_file(f"{dataset}/{name}", dest, progress, round=round_number)
        hashes[name] = sha256_file(dest)
        write_live_round(folder, round_number, hashes, closes=info.close_time, clock_offset=offset)
    write_live_round(folder, round_number, hashes, closes=info.close_time, clock_offset=offset)
    if spec.tournament != "classic" and not live_only:
        ensure_features_json(folder)
    return folder


def dataset_folder(workdir: Workdir, config: Config, client: NumeraiClient) -> Path:
    """The configured tournament's dataset folder (the version asked of Numerai if "newest")."""
    spec = LAYOUTS[config.submission.tournament]
    return workdir.data_root(config) / spec.name(resolve_version(config, client))


def _round_copy(name: str, number: int) -> str:
    stem, dot, suffix = name.partition(".")
    return f"{stem}_round{number}{dot}{suffix}"
