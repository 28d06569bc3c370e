"""The per-era kernel: era index, tie-kept ranks, gaussianization, neutralization, and the
ensemble's prediction.

``numerpilot predict``, the model-upload pickle and the scoring engine all call these
functions and nothing else implements them. The package imports only numpy, scipy and
threadpoolctl (LightGBM when models are built) and nothing else of numerpilot, so that
cloudpickle can carry it by value into Numerai's runtime: keep it that way.
"""
