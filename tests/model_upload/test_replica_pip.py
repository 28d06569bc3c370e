"""What check-upload says when pip cannot build the runtime replica: the cause, not only
pip's "Could not find a version that satisfies the requirement pandas==2.3.1", which reads
as if the pin did not exist whether no index was reached or a mirror lacks the pin."""

from __future__ import annotations

from pathlib import Path

import pytest

from numerpilot.errors import RemoteError
from numerpilot.model_upload.images import image_for, python_minor
from numerpilot.model_upload.replica import ensure_replica, replica_dir

IMAGE = image_for(python_minor())


@pytest.fixture
def pip_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty replica cache, and pip with no configuration, cache or find-links: only
    ``PIP_INDEX_URL`` (set by the test) is asked."""
    monkeypatch.setenv("NUMERPILOT_CACHE", str(tmp_path / "cache"))
    for name, value in {"PIP_CONFIG_FILE": "/dev/null", "PIP_FIND_LINKS": "",
                        "PIP_NO_CACHE_DIR": "1", "PIP_RETRIES": "1",
                        "PIP_DEFAULT_TIMEOUT": "2", "PIP_EXTRA_INDEX_URL": ""}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    return tmp_path / "simple"


def test_no_index_reached_says_so(pip_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing listens there
    with pytest.raises(RemoteError) as raised:
        ensure_replica(IMAGE)
    said = str(raised.value)
    assert said.startswith(f"installing the {IMAGE.key} pins failed: pip could not reach the "
                           "package index (Failed to establish a new connection")  # fmt: skip
    assert "No matching distribution found for pandas" in said and "WARNING" not in said
    assert not replica_dir(IMAGE).exists()


def test_a_mirror_without_the_pin_says_so(pip_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (pip_index / "pandas").mkdir(parents=True)
    wheel = "pandas-2.2.3-py3-none-any.whl"  # listed, never fetched
    (pip_index / "pandas" / "index.html").write_text(f'<a href="{wheel}">{wheel}</a>\n')
    monkeypatch.setenv("PIP_INDEX_URL", pip_index.as_uri())
    with pytest.raises(RemoteError, match=r"the package index pip uses offers no wheel of "
                       rf"pandas=={dict(IMAGE.pins)['pandas']} for this Python and machine "
                       r"\(only 2\.2\.3\): a mirror"):  # fmt: skip
        ensure_replica(IMAGE)
