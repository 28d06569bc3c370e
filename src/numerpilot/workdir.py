"""Where things live inside a work directory (the folder holding ``numerpilot.toml``)."""

from __future__ import annotations

import os
import tempfile
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from numerpilot.config import CONFIG_NAME, Config
from numerpilot.config_file import load_config
from numerpilot.errors import WORKDIR_ADVICE, LocalError, from_os_error
from numerpilot.lock import hold

#: ``predict``'s output in ``predictions/`` (with a ``.json`` sidecar).
LIVE_PREDICTIONS = "live_predictions.csv"
#: Held while the models change (train, retrain, rollback); beside ``models/``, not in it.
MODELS_LOCK = "models.lock"


@dataclass(frozen=True)
class Workdir:
    """Layout: ``numerpilot.toml``, ``data/``, ``models/``, ``predictions/``, ``reports/``."""

    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    def load_config(self) -> Config:
        return load_config(self.config_path)

    def data_root(self, config: Config) -> Path:
        return self.root / config.data.dir

    def ensure_data_writable(self, config: Config) -> None:
        """Refuse now a data folder that downloads could not write."""
        instead = f"set another [data] dir in numerpilot.toml (now {config.data.dir!r})"
        ensure_writable(self.data_root(config), instead=instead)

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def predictions(self) -> Path:
        return self.root / "predictions"

    @property
    def live_predictions(self) -> Path:
        return self.predictions / LIVE_PREDICTIONS

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def state_db(self) -> Path:
        return self.root / "state.db"

    def changing_models(self) -> AbstractContextManager[None]:
        """Held while a process trains, retrains or rolls back: one at a time, so that no
        bundle is published, rolled back or cleaned up under another's feet."""
        return hold(self.root / MODELS_LOCK, wait=0, what="training or switching the models")


def ensure_writable(*folders: Path, instead: str = WORKDIR_ADVICE) -> None:
    """Refuse now, not after hours of training, a folder that could not be written later.

    A folder that does not exist yet is not created: its nearest existing parent must be
    a writable folder. The check writes and removes one empty file. ``instead`` is the
    refusal's other way out (by default another work directory).
    """
    for folder in folders:
        base = Path(folder)
        while not base.exists() and base != base.parent:
            if base.is_symlink():
                raise LocalError(
                    f"{folder} cannot be created: {base} is a link to {os.readlink(base)}, "
                    f"which does not exist; create that folder or {instead}."
                )
            base = base.parent
        if not base.is_dir():
            raise LocalError(f"{folder} cannot be created: {base} is a file, not a folder; "
                             f"{instead}.")  # fmt: skip
        try:
            fd, probe = tempfile.mkstemp(prefix=".numerpilot-write-check.", dir=base)
            os.close(fd)
            os.unlink(probe)
        except OSError as error:
            denied = OSError(error.errno, error.strerror, str(folder))
            raise from_os_error(denied, instead=instead) from None
