"""Which config, data folder and model folder a command works with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from numerpilot.config import Config, TrainConfig
from numerpilot.data.layout import DEMO_VERSION, MAIN_TARGET, TRAIN
from numerpilot.data.local import local_dataset
from numerpilot.data.synthetic_io import check_finished
from numerpilot.data.tournaments import LAYOUTS
from numerpilot.errors import ConfigError, DataError
from numerpilot.workdir import Workdir


@dataclass(frozen=True)
class Context:
    """A command's work directory and configuration (demo-scaled for ``--demo``)."""

    workdir: Workdir
    config: Config
    is_demo: bool = False

    @classmethod
    def load(cls, workdir: Workdir, *, demo: bool = False) -> Context:
        config = workdir.load_config()
        if demo:
            return cls(workdir, config.for_demo(), demo)
        refuse_untrainable(config)
        return cls(workdir, for_tournament(config), demo)

    @property
    def tournament(self) -> str:
        return "classic" if self.is_demo else self.config.submission.tournament

    @property
    def data_dir(self) -> Path:
        """The dataset folder: the demo folder, the pinned version, or the newest one here
        (Signals and Crypto: under ``signals/`` and ``crypto/``); without version folders,
        ``data.dir`` itself when it holds the files (a dataset of your own)."""
        root = self.workdir.data_root(self.config)
        if self.is_demo:
            return root
        root = root / LAYOUTS[self.tournament].prefix
        folder = local_dataset(root, self.config.data.version)
        if folder is not None and not folder.is_dir() and (root / TRAIN).exists():
            raise DataError(f"data.version = \"{folder.name}\" names a folder that {root} "
                            "does not have, and that folder holds a dataset of your own "
                            '(train.parquet): set data.version = "newest" to use it.')  # fmt: skip
        if folder is not None:
            check_finished(folder)
            return folder
        raise DataError(self._no_dataset(root))

    def _no_dataset(self, root: Path) -> str:
        demo = self.workdir.root / self.config.demo.dir
        if (demo / TRAIN).exists():
            return (f"no dataset in {root}, only the demo dataset in {demo}: add --demo to "
                    "use it, or run 'numerpilot download' for Numerai's data.")  # fmt: skip
        return (f"no dataset in {root} (neither a version folder such as {root / 'v5.2'} nor "
                f"{TRAIN} itself). Run 'numerpilot download' first, point data.dir at your "
                "dataset's folder, or add --demo to work on synthetic data (e.g. "
                "'numerpilot run --demo').")  # fmt: skip

    @property
    def data_version(self) -> str:
        return DEMO_VERSION if self.is_demo else self.data_dir.name


def refuse_untrainable(config: Config) -> None:
    """Crypto data has targets but no features: nothing for numerpilot to train on."""
    if config.submission.tournament == "crypto":
        raise ConfigError(
            "Numerai's Crypto data has targets but no features, so numerpilot cannot train "
            "for Crypto: compute your signal elsewhere and submit it with 'numerpilot submit "
            "--file FILE' (checked, uploaded once, recorded), or let the daemon submit it "
            "every round ([submission] signal_file)."
        )


def for_tournament(config: Config) -> Config:
    """Signals and Crypto data have one main ``target``: the default Classic targets become
    ``["target"]`` there, also when numerpilot.toml spells them out as ``init`` writes them
    (other targets set there are kept)."""
    if config.submission.tournament == "classic" or config.train.targets != TrainConfig().targets:
        return config
    train = config.train.model_copy(update={"targets": [MAIN_TARGET], "weights": None})
    return config.model_copy(update={"train": train})
