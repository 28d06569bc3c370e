"""Which device a backend trains on, and a clear refusal when this install cannot use a GPU.

``[model] device = "gpu"`` means LightGBM's CUDA (or OpenCL) build, or XGBoost with
``device="cuda"``. The PyPI wheel of LightGBM is CPU-only and so is ``xgboost-cpu``: the
check below says so before any data is loaded, and how to get a GPU build.
"""

from __future__ import annotations

import functools
from typing import Any

from numerpilot.errors import ConfigError

LIGHTGBM_GPU_HELP = (
    "install LightGBM's CUDA build (pip install lightgbm --no-binary lightgbm "
    "--config-settings=cmake.define.USE_CUDA=ON, with the CUDA toolkit) or use "
    'backend = "xgboost" (pip install xgboost on a machine with an NVIDIA GPU), or set '
    'device = "cpu".'
)
XGBOOST_GPU_HELP = (
    "install the full xgboost wheel (pip install xgboost, not xgboost-cpu) on a machine "
    'with an NVIDIA GPU and its driver, or set device = "cpu".'
)


@functools.cache
def lightgbm_gpu_params() -> dict[str, Any]:
    """LightGBM parameters of a GPU this LightGBM can train on (CUDA first, then OpenCL).

    Raises ConfigError, with how to get a GPU build, when neither works here.
    """
    import lightgbm as lgb

    from numerpilot.modeling.lgbm import fit_one_tree

    causes = []
    for device in ("cuda", "gpu"):
        try:
            fit_one_tree({"device_type": device})
        except lgb.basic.LightGBMError as error:
            causes.append(" ".join(str(error).split()))
            continue
        return {"device_type": device}
    raise ConfigError(
        f'model.device = "gpu", but this LightGBM has no GPU support ({causes[0]}): '
        + LIGHTGBM_GPU_HELP
    )


def xgboost_device(device: str) -> str:
    """XGBoost's ``device`` for ``[model] device``; ConfigError when "gpu" cannot work here."""
    if device != "gpu":
        return "cpu"
    import xgboost

    if not xgboost.build_info().get("USE_CUDA"):
        raise ConfigError(
            'model.device = "gpu", but this XGBoost is a CPU-only build: ' + XGBOOST_GPU_HELP
        )
    return "cuda"
