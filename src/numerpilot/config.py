"""The ``numerpilot.toml`` schema: every setting a user may change, validated at load time."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from numerpilot.errors import ConfigError

CONFIG_NAME = "numerpilot.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Section):
    version: str = "newest"
    dir: str = "data"
    feature_set: str = "medium"
    era_step: int = Field(4, ge=1)

    @field_validator("version")
    @classmethod
    def _version_form(cls, value: str) -> str:
        if value != "newest" and not (value.startswith("v") and value[1:2].isdigit()):
            raise ValueError("must be 'newest' or a dataset version such as 'v5.2'")
        return value


class TrainConfig(_Section):
    targets: list[str] = Field(
        default_factory=lambda: [
            "target",
            "target_teager2b_20",
            "target_ender_20",
            "target_jasper_20",
        ],
        min_length=1,
    )
    weights: list[float] | None = None
    holdout_eras: int = Field(52, ge=1)
    embargo_eras: int = Field(8, ge=0)
    early_stopping_rounds: int = Field(200, ge=0)

    @field_validator("targets")
    @classmethod
    def _target_names(cls, value: list[str]) -> list[str]:
        bad = [t for t in value if not t.startswith("target")]
        if bad:
            raise ValueError(f"target names start with 'target', got {bad}")
        if len(set(value)) != len(value):
            raise ValueError("targets must not repeat")
        return value


class LightGBMConfig(_Section):
    """Defaults follow Numerai's "standard large" LightGBM parameters."""

    n_estimators: int = Field(2000, ge=1)
    learning_rate: float = Field(0.01, gt=0, le=1)
    max_depth: int = Field(5, ge=-1)
    num_leaves: int = Field(31, ge=2)
    colsample_bytree: float = Field(0.1, gt=0, le=1)
    min_data_in_leaf: int = Field(20, ge=1)
    seed: int = 0
    num_threads: int = Field(0, ge=0)
    extra: dict[str, Any] = Field(default_factory=dict)


class EnsembleConfig(_Section):
    neutralization_proportion: float = Field(0.0, ge=0, le=1)
    neutralize_against: str = "all"


class SubmissionConfig(_Section):
    tournament: Literal["classic", "signals", "crypto"] = "classic"
    models: list[str] = Field(default_factory=list)


class ScoringConfig(_Section):
    payout_corr_multiplier: float = 0.75
    payout_mmc_multiplier: float = 2.25
    payout_clip: float = Field(0.05, gt=0)
    benchmark_column: str | None = None


class ApiConfig(_Section):
    """How to reach Numerai; ``NUMERPILOT_API_URL`` overrides ``base_url``."""

    base_url: str = "https://api-tournament.numer.ai"
    timeout: float = Field(30.0, gt=0)
    retries: int = Field(3, ge=0)
    backoff: float = Field(1.0, ge=0)


class DemoConfig(_Section):
    """Synthetic data sizes and model settings used by ``numerpilot run --demo``."""

    dir: str = "data/demo"
    train_eras: int = Field(200, ge=20)
    validation_eras: int = Field(80, ge=8)
    rows_per_era: int = Field(400, ge=50)
    n_features: int = Field(120, ge=24)
    live_rows: int = Field(300, ge=10)
    seed: int = 42
    era_step: int = Field(1, ge=1)
    holdout_eras: int = Field(40, ge=1)
    embargo_eras: int = Field(4, ge=0)
    n_estimators: int = Field(300, ge=1)
    learning_rate: float = Field(0.05, gt=0, le=1)
    colsample_bytree: float = Field(0.3, gt=0, le=1)
    early_stopping_rounds: int = Field(100, ge=0)


class Config(_Section):
    data: DataConfig = Field(default_factory=DataConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    lightgbm: LightGBMConfig = Field(default_factory=LightGBMConfig)
    ensemble: EnsembleConfig = Field(default_factory=EnsembleConfig)
    submission: SubmissionConfig = Field(default_factory=SubmissionConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    demo: DemoConfig = Field(default_factory=DemoConfig)

    def for_demo(self) -> Config:
        """The configuration ``run --demo`` uses: the demo data and demo-scaled settings."""
        demo = self.demo
        return self.model_copy(
            update={
                "data": self.data.model_copy(
                    update={"version": "demo", "dir": demo.dir, "era_step": demo.era_step}
                ),
                "train": self.train.model_copy(
                    update={
                        "holdout_eras": demo.holdout_eras,
                        "embargo_eras": demo.embargo_eras,
                        "early_stopping_rounds": demo.early_stopping_rounds,
                    }
                ),
                "lightgbm": self.lightgbm.model_copy(
                    update={
                        "n_estimators": demo.n_estimators,
                        "learning_rate": demo.learning_rate,
                        "colsample_bytree": demo.colsample_bytree,
                    }
                ),
            }
        )


def _describe(error: ValidationError, source: Path) -> str:
    lines = [f"{source}: invalid configuration"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        if item["type"] == "extra_forbidden":
            section = _section_for(item["loc"][:-1])
            allowed = ", ".join(section.model_fields) if section else ""
            lines.append(f"  unknown key '{key}' (allowed here: {allowed})")
        else:
            lines.append(f"  {key}: {item['msg']} (got {item.get('input')!r})")
    return "\n".join(lines)


def _section_for(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = Config
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def parse_config(raw: dict[str, Any], source: Path) -> Config:
    try:
        return Config.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_describe(error, source)) from None


def load_config(path: Path) -> Config:
    """Load and validate a ``numerpilot.toml``; a missing file means all defaults."""
    if not path.exists():
        return Config()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            f"{path}: not valid TOML ({error}). Fix the file or re-create it "
            "with 'numerpilot init --force'."
        ) from None
    return parse_config(raw, path)
