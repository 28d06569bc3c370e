"""Where things live inside a work directory (the folder holding ``numerpilot.toml``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from numerpilot.config import CONFIG_NAME, Config, load_config


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

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def predictions(self) -> Path:
        return self.root / "predictions"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def state_db(self) -> Path:
        return self.root / "state.db"
