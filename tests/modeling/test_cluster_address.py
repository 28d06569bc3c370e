"""A --cluster address that is nearly right: the usage error says what was meant."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path

import pytest
from tests.conftest import Numerpilot
from tests.pipeline.conftest import make_workdir
from tests.support.catalogue import Refused

GIVE = (
    "give 'local' (a cluster on this machine) or a Dask scheduler address such as tcp://host:8786."
)


@pytest.mark.bad_input("train", "--cluster nearly right (`Local`, `host:8786`, `tcp://host`)")
@pytest.mark.parametrize(
    ("address", "meant"),
    [
        ("lcoal", " Did you mean 'local'?"),
        ("Local", " Did you mean 'local'?"),
        ("localhost:8786", " Did you mean 'tcp://localhost:8786'?"),
        ("http://10.0.0.5:8786/", " Did you mean 'tcp://10.0.0.5:8786'?"),
        ("tcp://sched.lan", " Did you mean 'tcp://sched.lan:8786' (the scheduler's default port)?"),
        ("localhost:99999", ""),  # no port: nothing to offer
        ("myhost", ""),
    ],
)
def test_a_nearly_right_address_is_told_what_was_meant(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, address: str, meant: str
) -> None:
    """They said only what to give, for a typo of 'local' or a missing 'tcp://' too."""
    line = refused(numerpilot("train", "-C", str(tmp_path), "--cluster", address), 2)
    assert line == f"Error: --cluster {address!r}: {GIVE}{meant}"


@pytest.mark.bad_input("train", "--cluster at a host name that does not resolve")
def test_a_host_name_that_does_not_resolve_is_said(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, synthetic_dir: Path
) -> None:
    """Dask retries a name that does not resolve until its 5 s timeout, then said 'Timed out
    trying to connect', as for a machine that does not answer."""
    host = "nonexistent.invalid"  # RFC 6761: never resolves
    started = time.monotonic()
    with contextlib.suppress(socket.gaierror):
        socket.getaddrinfo(host, 8786)
    if time.monotonic() - started > 2:
        pytest.skip("this machine's resolver takes seconds to refuse a name")
    address = f"tcp://{host}:8786"
    wd = make_workdir(tmp_path / "wd", synthetic_dir)
    line = refused(numerpilot("train", "-C", str(wd), "--cluster", address), 1,
                   f"cannot reach the Dask scheduler at {address} (the host name {host} does "
                   "not resolve")  # fmt: skip
    assert "Timed out" not in line
