"""The ``numerpilot.toml`` schema: every setting a user may change, validated at load time.

Each field's default and description live here only: ``numerpilot init`` renders the
commented file from this schema (:mod:`numerpilot.template`).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from numerpilot.lightgbm_keys import reserved_lightgbm_key

if TYPE_CHECKING:
    from numerpilot.data.synthetic import SyntheticSpec

CONFIG_NAME = "numerpilot.toml"
#: More threads than any machine has cores: LightGBM's OpenMP crashes far above it.
MAX_THREADS = 1024
#: LightGBM's counts are C ints: a larger one wraps around and is refused as negative.
MAX_INT32 = 2**31 - 1
#: LightGBM's largest num_leaves.
MAX_LEAVES = 131072
#: Waits longer than these are mistakes, and far longer ones overflow the system's timers.
HOUR, DAY, WEEK = 3600, 86400, 7 * 86400
#: The error type of two keys that contradict each other (the message names both).
CONTRADICTION = "contradiction"


class _Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, allow_inf_nan=False, strict=True
    )


class DataConfig(_Section):
    """Which dataset and which part of it to train on."""

    version: str = Field(
        "newest",
        description='Dataset version: "newest" (download fetches the latest one Numerai '
        "lists; train, predict and the other commands use the newest complete version "
        'folder in data.dir, so run download to move to a new one), or pin e.g. "v5.2".',
    )
    dir: str = Field(
        "data",
        description="Where dataset files are stored: one folder per version (as 'download' "
        "writes them), or the files of one dataset themselves (e.g. one of your own).",
    )
    feature_set: str = Field(
        "medium",
        description='Feature set of features.json: "small", "medium", "all", or a group '
        'such as "serenity".',
    )
    era_step: int | Literal["auto"] = Field(
        "auto",
        description='Train on every Nth era; "auto": every era when train fits in memory '
        "(train.memory_gb), else the smallest step that fits.",
    )

    @property
    def step(self) -> int:
        """The era step as a number; "auto" is resolved by the memory plan before training
        (``numerpilot.pipeline.plan.with_era_step``)."""
        if self.era_step == "auto":
            raise ValueError('data.era_step "auto" was not resolved by the memory plan')
        return self.era_step

    @field_validator("era_step", mode="before")
    @classmethod
    def _era_step(cls, value: Any) -> Any:
        if value == "auto" or (type(value) is int and value >= 1):
            return value
        raise ValueError('must be "auto" or a whole number of at least 1')

    @field_validator("feature_set")
    @classmethod
    def _set_name(cls, value: str) -> str:
        return feature_set_name(value)

    @field_validator("dir")
    @classmethod
    def _dir(cls, value: str) -> str:
        return not_blank(value)

    @field_validator("version")
    @classmethod
    def _version_form(cls, value: str) -> str:
        # A folder name under data.dir too: nothing but v, digits and dots (no "/", "..").
        if value != "newest" and not re.fullmatch(r"v[0-9]+(\.[0-9]+)*", value):
            raise ValueError("must be 'newest' or a dataset version such as 'v5.2'")
        return value


class TrainConfig(_Section):
    """Per target, tree models (one per seed) and a ridge model; the ensemble averages their
    per-era rank-gauss scores with weights fitted on held-out eras (the README's recipe)."""

    targets: list[str] = Field(
        default_factory=lambda: [
            "target",
            "target_teager2b_20",
            "target_ender_20",
            "target_jasper_20",
        ],
        min_length=1,
        description="Targets to train models on; the ensemble weights are fitted against "
        "main_target, listed or not.",
    )
    main_target: str = Field(
        "target",
        description="The target the ensemble weights are fitted against, and validate and "
        "cv score on: the data's main 'target' column, or a named one such as "
        "target_ender_20 (each round names the target Numerai scores it on: status says "
        "when it is another).",
    )
    weights: list[float] | None = Field(
        None,
        description="Ensemble weights, one per target, split evenly between its trees and "
        "its linear model (default: fitted on the held-out eras' per-era scores, shrunk "
        "toward the main target's trees; members that do not help get none).",
        json_schema_extra={"example": [1.0, 1.0, 1.0, 1.0]},
    )
    holdout_eras: int = Field(
        52,
        ge=1,
        description="Without era folds (cv_folds < 2, or refit = false): the last eras "
        "of train, held out to choose the tree count and the ensemble weights ...",
    )
    embargo_eras: int = Field(
        8, ge=0, description="... behind this many eras, so overlapping targets do not leak."
    )
    cv_folds: int = Field(
        3,
        ge=0,
        description="Choose the tree count and the weights on this many contiguous era "
        "folds (embargo_eras purged around each) instead of the last holdout_eras "
        "(0 or 1: the holdout).",
    )
    early_stopping_rounds: int = Field(
        600,
        ge=0,
        description="Choose the tree count on held-out eras (0: off, every model gets "
        "lightgbm.n_estimators trees). A model stops when its held-out score, smoothed "
        "over a quarter of this many rounds, has not improved for this many rounds; on "
        "era folds, each fold stops on its own and the count is the peak of the folds' "
        "mean score (smoothed the same way) over the rounds every fold reached.",
    )
    refit: bool = Field(
        True,
        description="After choosing the tree count on held-out eras (the cv_folds era "
        "folds, or the last holdout_eras), fit again on every training era (held-out and "
        "embargo eras included), with the tree count scaled by the rows added (false: keep "
        "the models fitted before the holdout).",
    )
    memory_gb: float = Field(
        0.0,
        ge=0,
        description="Memory train may use, in GiB (0: what this machine has available). "
        "Train refuses a job whose predicted peak exceeds it.",
    )

    @field_validator("main_target")
    @classmethod
    def _main_target_name(cls, value: str) -> str:
        if value != value.strip():
            raise ValueError(f"a target column's name has no spaces around it, got {value!r}")
        if not value.startswith("target"):
            raise ValueError(f"a target column's name starts with 'target', got {value!r}")
        return value

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
    """LightGBM parameters: Numerai's "standard large" ones with deeper trees (depth 7, 127
    leaves: the README's default recipe says why); any other parameter goes in ``extra``."""

    n_estimators: int = Field(2000, ge=1, le=MAX_INT32, description="Boosting rounds (trees).")
    learning_rate: float = Field(0.01, gt=0, le=1)
    max_depth: int = Field(7, ge=-1, le=MAX_INT32)
    num_leaves: int = Field(127, ge=2, le=MAX_LEAVES)
    colsample_bytree: float = Field(0.1, gt=0, le=1)
    min_data_in_leaf: int = Field(20, ge=1, le=MAX_INT32)
    seed: int = Field(
        0, ge=0, le=MAX_INT32 - 2, description="The first seed (model.seeds unset: +1 and +2 too)."
    )
    num_threads: int = Field(
        0,
        ge=0,
        le=MAX_THREADS,
        description="Threads for LightGBM (0: the physical cores other jobs leave free).",
    )
    extra: dict[str, Any] = Field(
        default_factory=dict,
        description="Any other LightGBM parameter, e.g. {lambda_l2 = 1}. Refused here: the "
        "parameters numerpilot sets (the keys above, seeds, objective, metric, threads, "
        "device, early stopping, deterministic, verbosity, binning) and their LightGBM "
        "aliases, which would override them: set the key above, or the [model] or [train] "
        "setting the error names.",
    )

    @field_validator("extra")
    @classmethod
    def _scalars(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, item in value.items():
            finite = not isinstance(item, float) or math.isfinite(item)
            if not (isinstance(item, str | int | float) and finite):
                raise ValueError(f"{key} must be a string, a finite number or true/false, "
                                 f"got {item!r}")  # fmt: skip
            reserved = reserved_lightgbm_key(key)
            if reserved:
                raise PydanticCustomError("reserved_key", reserved)
        return value


class EnsembleConfig(_Section):
    """How the models' predictions are combined."""

    neutralization_proportion: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of the ensemble's linear feature exposure removed per era "
        "(0: none, 1: all).",
    )
    neutralize_against: str = Field(
        "all",
        description='Neutralize against "all" features, a feature set or a group (checked '
        "even at proportion 0).",
    )

    @field_validator("neutralize_against")
    @classmethod
    def _set_name(cls, value: str) -> str:
        return feature_set_name(value)


def feature_set_name(value: str) -> str:
    """``value`` when it can name a feature set of features.json (letters, digits, ``_``,
    ``-``, ``.``); whether features.json has it is checked where the data is read."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
        raise ValueError('must name a feature set or group of features.json, e.g. "all", '
                         '"medium" or "serenity"')  # fmt: skip
    return value


class SubmissionConfig(_Section):
    """Where the live predictions go."""

    tournament: Literal["classic", "signals", "crypto"] = Field(
        "classic", description='"classic", "signals" or "crypto".'
    )
    models: list[str] = Field(
        default_factory=list, description="Your Numerai model names that receive the predictions."
    )
    signal_file: str | None = Field(
        None,
        description="A signal your own job writes each round (relative to the work dir): "
        "the daemon submits it instead of predicting (the Crypto way).",
        json_schema_extra={"example": "my_signal.csv"},
    )
    max_churn: float = Field(
        0.15,
        gt=0,
        le=2,
        description="Signals: refuse a submission whose churn against the model's previous "
        "ones reaches this (Numerai zeroes the stake at 15 %) unless --allow-churn.",
    )
    max_turnover: float = Field(
        0.25,
        gt=0,
        le=2,
        description="Signals: refuse at this turnover (Numerai zeroes the stake at 25 %) "
        "unless --allow-churn.",
    )
    unsure_wait_seconds: float = Field(
        120.0,
        ge=0,
        le=DAY,
        description="An upload whose outcome stayed unknown (no answer, a 5xx) is sent again "
        "only when Numerai still does not list it this many seconds later (a list that lags "
        "behind an upload Numerai made then gets no second one; at most a day).",
    )

    @field_validator("models")
    @classmethod
    def _model_names(cls, value: list[str]) -> list[str]:
        if any(not name.strip() for name in value):
            raise ValueError("a model name is blank; list your Numerai model names")
        if len(set(value)) != len(value):
            raise ValueError("model names must not repeat (each model gets one submission)")
        return value

    @field_validator("signal_file")
    @classmethod
    def _signal_path(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return not_blank(value, 'name the file your job writes, e.g. "my_signal.csv"')


def not_blank(value: str, instead: str = 'write "." for the work directory itself') -> str:
    """``value`` unless it is empty or spaces; ``instead``: what to write instead."""
    if not value.strip():
        raise ValueError(f"must not be empty ({instead})")
    return value


class ScoringConfig(_Section):
    """Payout estimate per round: stake * clip(corr_mult * CORR + mmc_mult * MMC, +-clip)."""

    payout_corr_multiplier: float = 0.75
    payout_mmc_multiplier: float = 2.25
    payout_clip: float = Field(0.05, gt=0)
    benchmark_column: str | None = Field(
        None,
        description="Benchmark model column for BMC (validation_benchmark_models.parquet).",
        json_schema_extra={"example": "v52_lgbm_teager2b20"},
    )


class ApiConfig(_Section):
    """How to reach Numerai; the environment variable NUMERPILOT_API_URL overrides base_url."""

    base_url: str = Field("https://api-tournament.numer.ai", description="The Numerai API.")
    timeout: float = Field(
        30.0, gt=0, le=HOUR, description="Seconds before a request is abandoned (at most 3600)."
    )
    retries: int = Field(
        3,
        ge=0,
        le=100,
        description="Retries of failed requests (connection errors, timeouts, cut-off "
        "answers, HTTP 429 and 5xx), waiting backoff * 2^attempt seconds (at most 30), or "
        "longer when the server's Retry-After asks (at most 60). An upload is resent only "
        "when it cannot have reached Numerai (or a 429 turned it away). At most 100.",
    )
    backoff: float = Field(1.0, ge=0)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        problem = url_problem(value)
        if problem:
            raise ValueError(problem)
        return value.strip()  # spaces around it, as a copy and paste leaves them


def url_problem(url: str, *, secret: bool = False, userinfo: bool = False) -> str | None:
    """Why ``url`` is not an http(s) URL with a host, or None when it is one. The URL is
    quoted without a user name or password, and not at all when it is ``secret`` (a
    webhook's path is its token); ``userinfo``: whether ``user:password@`` may be in it."""
    from urllib.parse import urlsplit

    from numerpilot.credentials import without_userinfo

    shown = "the URL" if secret else repr(without_userinfo(url))
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError as error:
        return f"{shown} is not a valid URL ({error})"
    if any(c.isspace() for c in url.strip()):
        return f"{shown} holds a space; a URL has none (write %20 for one in a path)"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        example = (
            "https://hooks.example.com/..."
            if secret
            else ("https://api-tournament.numer.ai, or http://127.0.0.1:8765/ for the sandbox")
        )
        return f"{shown} is not an http(s) URL (e.g. {example})"
    if not userinfo and "@" in parts.netloc:
        return (f"{shown} holds a user name or password (user:password@): Numerai's API "
                "takes the API keys, nothing else; remove it")  # fmt: skip
    return None


class DaemonConfig(_Section):
    """``numerpilot daemon``: every round, for every model in [submission] models."""

    poll_seconds: float = Field(
        60.0,
        gt=0,
        le=DAY,
        description="Seconds between checks while a round is due (with jitter; at most a day).",
    )
    lead_seconds: float = Field(
        300.0,
        ge=0,
        le=WEEK,
        description="Wake up this long before a round is expected to open (at most a week).",
    )
    max_sleep_seconds: float = Field(
        900.0,
        gt=0,
        le=DAY,
        description="Never sleep longer than this between two looks at the API (at most a day).",
    )
    retrain: Literal["never", "weekly", "new-data-version"] = Field(
        "never",
        description='Retrain outside round windows: "never", "weekly" or '
        '"new-data-version" (when Numerai publishes a newer dataset).',
    )
    retrain_tolerance: float = Field(
        0.002,
        ge=0,
        description="New models replace the current ones unless their validation CORR is "
        "worse by more than this.",
    )
    alert_webhook: str | None = Field(
        None,
        description="POST a JSON alert here when a round fails or is missed, or the daemon "
        "stops (no secrets in it; a Slack-style URL is itself one: keep this file private).",
        json_schema_extra={"example": "https://hooks.example.com/numerpilot"},
    )

    @field_validator("alert_webhook")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        problem = None if value is None else url_problem(value, secret=True, userinfo=True)
        if problem:
            raise ValueError(problem)
        return None if value is None else value.strip()

    @model_validator(mode="after")
    def _poll_within_max_sleep(self) -> DaemonConfig:
        """A poll longer than ``max_sleep_seconds`` would be slept whole while a round is
        due, breaking the promise of the longest sleep."""
        if self.poll_seconds > self.max_sleep_seconds:
            raise PydanticCustomError(
                CONTRADICTION,
                f"daemon.poll_seconds ({self.poll_seconds:g}) is longer than "
                f"daemon.max_sleep_seconds ({self.max_sleep_seconds:g}), the longest the "
                "daemon may sleep between two looks at the API; lower poll_seconds or raise "
                "max_sleep_seconds",
            )
        return self


class ModelConfig(_Section):
    """Which library trains the members, on which device, and how many seeds per target."""

    backend: Literal["lightgbm", "xgboost"] = Field(
        "lightgbm",
        description='"lightgbm", or "xgboost" (pip install xgboost; in numerpilot\'s checkout '
        "pip install -e '.[xgboost]'); both train from the int8 matrix in batches.",
    )
    device: Literal["cpu", "gpu"] = Field(
        "cpu", description='"cpu", or "gpu" (XGBoost with CUDA, or a GPU build of LightGBM).'
    )
    seeds: list[int] | None = Field(
        None,
        min_length=1,
        description="One member per target and seed, averaged by the ensemble (default: "
        "three, seeded lightgbm.seed, +1 and +2; [0] for one). The first seed's held-out "
        "fits choose each target's tree count and the weights; every seed is refit with "
        "them.",
        json_schema_extra={"example": [0, 1, 2]},
    )
    linear: bool = Field(
        True,
        description="Add a ridge-regression member per target (penalty chosen on the "
        "held-out eras), weighted with the tree models by their held-out scores.",
    )
    linear_pairs: bool = Field(
        True,
        description="Let each ridge member also use the products of two features (and "
        "squares) that move the main target significantly on its fit eras (t over the "
        "eras, 1 % after Bonferroni over the squares, and over the products, apart; at most "
        "64).",
    )

    era_sample: float = Field(
        1.0,
        gt=0,
        le=1,
        description="Share of the training eras each member fits on: whole eras, chosen by "
        "the member's seed (the same eras here and on a Dask worker), so seeds also differ "
        "in their data (1: every era).",
    )

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("seeds must not repeat")
        outside = [seed for seed in value or [] if not 0 <= seed <= MAX_INT32]
        if outside:  # LightGBM's seeds wrap around 2**31: two "seeds" would be one
            raise ValueError(f"seeds must be whole numbers 0 to {MAX_INT32}, not {outside[0]}")
        return value


class ClusterConfig(_Section):
    """``--cluster``: train's and cv's fits as Dask tasks, each worker reading its own data."""

    workers: int = Field(
        0,
        ge=0,
        description="Worker processes of --cluster local, one fit each at a time on "
        "lightgbm.num_threads threads (0: as many as the cores hold at that thread count "
        "and the free memory holds at one fit's estimated peak each).",
    )

    data_url: str | None = Field(
        None,
        description="Where the workers read the dataset files: a folder laid out like "
        "data.dir, as an object store URL (s3://bucket/prefix, gs://bucket/prefix, "
        "file:///path, or any fsspec URL) or a path every worker sees. Credentials come "
        "from the workers' environment (e.g. AWS_ACCESS_KEY_ID). Default: data.dir's path "
        "on this machine, which every worker must then see.",
        json_schema_extra={"example": "s3://my-bucket/numerai"},
    )

    @field_validator("data_url")
    @classmethod
    def _url_or_absolute(cls, value: str | None) -> str | None:
        from numerpilot.data.remote import is_url

        if value is None or is_url(value) or Path(value).is_absolute():
            return value
        raise ValueError("must be a URL such as s3://bucket/prefix or an absolute path")


class CVConfig(_Section):
    """``numerpilot cv``: era cross-validation, test blocks after their training eras."""

    scheme: Literal["expanding", "walk-forward"] = Field(
        "expanding",
        description='"expanding": train on every era before the test block; "walk-forward": '
        "on a window of train_eras.",
    )
    folds: int = Field(4, ge=1, description="Test blocks, the last eras of the data.")
    test_eras: int = Field(
        0, ge=0, description="Eras per test block (0: the later half of the eras, split evenly)."
    )
    train_eras: int = Field(
        0, ge=0, description="Walk-forward window in eras (0: as long as the first fold's)."
    )
    purge_eras: int | None = Field(
        None,
        ge=0,
        description="Eras purged before each test block (default: from the targets' "
        "horizons, 8 for 20-day targets, 16 for 60-day).",
        json_schema_extra={"example": 8},
    )
    embargo_eras: int = Field(0, ge=0, description="Extra eras of gap beyond the purge.")
    include_validation: bool = Field(
        False,
        description="Cross-validate on train and validation eras (where the meta model "
        "covers, MMC is scored).",
    )


class DemoConfig(_Section):
    """Synthetic data and small-model settings of ``--demo`` (no keys, no network)."""

    dir: str = Field("data/demo", description="Where the synthetic demo dataset is written.")
    train_eras: int = Field(200, ge=10)
    validation_eras: int = Field(80, ge=8)
    rows_per_era: int = Field(400, ge=50, description="Rows per era (+-10 %).")
    n_features: int = Field(120, ge=24)
    live_rows: int = Field(300, ge=10)
    seed: int = Field(42, ge=0, description="Same seed, same files.")
    era_step: int = Field(1, ge=1)
    holdout_eras: int = Field(40, ge=1)
    embargo_eras: int = Field(4, ge=0)
    n_estimators: int = Field(300, ge=1, le=MAX_INT32)
    learning_rate: float = Field(0.05, gt=0, le=1)
    colsample_bytree: float = Field(0.3, gt=0, le=1)
    early_stopping_rounds: int = Field(100, ge=0)
    cv_folds: int = Field(
        0, ge=0, description="0: the tree count on one holdout, about 3x faster than folds."
    )

    @field_validator("dir")
    @classmethod
    def _dir(cls, value: str) -> str:
        return not_blank(value)

    def spec(self) -> SyntheticSpec:
        """The synthetic dataset these settings describe."""
        from numerpilot.data.synthetic import SyntheticSpec

        return SyntheticSpec(
            train_eras=self.train_eras,
            validation_eras=self.validation_eras,
            rows_per_era=self.rows_per_era,
            n_features=self.n_features,
            live_rows=self.live_rows,
            seed=self.seed,
        )


#: The settings ``--demo`` takes from ``[demo]`` keys of the same name, per section.
DEMO_SETTINGS = {
    "data": ("dir", "era_step"),
    "train": ("holdout_eras", "embargo_eras", "early_stopping_rounds", "cv_folds"),
    "lightgbm": ("n_estimators", "learning_rate", "colsample_bytree"),
}


def setting_name(key: str, *, demo: bool) -> str:
    """How a message names setting ``key`` (``"train.embargo_eras"``): under ``--demo``, the
    ``[demo]`` key that sets it, which the user would change."""
    section, _, name = key.partition(".")
    return f"demo.{name}" if demo and name in DEMO_SETTINGS.get(section, ()) else key


class Config(_Section):
    data: DataConfig = Field(default_factory=DataConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    lightgbm: LightGBMConfig = Field(default_factory=LightGBMConfig)
    ensemble: EnsembleConfig = Field(default_factory=EnsembleConfig)
    submission: SubmissionConfig = Field(default_factory=SubmissionConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    cv: CVConfig = Field(default_factory=CVConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    demo: DemoConfig = Field(default_factory=DemoConfig)

    def for_demo(self) -> Config:
        """The configuration ``--demo`` uses: the demo data and demo-scaled settings."""
        raw = self.model_dump()
        for section, keys in DEMO_SETTINGS.items():
            raw[section].update({key: getattr(self.demo, key) for key in keys})
        from numerpilot.config_file import parse_config

        return parse_config(raw, Path("[demo]"))
