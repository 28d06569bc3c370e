"""Era-aware splits, LightGBM training per target, rank-gauss ensembling, model storage."""
