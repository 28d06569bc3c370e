"""Model settings a user turns: LightGBM parameters per feature in ``[lightgbm] extra``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import Numerpilot
from tests.pipeline.conftest import FAST_CONFIG
from tests.support.catalogue import Refused


def _n_features(root: Path) -> int:
    """How many features the fast config's feature set ("medium") has in the test data."""
    sets = json.loads((root / "data" / "v5.2" / "features.json").read_text())["feature_sets"]
    return len(sets["medium"])


def _with_extra(root: Path, extra: str) -> None:
    config = FAST_CONFIG.replace("num_threads = 1", f"num_threads = 1\nextra = {{{extra}}}")
    (root / "numerpilot.toml").write_text(config, encoding="utf-8")


@pytest.mark.bad_input(
    "train", 'a LightGBM parameter per feature of another length (`monotone_constraints = "1,0"`)'
)
def test_per_feature_parameter_of_another_length(
    numerpilot: Numerpilot, refused: Refused, fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LightGBM aborted the first fit with its C++ check (exit 70, a traceback); the
    tiny-sample check, on two features, let it through. Refused before any data is read."""
    import numerpilot.pipeline.train as train

    def unread(*args: object, **kwargs: object) -> None:
        raise AssertionError("the training data was read before the parameters were checked")

    monkeypatch.setattr(train, "load_era_data", unread)
    _with_extra(fresh, 'monotone_constraints = "1,0"')
    n = _n_features(fresh)
    outcome = numerpilot("train", "-C", str(fresh))
    refused(outcome, 1, "LightGBM refuses the [lightgbm] settings",
            f"monotone_constraints must refer to the models' {n} features")  # fmt: skip
    assert not (fresh / "models" / "manifest.json").exists()


def test_per_feature_parameter_of_the_right_length_trains(
    numerpilot: Numerpilot, fresh: Path
) -> None:
    """One value per model feature is what LightGBM wants: it was refused, since the
    tiny-sample check fitted two features."""
    n = _n_features(fresh)
    _with_extra(fresh, f'monotone_constraints = "{",".join(["1"] + ["0"] * (n - 1))}"')
    done = numerpilot("train", "-C", str(fresh))
    assert done.code == 0, done.err
    manifest = json.loads((fresh / "models" / "manifest.json").read_text())
    assert manifest["params"]["monotone_constraints"].count(",") == n - 1


def test_check_params_knows_the_feature_count() -> None:
    """Per-feature parameters are left to the fit when the count is not known yet."""
    from numerpilot.errors import ConfigError
    from numerpilot.modeling.lgbm import check_params

    params = {"objective": "regression", "verbosity": -1, "monotone_constraints": "1,0,-1"}
    check_params(params)  # no count: not judged on two made-up features
    check_params(params, 3)
    with pytest.raises(ConfigError, match="must refer to the models' 4 features"):
        check_params(params, 4)


def test_train_says_why_members_were_left_out(numerpilot: Numerpilot, fresh: Path) -> None:
    """It said "not clearly positive on held-out eras" for a member train.weights set to 0."""
    config = FAST_CONFIG.replace("early_stopping_rounds = 10", "early_stopping_rounds = 10\n"
                                 "weights = [1, 0]")  # fmt: skip
    (fresh / "numerpilot.toml").write_text(config, encoding="utf-8")
    done = numerpilot("train", "-C", str(fresh))
    assert done.code == 0, done.err
    assert ("Left out, given no weight by train.weights: target_teager2b_20, "
            "target_teager2b_20.linear.") in " ".join(done.out.split())  # fmt: skip


@pytest.mark.bad_input("cv", "--compare names a config with a per-feature LightGBM parameter "
                       "of another length")  # fmt: skip
def test_compare_with_a_per_feature_parameter_of_another_length(
    numerpilot: Numerpilot, refused: Refused, fresh: Path, tmp_path: Path
) -> None:
    """It was refused only after this config's whole cross-validation, as numerpilot.toml's."""
    other = tmp_path / "other.toml"
    other.write_text(FAST_CONFIG.replace("num_threads = 1", "num_threads = 1\nextra = "
                                         '{monotone_constraints = "1,0"}'))  # fmt: skip
    (fresh / "numerpilot.toml").write_text(FAST_CONFIG + "\n[cv]\nfolds = 2\ntest_eras = 4\n")
    outcome = numerpilot("cv", "-C", str(fresh), "--compare", str(other))
    refused(outcome, 1, f"--compare {other} (the other config): LightGBM refuses",
            "monotone_constraints must refer to the models'")  # fmt: skip
    assert not (fresh / "reports" / "cv.json").exists()


@pytest.mark.bad_input("train", "a LightGBM parameter it does not know (`extra = {lambda_l3 = 1}`)")
def test_an_unknown_lightgbm_parameter_is_refused_not_ignored(
    numerpilot: Numerpilot, refused: Refused, fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LightGBM only warns about a parameter it does not know (a typo) and trains without
    it: the run ended with exit 0 and the setting silently ignored."""
    import numerpilot.pipeline.train as train

    def unread(*args: object, **kwargs: object) -> None:
        raise AssertionError("the training data was read before the parameters were checked")

    monkeypatch.setattr(train, "load_era_data", unread)
    _with_extra(fresh, "lambda_l3 = 1")
    outcome = numerpilot("train", "-C", str(fresh))
    import lightgbm

    version = lightgbm.__version__
    refused(outcome, 1, f"[lightgbm] extra: LightGBM {version} has no parameter 'lambda_l3'",
            "did you mean 'lambda_l2'?", "would be ignored",
            f"https://lightgbm.readthedocs.io/en/v{version}/Parameters.html")  # fmt: skip
    assert not (fresh / "models" / "manifest.json").exists()
