from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from numerpilot.config import Config
from numerpilot.config_file import load_config
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


@pytest.mark.parametrize(
    ("key", "instead"),
    [
        ("seed", "set [lightgbm] seed or [model] seeds instead"),
        ("random_state", "an alias of seed"),
        ("bagging_seed", "LightGBM derives from seed"),
        ("feature_fraction_seed", "LightGBM derives from seed"),
        ("eta", "an alias of learning_rate, which numerpilot sets: set [lightgbm] learning_rate"),
        ("num_boost_round", "set [lightgbm] n_estimators instead"),
        ("colsample_bytree", "an alias of feature_fraction"),
        ("nthread", "set [lightgbm] num_threads instead"),
        ("device", 'set [model] device = "gpu" instead'),
        ("n_iter_no_change", "set [train] early_stopping_rounds instead"),
        ("metric", "remove it"),
        ("objective", "remove it"),
    ],
)
def test_extra_refuses_what_numerpilot_sets(tmp_path: Path, key: str, instead: str) -> None:
    """`extra = {seed = 1}` made every member of the ensemble the same model: extra went
    over the named settings and each member's seed."""
    path = tmp_path / "numerpilot.toml"
    path.write_text(f"[lightgbm]\nextra = {{lambda_l2 = 1, {key} = 1}}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert f"[lightgbm] extra sets '{key}'" in message and instead in message
    assert "\n" not in message and "(got" not in message


def test_extra_keeps_other_lightgbm_parameters(tmp_path: Path) -> None:
    path = tmp_path / "numerpilot.toml"
    path.write_text(
        '[lightgbm]\nextra = {lambda_l2 = 1, bagging_fraction = 0.5, boosting = "gbdt"}\n'
    )
    assert load_config(path).lightgbm.extra["bagging_fraction"] == 0.5


def test_every_parameter_numerpilot_sets_and_its_aliases_are_reserved() -> None:
    """Checked against LightGBM's own alias table, so that a new alias cannot slip by."""
    from lightgbm.basic import _ConfigAliases

    from numerpilot.config import LightGBMConfig
    from numerpilot.lightgbm_keys import reserved_lightgbm_key
    from numerpilot.modeling.lgbm import lgbm_params

    aliases = _ConfigAliases._get_all_param_aliases()
    set_here = [*lgbm_params(LightGBMConfig()), "num_iterations", "metric", "device_type",
                "early_stopping_round", "bin_construct_sample_cnt"]  # fmt: skip
    derived = ["bagging_seed", "feature_fraction_seed", "data_random_seed", "drop_seed",
               "objective_seed", "extra_seed"]  # fmt: skip
    for canonical in set_here + derived:
        for name in [*aliases.get(canonical, []), canonical]:
            assert reserved_lightgbm_key(name), name
    assert reserved_lightgbm_key("lambda_l2") is None


def test_a_typo_of_a_key_numerpilot_sets_is_not_advised_into_extra() -> None:
    """'num_leave' was answered "did you mean 'num_leaves'?", a key [lightgbm] extra
    refuses next: the hint names the setting to use instead."""
    from numerpilot.lightgbm_keys import unknown_lightgbm_key

    said = unknown_lightgbm_key({"num_leave": 63})
    assert said is not None and "did you mean" not in said
    assert "if you meant 'num_leaves': numerpilot sets that one; set [lightgbm] num_leaves" in said
    said = unknown_lightgbm_key({"bagging_seeed": 1})
    assert said is not None and "set [lightgbm] seed or [model] seeds instead" in said
    assert unknown_lightgbm_key({"bagging_freq": 1, "lambda_l2": 1.0}) is None


def test_named_settings_win_over_extra() -> None:
    """Even an extra that skipped validation cannot override a named setting."""
    from numerpilot.config import LightGBMConfig
    from numerpilot.modeling.lgbm import lgbm_params

    cfg = LightGBMConfig(seed=7).model_copy(update={"extra": {"seed": 1, "lambda_l2": 2.0}})
    params = lgbm_params(cfg)
    assert params["seed"] == 7 and params["lambda_l2"] == 2.0


@pytest.mark.parametrize("name", ["", "medium set", "all/../x", "médium"])
def test_neutralize_against_is_checked_at_proportion_zero(tmp_path: Path, name: str) -> None:
    path = tmp_path / "numerpilot.toml"
    path.write_text(f'[ensemble]\nneutralization_proportion = 0.0\nneutralize_against = "{name}"\n')
    with pytest.raises(ConfigError, match="ensemble.neutralize_against: must name a feature set"):
        load_config(path)


def test_feature_set_names_numerai_uses_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "numerpilot.toml"
    path.write_text('[data]\nfeature_set = "v2_equivalent_features"\n'
                    '[ensemble]\nneutralize_against = "serenity"\n')  # fmt: skip
    assert load_config(path).ensemble.neutralize_against == "serenity"


def test_template_comments_never_split_a_flag_or_a_word() -> None:
    comments = [line for line in CONFIG_TEMPLATE.splitlines() if line.startswith("#")]
    assert not [line for line in comments if line.endswith("-")]
    assert "unless --allow-churn." in CONFIG_TEMPLATE


def test_template_says_what_the_defaults_do() -> None:
    flat = " ".join(line.lstrip("# ") for line in CONFIG_TEMPLATE.splitlines())
    assert "the cv_folds era folds, or the last holdout_eras" in flat  # refit's default: folds
    assert "newest complete version folder in data.dir" in flat  # train reads local data
    assert "HTTP 429 and 5xx" in flat and "Retry-After" in flat
    assert "Refused here: the parameters numerpilot sets" in flat


def test_urls_are_used_without_the_spaces_around_them(tmp_path: Path) -> None:
    """A URL pasted with a space around it passed the check, then every call went to
    '<url> ' and came back 'HTTP 404 with a body that is not JSON'."""
    path = tmp_path / "numerpilot.toml"
    path.write_text('[api]\nbase_url = " http://127.0.0.1:8765/ "\n'
                    '[daemon]\nalert_webhook = "https://hooks.example.com/x\\n"\n')  # fmt: skip
    config = load_config(path)
    assert config.api.base_url == "http://127.0.0.1:8765/"
    assert config.daemon.alert_webhook == "https://hooks.example.com/x"


def test_a_webhook_in_a_file_others_can_read_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A webhook URL is a token: a numerpilot.toml holding one should be mode 600 (the
    warning names neither the URL nor any part of it)."""
    path = tmp_path / "numerpilot.toml"
    path.write_text('[daemon]\nalert_webhook = "https://hooks.example.com/T0/B1/s3cr3t"\n')
    path.chmod(0o644)
    with caplog.at_level("WARNING", logger="numerpilot"):
        load_config(path)
        load_config(path)  # the daemon reads it every round: said once
    (record,) = caplog.records
    assert "mode 644" in record.getMessage() and f"chmod 600 {path}" in record.getMessage()
    assert "s3cr3t" not in record.getMessage()
    caplog.clear()
    path.chmod(0o600)
    with caplog.at_level("WARNING", logger="numerpilot"):
        load_config(path)
    assert caplog.records == []
