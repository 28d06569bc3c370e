"""Numerai's runtime, replicated: load a model pickle and call it like numerai-predict does.

This file is executed as a script by the replica environment's Python (see
:mod:`numerpilot.model_upload.check`); it must not import numerpilot, which it also blocks, so a
pickle that needs numerpilot fails here exactly as it would at Numerai. It mirrors
numerai-predict's ``predict.py``: ``pd.read_pickle``, arity by ``inspect.signature``, the
live frame grouped by era, and the same checks and log messages. The outcome is written as
JSON to ``--result`` for the parent process.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.abc
import json
import logging
import pickle
import resource
import sys
import time
import traceback
from inspect import signature
from typing import Any


class _Blocked(importlib.abc.MetaPathFinder):
    """Make ``import numerpilot`` fail as it does where numerpilot is not installed."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "numerpilot" or name.startswith("numerpilot."):
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)


def py_version(separator: str = ".") -> str:
    return separator.join(sys.version.split(".")[:2])


class StopRunError(Exception):
    """The runtime would stop here with ``exit_with_help(1)`` after logging ``message``."""

    def __init__(self, stage: str, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.stage, self.message, self.detail = stage, message, detail


def _load(model_pkl: str) -> Any:
    import pandas as pd

    try:
        return pd.read_pickle(model_pkl)
    except pickle.UnpicklingError as e:
        raise StopRunError("load", f"Invalid pickle - {e}", repr(e)) from None
    except TypeError as e:
        raise StopRunError("load", f"Pickle incompatible with {py_version()}", repr(e)) from None
    except ModuleNotFoundError as e:
        raise StopRunError("load", f"Import error reading pickle - {e}", repr(e)) from None
    except Exception as e:  # numerai-predict crashes here with this traceback
        raise StopRunError(
            "load", f"Error reading pickle - {type(e).__name__}: {e}", traceback.format_exc()
        ) from None


def _check(era_predictions: Any, era_features: Any) -> None:
    import pandas as pd

    if era_predictions is None:
        raise StopRunError("output", "Pickle function is invalid - returned None")
    if type(era_predictions) is not pd.DataFrame:
        raise StopRunError(
            "output",
            "Pickle function is invalid - returned "
            f"{type(era_predictions)} instead of pd.DataFrame",
        )
    if len(era_predictions) != len(era_features):
        raise StopRunError(
            "output",
            f"Pickle function returned {len(era_predictions)} predictions, "
            f"expected {len(era_features)}",
        )
    if era_predictions.isna().any().any():
        raise StopRunError("output", "Pickle function returned at least 1 NaN prediction")
    if not era_predictions.iloc[:, 0].between(0, 1).all().all():
        raise StopRunError(
            "output",
            "Pickle function returned invalid predictions. Ensure values are between 0 and 1.",
        )


#: Packages every runtime image holds: one the replica cannot import is the replica's fault
#: (a damaged environment), not the pickle's.
_IMAGE_PACKAGES = ("numpy", "pandas", "pyarrow", "scipy", "lightgbm", "cloudpickle")


def _import_image_packages() -> None:
    """Import what every image holds, before the pickle: a failure is the replica's."""
    for name in _IMAGE_PACKAGES:
        try:
            importlib.import_module(name)
        except Exception as e:  # ImportError, or a package cut short failing inside
            raise StopRunError(
                "replica", f"the replica cannot import {name} - {type(e).__name__}: {e}",
                traceback.format_exc(),
            ) from None  # fmt: skip


def run(args: argparse.Namespace) -> dict[str, Any]:
    _import_image_packages()
    import pandas as pd

    started = time.perf_counter()
    logging.info(f"Running numerai-predict replica Python{py_version()}")
    logging.info(f"Loading model {args.model}")
    model = _load(args.model)
    try:
        num_args = len(signature(model).parameters)
    except (TypeError, ValueError) as e:
        raise StopRunError("signature", f"{type(e).__name__}: {e}", repr(e)) from None
    live_features = pd.read_parquet(args.dataset)
    benchmark_models = None
    if num_args > 1 and args.benchmarks:
        benchmark_models = pd.read_parquet(args.benchmarks)
    num_eras = live_features["era"].nunique()
    logging.info(f"Predicting on {len(live_features)} rows of live features")
    predictions = []
    try:
        for _era, era_features in live_features.groupby("era"):
            if num_args == 1:
                era_predictions = model(era_features)
            elif num_args == 2:
                if benchmark_models is None:
                    raise StopRunError(
                        "input",
                        "the pickle takes 2 arguments (live features, live benchmark models) "
                        "and no live benchmark models file was given",
                    )
                era_predictions = model(era_features, benchmark_models.loc[era_features.index])
            else:
                raise StopRunError(
                    "signature",
                    f"Invalid pickle function - {args.model} must have 1 or 2 arguments",
                )
            _check(era_predictions, era_features)
            predictions.append(era_predictions)
        result = pd.concat(predictions)
    except StopRunError:
        raise
    except TypeError as e:
        raise StopRunError(
            "call", f"Pickle function is invalid - {e}", traceback.format_exc()
        ) from None
    except Exception as e:
        raise StopRunError("call", f"{type(e).__name__}: {e}", traceback.format_exc()) from None
    logging.info(f"Generated {len(result)} predictions")
    result.to_csv(args.output)
    return {
        "ok": True,
        "rows": len(result),
        "eras": int(num_eras),
        "arguments": num_args,
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    sys.meta_path.insert(0, _Blocked())
    parser = argparse.ArgumentParser()
    for flag in ("--model", "--dataset", "--output", "--result"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--benchmarks", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        outcome = run(args)
    except StopRunError as failure:
        logging.error(failure.message)
        outcome = {
            "ok": False,
            "stage": failure.stage,
            "error": failure.message,
            "detail": failure.detail,
        }
    except MemoryError:
        outcome = {"ok": False, "stage": "memory", "error": "MemoryError", "detail": ""}
    outcome["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome["python"] = py_version()
    with open(args.result, "w", encoding="utf-8") as fh:
        json.dump(outcome, fh)
    sys.exit(0 if outcome["ok"] else 1)


if __name__ == "__main__":
    main()
