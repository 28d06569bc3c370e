"""Bad values in numerpilot.toml, the keys and the model files that once ended in a
traceback, a crash or a silently different run."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import Numerpilot, numerpilot_process
from tests.pipeline.conftest import FAST_CONFIG
from tests.support.catalogue import Refused, one_stderr_line

from numerpilot.sandbox import DEMO_PUBLIC_ID, SandboxServer


def _config(root: Path, section: str, line: str) -> None:
    """FAST_CONFIG with ``line`` in its ``[section]`` (the section added if missing), in
    place of the key's own line if it has one."""
    header = f"[{section}]\n"
    key = line.split("=")[0].strip()
    text = FAST_CONFIG if header in FAST_CONFIG else FAST_CONFIG + "\n" + header
    kept = [row for row in text.splitlines() if row.split("=")[0].strip() != key]
    text = "\n".join(kept) + "\n"
    (root / "numerpilot.toml").write_text(text.replace(header, header + line + "\n"))


def _case(section: str, line: str, case: str, *fragments: str) -> object:
    return pytest.param(section, line, fragments, marks=pytest.mark.bad_input("train", case))


@pytest.mark.parametrize(
    ("section", "line", "fragments"),
    [
        _case("train", "weights = [1, nan]", "a weight that is not a number (`weights = "
              "[1, nan]`)", "train.weights.1", "finite number"),
        _case("api", "timeout = inf", "an infinite number (`[api] timeout = inf`)",
              "api.timeout", "finite number"),
        _case("lightgbm", "num_threads = 100000", "more threads than any machine has "
              "(`num_threads = 100000`)", "lightgbm.num_threads", "1024"),
        _case("lightgbm", 'extra = {lambda_l2 = "x"}', "a parameter LightGBM refuses "
              '(`extra = {lambda_l2 = "x"}`)', "LightGBM refuses", "[lightgbm]"),
        _case("lightgbm", "extra = {a = {b = 1}}", "a table as a LightGBM parameter "
              "(`extra = {a = {b = 1}}`)", "lightgbm.extra", "a must be a string"),
        _case("data", 'version = "v5.2/"', 'a data version with a slash (`version = '
              '"v5.2/"`)', "data.version", "'newest' or a dataset version", "'v5.2/'"),
        _case("data", 'version = "v5/../x"', "a data version that climbs out of data.dir "
              '(`version = "v5/../x"`)', "data.version", "'v5/../x'"),
        _case("lightgbm", "extra = {seed = 1}", "a seed in extra, which would give every "
              "member the same one (`extra = {seed = 1}`)", "[lightgbm] extra sets 'seed'",
              "[model] seeds instead"),
        _case("model", "seeds = [0, 2147483648]", "seeds LightGBM would wrap into one "
              "(`seeds = [0, 2147483648]`)", "model.seeds", "0 to 2147483647", "2147483648"),
        _case("lightgbm", "seed = -1", "a negative first seed (`[lightgbm] seed = -1`)",
              "lightgbm.seed", "greater than or equal to 0"),
        _case("lightgbm", "extra = {eta = 0.5}", "an alias of a named setting in extra "
              "(`extra = {eta = 0.5}`)", "'eta', an alias of learning_rate",
              "set [lightgbm] learning_rate instead"),
        _case("lightgbm", 'extra = {device_type = "cuda"}', "a device in extra (`extra = "
              '{device_type = "cuda"}`)', "[lightgbm] extra sets 'device_type'",
              '[model] device = "gpu"'),
        _case("ensemble", 'neutralize_against = "medium set"', "a feature set name no "
              'features.json has, while nothing is neutralized (`neutralize_against = "medium '
              'set"`)', "ensemble.neutralize_against", "must name a feature set"),
    ],
)  # fmt: skip
def test_bad_value(
    numerpilot: Numerpilot,
    refused: Refused,
    fresh: Path,
    section: str,
    line: str,
    fragments: tuple[str, ...],
) -> None:
    """Refused before any work, whatever the value: nothing is trained."""
    _config(fresh, section, line)
    refused(numerpilot("train", "-C", str(fresh)), 1, *fragments)
    assert not (fresh / "models").exists()


