"""Dataset files named by URL (file://, fsspec's memory://, S3 on a local moto server) are
read by the same code as local files: the same rows, only the selected eras and columns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tests.support.s3 import SECRET, LocalS3, local_s3

from numerpilot.data import layout
from numerpilot.data.catalog import feature_set
from numerpilot.data.load import EraData, load_era_data
from numerpilot.data.remote import RemoteFile, join_url, location, redact
from numerpilot.errors import DataError

TARGETS = ["target", "target_teager2b_20"]


def _same(a: EraData, b: EraData) -> None:
    np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(a.targets, b.targets)
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_array_equal(a.eras, b.eras)


def _load(path: Path | RemoteFile, features: list[str], eras: list[str]) -> EraData:
    return load_era_data(path, features, TARGETS, eras=eras)


@pytest.fixture(scope="module")
def some_eras(synthetic_dir: Path) -> list[str]:
    eras = load_era_data(synthetic_dir / layout.TRAIN, []).unique_eras
    return [str(e) for e in eras[3::5]]


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalS3]:
    with local_s3(monkeypatch) as store:
        yield store


def test_file_url_reads_what_the_path_reads(synthetic_dir: Path, some_eras: list[str]) -> None:
    feats = feature_set(synthetic_dir, "medium")
    path = synthetic_dir / layout.TRAIN
    from_url = location(path.as_uri())
    assert isinstance(from_url, RemoteFile)
    data = _load(from_url, feats, some_eras)
    assert sorted(set(data.eras)) == some_eras
    _same(data, _load(path, feats, some_eras))


def test_fsspec_only_scheme_reads_what_the_path_reads(
    synthetic_dir: Path, some_eras: list[str]
) -> None:
    fsspec = pytest.importorskip("fsspec")
    path = synthetic_dir / layout.TRAIN
    memory = fsspec.filesystem("memory")
    memory.pipe("/numerpilot-test/v5.2/train.parquet", path.read_bytes())
    try:
        feats = feature_set(synthetic_dir, "small")
        remote = RemoteFile("memory://numerpilot-test/v5.2/train.parquet")
        _same(_load(remote, feats, some_eras), _load(path, feats, some_eras))
    finally:
        memory.rm("/numerpilot-test", recursive=True)


def test_s3_reads_only_ranges_and_the_same_rows(
    s3: LocalS3, synthetic_dir: Path, some_eras: list[str]
) -> None:
    s3.upload(synthetic_dir, "bucket/numerai/v5.2")
    feats = feature_set(synthetic_dir, "medium")
    remote = RemoteFile("s3://bucket/numerai/v5.2/train.parquet")
    _same(_load(remote, feats, some_eras), _load(synthetic_dir / layout.TRAIN, feats, some_eras))


def test_missing_object_and_bucket_name_the_url(s3: LocalS3, synthetic_dir: Path) -> None:
    s3.upload(synthetic_dir, "bucket/numerai/v5.2")
    with pytest.raises(DataError) as missing:
        load_era_data(RemoteFile("s3://bucket/numerai/v9/train.parquet"), [])
    assert str(missing.value).startswith("s3://bucket/numerai/v9/train.parquet is missing.")
    with pytest.raises(DataError, match="bucket 'nobucket' does not exist"):
        load_era_data(RemoteFile("s3://nobucket/v5.2/train.parquet"), [])


def test_unreachable_store_says_which_url_and_why(
    monkeypatch: pytest.MonkeyPatch, s3: LocalS3
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    with pytest.raises(DataError) as error:
        load_era_data(RemoteFile("s3://bucket/v5.2/train.parquet"), [])
    line = str(error.value)
    assert line.startswith("cannot read s3://bucket/v5.2/train.parquet (")
    assert "connect" in line.lower() and "\n" not in line and SECRET not in line


def test_credentials_in_a_url_are_never_shown(tmp_path: Path) -> None:
    url = f"s3://AKIDEXAMPLE:{SECRET}@bucket/numerai/train.parquet"
    assert redact(url) == "s3://***@bucket/numerai/train.parquet"
    assert str(RemoteFile(url)) == redact(url)
    with pytest.raises(DataError) as error:
        load_era_data(RemoteFile(f"file://user:{SECRET}@/{tmp_path}/train.parquet"), [])
    assert SECRET not in str(error.value) and "***@" in str(error.value)


def test_missing_local_file_url(tmp_path: Path) -> None:
    url = (tmp_path / "v5.2" / layout.TRAIN).as_uri()
    with pytest.raises(DataError, match=f"^{url} is missing. Copy the dataset folder there"):
        load_era_data(RemoteFile(url), [])


def test_unknown_scheme_says_what_to_install() -> None:
    with pytest.raises(DataError, match="nosuchstore://b/train.parquet .*install the fsspec"):
        load_era_data(RemoteFile("nosuchstore://b/train.parquet"), [])


def test_join_url_keeps_the_query() -> None:
    assert join_url("s3://b/p/?region=eu-west-1", "v5.2/train.parquet") == (
        "s3://b/p/v5.2/train.parquet?region=eu-west-1"
    )
    assert join_url("file:///data", "/v5.2/train.parquet") == "file:///data/v5.2/train.parquet"


def test_only_the_selected_columns_and_row_groups_travel(tmp_path: Path) -> None:
    """Two features of one era of ten cost a small part of the file's bytes (no full
    download). Column chunks are larger than pyarrow's read coalescing gap, as in Numerai's
    files."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    fsspec = pytest.importorskip("fsspec")
    from fsspec.implementations.memory import MemoryFileSystem

    read: list[int] = []

    class Counted(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            out = super().read(size)
            read.append(len(out))
            return out

    class CountingMemory(MemoryFileSystem):  # type: ignore[misc]
        protocol = "countingmem"

        @classmethod
        def _strip_protocol(cls, path: str) -> str:
            return str(MemoryFileSystem._strip_protocol(path.replace("countingmem", "memory", 1)))

        def _open(self, path: str, mode: str = "rb", **kwargs: object) -> io.BytesIO:
            if mode != "rb":
                return super()._open(path, mode, **kwargs)  # type: ignore[no-any-return]
            return Counted(self.cat_file(path))

    fsspec.register_implementation("countingmem", CountingMemory, clobber=True)
    rng = np.random.default_rng(0)
    rows, per_era = 200_000, 20_000
    columns = {f"feature_{i}": rng.integers(0, 5, rows, dtype=np.int8) for i in range(12)}
    table = pa.table({
        "id": [f"n{i}" for i in range(rows)],
        "era": [f"{i // per_era + 1:04d}" for i in range(rows)],
        **columns,
        "target": rng.random(rows, dtype=np.float32),
    })  # fmt: skip
    local = tmp_path / layout.TRAIN
    pq.write_table(table, local, row_group_size=per_era)
    size = local.stat().st_size
    CountingMemory().pipe("/counted/train.parquet", local.read_bytes())
    try:
        feats, eras = ["feature_3", "feature_7"], ["0005"]
        remote = RemoteFile("countingmem://counted/train.parquet")
        data = load_era_data(remote, feats, ["target"], eras=eras)
        _same(data, load_era_data(local, feats, ["target"], eras=eras))
        assert len(data) == per_era
        assert 0 < sum(read) < size / 5, (sum(read), size)
    finally:
        CountingMemory().rm("/counted", recursive=True)
