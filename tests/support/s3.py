"""A local S3-compatible store (moto's server on 127.0.0.1) for object-store tests.

The environment points pyarrow's S3 client (and Dask workers started afterwards, which
inherit it) at the server with throwaway credentials; nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

#: The throwaway secret of the fake store: it must never appear in numerpilot's output.
SECRET = "not-a-real-secret-3f9a"


@dataclass(frozen=True)
class LocalS3:
    """The running server: ``endpoint`` (host:port) and a filesystem that may make buckets."""

    endpoint: str

    def filesystem(self) -> object:
        from pyarrow import fs as pafs

        return pafs.S3FileSystem(
            endpoint_override=self.endpoint, scheme="http", allow_bucket_creation=True,
            access_key="testing", secret_key=SECRET, region="us-east-1",
        )  # fmt: skip

    def upload(self, folder: Path, url_path: str) -> None:
        """Copy every file under ``folder`` to ``bucket/prefix`` (``url_path``), bucket made."""
        from pyarrow import fs as pafs

        store = self.filesystem()
        assert isinstance(store, pafs.S3FileSystem)
        store.create_dir(url_path.split("/", 1)[0])
        pafs.copy_files(str(folder), url_path, destination_filesystem=store)


@contextlib.contextmanager
def local_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalS3]:
    """moto's S3 server on a free loopback port, the AWS_* environment pointing at it."""
    server_module = pytest.importorskip("moto.server", reason="moto[server] is a dev extra")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"{host}:{port}"
    for name, value in {
        "AWS_ENDPOINT_URL": f"http://{endpoint}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    try:
        yield LocalS3(endpoint)
    finally:
        server.stop()
