"""``features.json``: feature sets, groups and targets of a dataset version."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from numerpilot.data import layout
from numerpilot.data.local import own_dataset
from numerpilot.errors import DataError


def read_features_json(data_dir: Path) -> dict[str, object]:
    path = data_dir / layout.FEATURES_JSON
    if not data_dir.is_dir():
        raise DataError(f"{data_dir} does not exist: run 'numerpilot download' (it fetches "
                        "the configured data.version), or point data.dir at your dataset's "
                        "folder.")  # fmt: skip
    if not path.exists() and (data_dir / layout.TRAIN).exists():  # a dataset of your own?
        raise DataError(f"{path} is missing: for a dataset of your own, set data.feature_set "
                        "= \"all\" (every feature_ column of train.parquet) or add a "
                        "features.json; for Numerai's data, run 'numerpilot download' "
                        "again.")  # fmt: skip
    if not path.exists():
        raise DataError(f"{path} is missing. Run 'numerpilot download' (or 'numerpilot "
                        "demo-data DIR' for synthetic data); for a dataset of your own "
                        "without it, data.feature_set = \"all\" takes every feature_ "
                        "column of train.parquet.")  # fmt: skip
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise DataError(f"{path} is not UTF-8 text (byte 0x{error.object[error.start]:02x} at "
                        f"position {error.start}); {_fix(data_dir)}") from None  # fmt: skip
    except json.JSONDecodeError as error:
        raise DataError(f"{path} is not valid JSON ({error}); {_fix(data_dir)}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("feature_sets"), dict):
        raise DataError(f"{path} has no 'feature_sets' object; {_fix(data_dir)}")
    return meta


def _fix(data_dir: Path) -> str:
    """What to do about a broken features.json: download it again, or, in a dataset of your
    own ('download' refuses its folder), fix it or do without it."""
    if own_dataset(data_dir):
        return ('fix it (Numerai\'s layout: {"feature_sets": {"all": ["feature_...", ...]}}), '
                'or delete it and set data.feature_set = "all" (every feature_ column of '
                "train.parquet).")  # fmt: skip
    return "download it again."


def feature_set(
    data_dir: Path, name: str, source: str = "config key data.feature_set"
) -> list[str]:
    """The features of set or group ``name`` (e.g. ``small``, ``medium``, ``all``, ``serenity``);
    without features.json, ``all`` is every ``feature_`` column of train.parquet. ``source``:
    where the name came from, for the error that refuses an unknown one."""
    train = data_dir / layout.TRAIN
    if name == "all" and not (data_dir / layout.FEATURES_JSON).exists() and train.exists():
        import pyarrow.parquet as pq

        features = [c for c in pq.read_schema(train).names if c.startswith("feature_")]
        if not features:
            raise DataError(f"{train} has no feature_ columns: without features.json, "
                            'data.feature_set = "all" takes the columns whose names start '
                            "with feature_. Rename your feature columns so (e.g. feature_1), "
                            "or add a features.json whose feature_sets list them.")  # fmt: skip
        return features
    if name == "all" and not (data_dir / layout.FEATURES_JSON).exists() and data_dir.is_dir():
        raise DataError(f"{data_dir} has neither features.json nor train.parquet: run "
                        "'numerpilot download', or point data.dir at your dataset's "
                        "folder.")  # fmt: skip
    sets = read_features_json(data_dir)["feature_sets"]
    assert isinstance(sets, dict)
    if name not in sets:
        raise DataError(
            f"feature set '{name}' is not in {data_dir / layout.FEATURES_JSON}; "
            f"choose one of: {', '.join(sorted(sets))} ({source})."
        )
    features = sets[name]
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise DataError(f"feature set '{name}' in {data_dir / layout.FEATURES_JSON} is not a "
                        "list of feature names; download it again.")  # fmt: skip
    if not features:
        raise DataError(f"feature set '{name}' in {data_dir / layout.FEATURES_JSON} is empty.")
    _refuse_repeats(features, f"feature set '{name}' in {data_dir / layout.FEATURES_JSON}")
    return features


def _refuse_repeats(features: list[str], what: str) -> None:
    """A feature named twice would be read (and trained on) twice: refuse it, named."""
    repeated = [f for f, n in Counter(features).items() if n > 1]  # in the order written
    if repeated:
        more = f" (and {len(repeated) - 1} more)" if len(repeated) > 1 else ""
        raise DataError(f"{what} names {repeated[0]} more than once{more}; name each feature "
                        "once (or download features.json again).")  # fmt: skip


def main_target_alias(data_dir: Path) -> str | None:
    """Which named target (``target_<name>_20``...) the data's main ``target`` column is in
    ``data_dir`` (Numerai's main target of that version; each round names the one it is
    scored on), judged on the first row group of validation (else train) where both are
    known; None when no other target equals it or the files do not tell."""
    import numpy as np
    import pyarrow.parquet as pq

    for name in (layout.VALIDATION, layout.TRAIN):
        try:
            file = pq.ParquetFile(data_dir / name)
            targets = [c for c in file.schema_arrow.names if c.startswith("target_")]
            if layout.MAIN_TARGET not in file.schema_arrow.names or not targets:
                continue
            table = file.read_row_group(0, columns=[layout.MAIN_TARGET, *targets])
        except (OSError, ValueError):
            continue
        main = table.column(layout.MAIN_TARGET).to_numpy(zero_copy_only=False).astype(float)
        for other in targets:
            values = table.column(other).to_numpy(zero_copy_only=False).astype(float)
            known = ~np.isnan(main) & ~np.isnan(values)
            if known.sum() >= 10 and np.array_equal(main[known], values[known]):
                return str(other)
        return None
    return None
