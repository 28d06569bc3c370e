from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from numerpilot.config import Config, load_config
from numerpilot.errors import ConfigError
from numerpilot.template import CONFIG_TEMPLATE


def test_template_documents_exactly_the_defaults() -> None:
    parsed = Config.model_validate(tomllib.loads(CONFIG_TEMPLATE))
    assert parsed == Config()


def test_template_mentions_every_key() -> None:
    raw = tomllib.loads(CONFIG_TEMPLATE)
    for section, model in Config.model_fields.items():
        annotation = model.annotation
        assert annotation is not None
        documented = set(raw.get(section, {}))
        optional = {
            "weights",
            "benchmark_column",
            "alert_webhook",
            "seeds",
            "purge_eras",
            "signal_file",
            "data_url",
        }  # shown commented out
        assert set(annotation.model_fields) - optional <= documented, section


def test_demo_settings_are_validated() -> None:
    config = Config()
    config.demo.__dict__["n_estimators"] = 0  # as if set without validation
    with pytest.raises(ConfigError, match="n_estimators"):
        config.for_demo()


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path / "numerpilot.toml") == Config()


def test_unknown_key_names_the_key_and_the_allowed_ones(tmp_path: Path) -> None:
    path = tmp_path / "numerpilot.toml"
    path.write_text('[data]\nfeature_sett = "small"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "unknown key 'data.feature_sett'" in message
    assert "feature_set" in message and "era_step" in message


def test_unknown_section_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "numerpilot.toml"
    path.write_text("[lgbm]\nn_estimators = 3\n")
    with pytest.raises(ConfigError, match="unknown key 'lgbm'.*lightgbm"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[submission]\ntournament = "classik"\n', "submission.tournament.*classic"),
        ("[lightgbm]\nlearning_rate = -1\n", "lightgbm.learning_rate"),
        ('[data]\nversion = "latest"\n', "data.version.*v5.2"),
        ('[train]\ntargets = ["price"]\n', "train.targets"),
        ("[data]\nera_step = 0\n", "data.era_step"),
        # wrong types are refused, not converted (true was 1 retry, "yes" was true)
        ("[api]\nretries = true\n", "api.retries: Input should be a valid integer"),
        ('[lightgbm]\nn_estimators = "300"\n', "lightgbm.n_estimators: Input should be a"),
        ('[train]\nrefit = "yes"\n', "train.refit: Input should be a valid boolean"),
        ("[lightgbm]\nseed = false\n", "lightgbm.seed: Input should be a valid integer"),
    ],
)
def test_bad_values_name_key_and_rule(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "numerpilot.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=expected):
        load_config(path)


@pytest.mark.parametrize(
    "version", ["v5.2/", "v5/../x", "v5.2/../../etc", "v", "v5.", "v.2", "V5.2", "v5..2",
                "v5.2\n", "v\u0665.2", " v5.2", "5.2", "newest/"],
)  # fmt: skip
def test_data_version_is_newest_or_a_version_name(tmp_path: Path, version: str) -> None:
    path = tmp_path / "numerpilot.toml"
    path.write_text(f"[data]\nversion = {json.dumps(version)}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"data\.version: must be 'newest' or .*'v5\.2'"):
        load_config(path)


@pytest.mark.parametrize("version", ["newest", "v5", "v5.0", "v5.2", "v2.1", "v10.12.3"])
def test_data_version_forms_numerai_uses(tmp_path: Path, version: str) -> None:
    path = tmp_path / "numerpilot.toml"
    path.write_text(f'[data]\nversion = "{version}"\n')
    assert load_config(path).data.version == version


def test_invalid_toml_says_how_to_recover(tmp_path: Path) -> None:
    path = tmp_path / "numerpilot.toml"
    path.write_text("[data\n")
    with pytest.raises(ConfigError, match="not valid TOML.*init --force"):
        load_config(path)


def test_demo_overrides_only_demo_settings() -> None:
    config = Config()
    demo = config.for_demo()
    assert demo.data.dir == config.demo.dir and demo.data.era_step == config.demo.era_step
    assert demo.lightgbm.n_estimators == config.demo.n_estimators
    assert demo.lightgbm.max_depth == config.lightgbm.max_depth
    assert demo.train.targets == config.train.targets


def test_cluster_data_url_is_a_url_or_an_absolute_path() -> None:
    from numerpilot.config import ClusterConfig

    assert ClusterConfig(data_url="s3://bucket/numerai").data_url == "s3://bucket/numerai"
    assert ClusterConfig(data_url="/mnt/shared/data").data_url == "/mnt/shared/data"
    with pytest.raises(ValueError, match="a URL such as s3://bucket/prefix or an absolute path"):
        ClusterConfig(data_url="data")


def test_a_byte_order_mark_is_no_error(tmp_path: Path) -> None:
    """Windows editors write one: it said 'Invalid statement (at line 1, column 1)'."""
    path = tmp_path / "numerpilot.toml"
    path.write_bytes("\ufeff[lightgbm]\nn_estimators = 7\n".encode())
    assert load_config(path).lightgbm.n_estimators == 7
