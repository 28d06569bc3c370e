"""Dataset files named by URL: an object store (``s3://``, ``gs://``), ``file://``, or any
URL fsspec knows (``az://``, ``memory://`` …, with fsspec and the store's package installed).

A :class:`RemoteFile` is read by the same code as a local file
(:func:`numerpilot.data.load.load_era_data`): pyarrow fetches the footer, then only the
requested columns of the row groups holding the selected eras (byte ranges), never the
whole file. Schemes pyarrow knows (``s3``, ``gs``, ``file``, ``hdfs``) use its own
filesystems; any other goes through fsspec (``PyFileSystem(FSSpecHandler(...))``).

Credentials come from the environment, as pyarrow and fsspec normally take them (for S3:
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, an instance role;
``AWS_ENDPOINT_URL`` for an S3-compatible store; for GCS: ``GOOGLE_APPLICATION_CREDENTIALS``).
They are never shown: a URL appears without its ``user:password@`` part, and secrets of the
environment are cut out of a store's error text.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from numerpilot.errors import DataError

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
#: Environment variables whose values never appear in a message.
_SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AZURE_STORAGE_KEY")
#: Schemes whose first path part is a bucket (checked apart, for a clearer message).
_BUCKETS = ("s3", "s3a", "gs", "gcs")


def is_url(text: str) -> bool:
    """Whether ``text`` names a file by URL (``scheme://...``) rather than a local path."""
    return bool(_SCHEME.match(text))


def location(text: str) -> Path | RemoteFile:
    """A file named by ``text``: a :class:`RemoteFile` for a URL, else a local path."""
    return RemoteFile(text) if is_url(text) else Path(text)


def redact(url: str) -> str:
    """``url`` without the ``user:password@`` part of its address (shown as ``***@``)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


def clean_error(text: str, url: str) -> str:
    """A store's error text on one line, without the URL's userinfo or secret env values."""
    userinfo = urlsplit(url).netloc.rpartition("@")[0]
    secrets = [userinfo, *(os.environ.get(name, "") for name in _SECRET_ENV)]
    for secret in filter(None, secrets):
        text = text.replace(secret, "***")
    return " ".join(text.split())


def join_url(base: str, relative: str) -> str:
    """``relative`` (a POSIX path) under the folder URL ``base``, query kept at the end."""
    parts = urlsplit(base)
    path = parts.path.rstrip("/") + "/" + relative.lstrip("/")
    return urlunsplit(parts._replace(path=path))


@dataclass(frozen=True)
class RemoteFile:
    """A file named by URL; ``str()`` shows it without credentials."""

    url: str

    @property
    def name(self) -> str:
        return PurePosixPath(urlsplit(self.url).path).name

    def __str__(self) -> str:
        return redact(self.url)

    def open(self) -> Any:
        """The file as a pyarrow random-access file (only ranges of it are read later);
        a DataError saying which URL and why when it is missing or cannot be reached."""
        from pyarrow import fs as pafs

        filesystem, path = _filesystem(self.url)
        try:
            info = filesystem.get_file_info(path)
            if info.type == pafs.FileType.NotFound:
                raise DataError(self._missing(filesystem, path))
            if info.type != pafs.FileType.File:
                raise DataError(f"{self} is a folder, not a parquet file.")
            return filesystem.open_input_file(path)
        except OSError as error:
            raise DataError(f"cannot read {self} ({clean_error(str(error), self.url)}).") from None

    def _missing(self, filesystem: Any, path: str) -> str:
        from pyarrow import fs as pafs

        scheme = urlsplit(self.url).scheme
        bucket = path.split("/", 1)[0]
        if scheme in _BUCKETS and filesystem.get_file_info(bucket).type == pafs.FileType.NotFound:
            return (f"{self}: bucket '{bucket}' does not exist (or these credentials cannot "
                    "see it). Check cluster.data_url and the store's credentials.")  # fmt: skip
        return (f"{self} is missing. Copy the dataset folder there (e.g. 'aws s3 sync "
                "data/ s3://bucket/prefix/') or fix cluster.data_url.")  # fmt: skip


def _filesystem(url: str) -> tuple[Any, str]:
    """pyarrow's filesystem of ``url`` and the path in it; fsspec's for other schemes."""
    import pyarrow as pa
    from pyarrow import fs as pafs

    shown = redact(url)
    try:
        filesystem, path = pafs.FileSystem.from_uri(url)
        return filesystem, str(path)
    except pa.ArrowInvalid as error:
        if "nrecognized filesystem type" not in str(error):
            raise DataError(
                f"{shown} is not a valid URL ({clean_error(str(error), url)})."
            ) from None
    except OSError as error:
        raise DataError(f"cannot reach {shown} ({clean_error(str(error), url)}).") from None
    try:
        import fsspec
    except ImportError:
        raise DataError(
            f"{shown}: pyarrow does not know the scheme '{urlsplit(url).scheme}'; install "
            "fsspec and the store's package (e.g. adlfs for az://), or use s3://, gs:// or "
            "file://."
        ) from None
    try:
        filesystem, path = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError, OSError) as error:
        raise DataError(
            f"cannot open {shown} ({clean_error(str(error), url)}): use s3://, gs:// or file://, "
            "or install the fsspec package for this store."
        ) from None
    return pafs.PyFileSystem(pafs.FSSpecHandler(filesystem)), path


#: A dataset file: a local path, or a URL (an object store).
Location = Path | RemoteFile
