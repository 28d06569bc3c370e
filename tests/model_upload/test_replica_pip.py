"""What check-upload says when pip cannot build the runtime replica: the cause, not only
pip's "Could not find a version that satisfies the requirement pandas==2.3.1", which reads
as if the pin did not exist whether no index was reached or a mirror lacks the pin."""

from __future__ import annotations

from pathlib import Path

import pytest

from numerpilot.errors import LocalError, RemoteError
from numerpilot.model_upload.images import image_for, python_minor
from numerpilot.model_upload.replica import ensure_replica, install_error, replica_dir

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


def test_a_mirror_beside_a_down_extra_index_is_not_unreachable(
    pip_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pip warns of the extra index it cannot reach, but the mirror it reached lists
    other versions: the mirror lacks the pin, the network is not the cause."""
    (pip_index / "pandas").mkdir(parents=True)
    wheel = "pandas-2.2.3-py3-none-any.whl"
    (pip_index / "pandas" / "index.html").write_text(f'<a href="{wheel}">{wheel}</a>\n')
    monkeypatch.setenv("PIP_INDEX_URL", pip_index.as_uri())
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing there
    with pytest.raises(RemoteError) as raised:
        ensure_replica(IMAGE)
    said = str(raised.value)
    assert "offers no wheel of pandas==" in said and "(only 2.2.3)" in said
    assert "could not reach" not in said and "check the network" not in said


#: pip 23's output when a read timed out once, the retry went through, and the wheel
#: then did not fit on the disk.
TIMED_OUT_THEN_FULL = """\
WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after \
connection broken by 'ReadTimeoutError("HTTPSConnectionPool(host='pypi.org', port=443): Read \
timed out. (read timeout=15)")': /simple/pandas/
ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device
"""


def test_a_retry_that_went_through_is_not_the_cause() -> None:
    error = install_error(IMAGE, TIMED_OUT_THEN_FULL)
    assert isinstance(error, LocalError)  # this machine's disk, not the network (exit 1)
    said = str(error)
    assert said.startswith(f"installing the {IMAGE.key} pins failed: ERROR: Could not install "
                           "packages due to an OSError: [Errno 28] No space left on device\n"
                           "the disk is full: free some space")  # fmt: skip
    assert "could not reach" not in said and "network" not in said and "WARNING" not in said


def test_a_retry_beside_another_error_leaves_pips_error_as_it_is() -> None:
    output = TIMED_OUT_THEN_FULL.replace(
        "Could not install packages due to an OSError: [Errno 28] No space left on device",
        "THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE.",
    )
    error = install_error(IMAGE, output)
    assert isinstance(error, RemoteError)
    assert str(error) == (
        f"installing the {IMAGE.key} pins failed: ERROR: THESE PACKAGES DO NOT MATCH THE "
        "HASHES FROM THE REQUIREMENTS FILE.\nfix what pip's error names and try again "
        "(check-upload needs PyPI, or a mirror with the exact pins: PIP_INDEX_URL, once per "
        "runtime image)."
    )