@pytest.mark.bad_input("cv", 'a tree learner LightGBM lacks (`extra = {tree_learner = "x"}`)')
def test_extra_refused_before_cv(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    _config(fresh, "lightgbm", 'extra = {tree_learner = "x"}')
    refused(numerpilot("cv", "-C", str(fresh)), 1, "LightGBM refuses", "tree learner type x")
    assert not (fresh / "reports").exists()


@pytest.mark.bad_input("train", 'LightGBM parameters with `backend = "xgboost"` (unused)')
def test_extra_with_xgboost(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    _config(fresh, "lightgbm", "extra = {lambda_l2 = 1000.0}")
    (fresh / "numerpilot.toml").write_text(
        (fresh / "numerpilot.toml").read_text() + '\n[model]\nbackend = "xgboost"\n'
    )
    refused(numerpilot("train", "-C", str(fresh)), 1, "[lightgbm] extra (lambda_l2)",
            'model.backend = "xgboost" does not use')  # fmt: skip
    assert not (fresh / "models").exists()


@pytest.mark.bad_input("validate", "numerpilot.toml is not UTF-8 (a byte in a comment)")
def test_config_not_utf8(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    (fresh / "numerpilot.toml").write_bytes(FAST_CONFIG.encode() + b"# caf\xe9\n")
    refused(numerpilot("validate", "-C", str(fresh)), 1, "numerpilot.toml", "not UTF-8")


@pytest.mark.bad_input("validate", "numerpilot.toml is a link to a file that does not exist")
def test_config_dangling_link(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    (fresh / "numerpilot.toml").unlink()
    (fresh / "numerpilot.toml").symlink_to(fresh / "gone.toml")
    refused(numerpilot("validate", "-C", str(fresh)), 1, "gone.toml", "does not exist")


@pytest.mark.bad_input("demo-data", "a negative seed (`--seed -1`)")
def test_negative_seed(numerpilot: Numerpilot, refused: Refused, tmp_path: Path) -> None:
    refused(numerpilot("demo-data", str(tmp_path / "d"), "--seed", "-1"), 2, "seed", "-1")
    assert not (tmp_path / "d").exists()


@pytest.mark.bad_input("predict", "a model file of the bundle is empty or damaged")
def test_model_file_damaged(numerpilot: Numerpilot, refused: Refused, trained: Path) -> None:
    model = sorted((trained / "models").glob("bundle-*/target*.txt"))[0]
    model.write_text("")
    before = sorted(p.name for p in (trained / "predictions").iterdir())
    refused(numerpilot("predict", "-C", str(trained)), 1, "is damaged", "models rollback")
    assert sorted(p.name for p in (trained / "predictions").iterdir()) == before


@pytest.mark.bad_input("status", "an API key with characters no Numerai key has")
def test_key_not_ascii(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUMERPILOT_API_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", "PUBLICKEYPUBLICKEY")
    monkeypatch.setenv("NUMERAI_SECRET_KEY", "SECRETKEY€SECRETKEY")
    line = refused(numerpilot("status", "-C", str(tmp_path)), 1, "secret key",
                   "NUMERAI_SECRET_KEY", "printable ASCII")  # fmt: skip
    assert "SECRETKEY" not in line.replace("NUMERAI_SECRET_KEY", "")


def _keys_file(root: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, url: str) -> Path:
    """The only keys: a private file (NUMERPILOT_CREDENTIALS) holding ``content``."""
    path = root / "keys.json"
    path.write_bytes(content)
    path.chmod(0o600)
    monkeypatch.delenv("NUMERAI_PUBLIC_ID", raising=False)
    monkeypatch.delenv("NUMERAI_SECRET_KEY", raising=False)
    monkeypatch.setenv("NUMERPILOT_CREDENTIALS", str(path))
    monkeypatch.setenv("NUMERPILOT_API_URL", url)
    return path


@pytest.mark.bad_input("status", "credentials.json is not UTF-8")
def test_credentials_not_utf8(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _keys_file(tmp_path, monkeypatch, b'\xff\xfe{"public_id": "A"}', "http://127.0.0.1:9/")
    refused(numerpilot("status", "-C", str(tmp_path)), 1, "keys.json", "UTF-8 JSON")


@pytest.mark.bad_input("status", "keys from NUMERPILOT_CREDENTIALS that Numerai rejects")
def test_rejected_keys_name_their_file(
    numerpilot: Numerpilot,
    refused: Refused,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sandbox: SandboxServer,
) -> None:
    keys = f'{{"public_id": "{DEMO_PUBLIC_ID}", "secret_key": "WRONGWRONGWRONG"}}'
    path = _keys_file(tmp_path, monkeypatch, keys.encode(), sandbox.url)
    line = refused(numerpilot("status", "-C", str(tmp_path)), 3, "rejected the API keys",
                   str(path))  # fmt: skip
    assert "WRONGWRONG" not in line


@pytest.mark.bad_input("download", "a password in NUMERPILOT_API_URL (never printed)")
@pytest.mark.parametrize("userinfo", ["user:HUSHHUSH", "HUSHHUSH", "user:p@HUSH HUSH"])
def test_url_password_not_printed(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    userinfo: str,
) -> None:  # fmt: skip
    """requests would send it to Numerai as Basic auth in place of the keys: refused, and
    never quoted (a token as the user name, a password with an @ or a space included)."""
    monkeypatch.setenv("NUMERPILOT_API_URL", f"http://{userinfo}@127.0.0.1:9/")
    line = refused(numerpilot("download", "-C", str(tmp_path)), 1, "NUMERPILOT_API_URL",
                   "'http://***@127.0.0.1:9/'")  # fmt: skip
    assert "HUSH" not in line


@pytest.mark.bad_input("status", "only one of NUMERAI_PUBLIC_ID and NUMERAI_SECRET_KEY set")
def test_half_the_keys_in_the_environment(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It was ignored: the keys came from the file (others) or 'No Numerai API keys found'."""
    _keys_file(tmp_path, monkeypatch, b'{"public_id": "OTHERPUB", "secret_key": "OTHERSEC"}',
               "http://127.0.0.1:9/")  # fmt: skip
    monkeypatch.setenv("NUMERAI_SECRET_KEY", "SECRETSECRETSECRET")
    line = refused(numerpilot("status", "-C", str(tmp_path)), 1,
                   "NUMERAI_SECRET_KEY is set but NUMERAI_PUBLIC_ID is not: set both")  # fmt: skip
    assert "SECRETSECRET" not in line


@pytest.mark.bad_input("status", "a blank secret key in credentials.json")
def test_blank_key_in_the_file(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _keys_file(tmp_path, monkeypatch, b'{"public_id": "PUBPUBPUB", "secret_key": "  "}',
                      "http://127.0.0.1:9/")  # fmt: skip
    refused(numerpilot("status", "-C", str(tmp_path)), 1, f"The secret key in {path} is blank")


@pytest.mark.bad_input("status", "NUMERPILOT_CREDENTIALS names a folder")
def test_credentials_path_a_folder(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It said 'accessible by other users (mode 755) ... chmod 600' of the folder."""
    path = _keys_file(tmp_path, monkeypatch, b"{}", "http://127.0.0.1:9/")
    path.unlink()
    path.mkdir()
    line = refused(numerpilot("status", "-C", str(tmp_path)), 1, "is a folder, not a "
                   "credentials file")  # fmt: skip
    assert "chmod" not in line


@pytest.mark.bad_input("status", "`[daemon] alert_webhook` is not a URL (never quoted)")
@pytest.mark.parametrize(
    ("value", "says"),
    [('"hooks.slack.com/services/T0/B0/TOKEN999"', "the URL is not an http(s) URL"),
     ('["https://hooks.slack.com/services/T0/B0/TOKEN999"]', "(got a list, not shown)")],
)  # fmt: skip
def test_webhook_not_a_url(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, value: str, says: str
) -> None:
    """Alerts were lost silently at the moment they mattered; a Slack-style URL is itself a
    token, so it is never quoted."""
    (tmp_path / "numerpilot.toml").write_text(f"[daemon]\nalert_webhook = {value}\n")
    line = refused(numerpilot("status", "-C", str(tmp_path)), 1, "daemon.alert_webhook", says)
    assert "TOKEN999" not in line


def test_lightgbm_says_nothing_itself(trained: Path) -> None:
    """LightGBM's C++ library prints its own "[LightGBM] [Fatal]" line to stderr, below
    Python: in a process of its own, the refusal is still the only line."""
    model = sorted((trained / "models").glob("bundle-*/target*.txt"))[0]
    model.write_text("tree\n")
    damaged_model = numerpilot_process("predict", "-C", str(trained))
    _config(trained, "lightgbm", 'extra = {lambda_l2 = "x"}')
    refused_params = numerpilot_process("train", "-C", str(trained))
    for outcome in (refused_params, damaged_model):
        assert outcome.code == 1
        assert outcome.err.strip().splitlines() == [one_stderr_line(outcome.err)]
        assert "[LightGBM]" not in outcome.err


@pytest.mark.bad_input(
    "validate", 'a benchmark column that holds no numbers (`benchmark_column = "era"`)'
)
def test_benchmark_column_not_numbers(
    numerpilot: Numerpilot, refused: Refused, trained: Path
) -> None:
    _config(trained, "scoring", 'benchmark_column = "era"')
    refused(numerpilot("validate", "-C", str(trained)), 1, "[scoring] benchmark_column:",
            "column 'era'", "holds no numbers", "choose one of: v52_")  # fmt: skip


@pytest.mark.bad_input("validate", 'a benchmark column the file lacks (`benchmark_column = "v9"`)')
def test_benchmark_column_missing(
    numerpilot: Numerpilot, refused: Refused, trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numerpilot.pipeline.validate as validate

    _config(trained, "scoring", 'benchmark_column = "v9"')
    monkeypatch.setattr(validate, "predict_file", None)  # refused before any prediction
    refused(numerpilot("validate", "-C", str(trained)), 1, "[scoring] benchmark_column:",
            "has no column 'v9'", "v52_lgbm_cyrusd20")  # fmt: skip


@pytest.mark.bad_input("cv", "a walk-forward window too short for the recipe (`train_eras = 1`)")
def test_cv_window_too_short(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    (fresh / "numerpilot.toml").write_text(
        FAST_CONFIG.replace("[train]\n", "[train]\ncv_folds = 0\n")
        + '\n[cv]\nfolds = 2\nscheme = "walk-forward"\ntrain_eras = 1\npurge_eras = 0\n'
    )
    refused(numerpilot("cv", "-C", str(fresh)), 1, "cv fold 1/2", "too few",
            "cv.train_eras")  # fmt: skip
    assert not (fresh / "reports").exists()


@pytest.mark.bad_input("cv", "expanding folds whose first one trains on too few eras")
def test_cv_first_fold_too_short(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    """The hint named 'fewer cv.folds', which cannot help (the first fold trains on the
    earlier half whatever their number): a smaller cv.test_eras does."""
    (fresh / "numerpilot.toml").write_text(
        FAST_CONFIG.replace("[train]\n", "[train]\ncv_folds = 3\n").replace(
            "embargo_eras = 2", "embargo_eras = 12"
        )
        + "\n[cv]\nfolds = 4\npurge_eras = 0\n"
    )
    line = refused(numerpilot("cv", "-C", str(fresh)), 1, "cv fold 1/4",
                   "set cv.test_eras to a few eras per fold")  # fmt: skip
    assert "fewer cv.folds" not in line


@pytest.mark.bad_input("cv", "`--compare` a config with a target the data lacks (checked first)")
def test_compare_target_checked_first(
    numerpilot: Numerpilot, refused: Refused, fresh: Path
) -> None:
    _config(fresh, "train", "cv_folds = 0")
    other = fresh / "other.toml"
    other.write_text(FAST_CONFIG.replace('"target_teager2b_20"', '"target_nope_20"'))
    outcome = numerpilot("cv", "--compare", str(other), "-C", str(fresh))
    refused(outcome, 1, "--compare", "lacks the targets target_nope_20")
    assert "fold 1" not in outcome.out.lower() and not (fresh / "reports").exists()


@pytest.mark.bad_input("cv", "`--compare` a config whose feature set does not exist")
def test_compare_feature_set_named_as_the_other_configs(
    numerpilot: Numerpilot, refused: Refused, fresh: Path
) -> None:
    other = fresh / "other.toml"
    other.write_text(FAST_CONFIG.replace('feature_set = "medium"', 'feature_set = "smal"'))
    outcome = numerpilot("cv", "--compare", str(other), "-C", str(fresh))
    refused(outcome, 1, f"--compare {other} (the other config)", "'smal'")
    assert not (fresh / "reports").exists()


@pytest.mark.bad_input("cv", "a walk-forward window longer than the first fold has")
def test_cv_window_longer_than_the_data(
    numerpilot: Numerpilot, refused: Refused, fresh: Path
) -> None:
    (fresh / "numerpilot.toml").write_text(
        FAST_CONFIG + '\n[cv]\nfolds = 2\nscheme = "walk-forward"\ntrain_eras = 1000\n'
    )
    refused(numerpilot("cv", "-C", str(fresh)), 1, "cv.train_eras = 1000", "first fold has only")
    assert not (fresh / "reports").exists()


@pytest.mark.bad_input(
    "train", "a LightGBM value it refuses, with --demo (`min_gain_to_split = -1`)"
)
def test_lightgbm_refusal_comes_before_the_demo_data(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    """It came after seconds of writing the demo data, and named the C++ source file on
    LightGBM's build machine (`at /__w/LightGBM/...config_auto.cpp, line 424`)."""
    assert numerpilot("init", str(tmp_path)).code == 0
    config = tmp_path / "numerpilot.toml"
    config.write_text(config.read_text().replace("extra = {}", "extra = {min_gain_to_split = -1}"))
    line = refused(numerpilot("train", "--demo", "-C", str(tmp_path)), 1, "LightGBM refuses",
                   "min_gain_to_split", "Fix that value")  # fmt: skip
    assert ".cpp" not in line and "line " not in line, line
    assert not (tmp_path / "data").exists()
