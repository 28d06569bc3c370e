"""The commented ``numerpilot.toml`` that ``numerpilot init`` writes (all defaults)."""

CONFIG_TEMPLATE = """\
# numerpilot configuration. Every key is optional; the values shown are the defaults.
# Keys and values are checked when a command starts: a typo is reported, not ignored.

[data]
# Dataset version to use: "newest" asks Numerai for the latest one, or pin e.g. "v5.2".
version = "newest"
# Where dataset files are stored (one sub-folder per version). Relative to this file.
dir = "data"
# Feature set from features.json: "small", "medium", "all", or a group such as "serenity".
feature_set = "medium"
# Train on every Nth era. Targets span ~4 weekly eras, so neighbouring eras overlap.
era_step = 4

[train]
# One LightGBM model per target; the ensemble averages their per-era rank-gauss scores.
targets = ["target", "target_teager2b_20", "target_ender_20", "target_jasper_20"]
# Ensemble weights, one per target (default: equal weights).
# weights = [1.0, 1.0, 1.0, 1.0]
# The last eras of train are held out for early stopping ...
holdout_eras = 52
# ... behind this many embargo eras, so overlapping targets do not leak.
embargo_eras = 8
# Stop adding trees when the holdout score has not improved for this many rounds (0: off).
early_stopping_rounds = 200

[lightgbm]
# Numerai's "standard large" parameters. Any other LightGBM parameter goes in `extra`.
n_estimators = 2000
learning_rate = 0.01
max_depth = 5
num_leaves = 31
colsample_bytree = 0.1
min_data_in_leaf = 20
seed = 0
# Threads for LightGBM (0: all cores).
num_threads = 0
extra = {}

[ensemble]
# Share of the ensemble's linear feature exposure removed per era (0: none, 1: all).
neutralization_proportion = 0.0
# Neutralize against "all" features, a feature set or a feature group from features.json.
neutralize_against = "all"

[submission]
# "classic", "signals" or "crypto".
tournament = "classic"
# Your Numerai model names that receive the live predictions.
models = []

[scoring]
# Payout estimate per round: stake * clip(corr_mult * CORR + mmc_mult * MMC, -clip, +clip).
payout_corr_multiplier = 0.75
payout_mmc_multiplier = 2.25
payout_clip = 0.05
# Benchmark model column for BMC (from validation_benchmark_models.parquet), e.g.
# benchmark_column = "v52_lgbm_teager2b20"

[api]
# The Numerai API. The environment variable NUMERPILOT_API_URL overrides it (e.g. the sandbox).
base_url = "https://api-tournament.numer.ai"
# Seconds before a request is abandoned, and how often failed requests are retried
# (connection errors, timeouts and 5xx answers), waiting backoff * 2^attempt seconds.
timeout = 30.0
retries = 3
backoff = 1.0

[demo]
# Synthetic data and small-model settings for `numerpilot run --demo` (no keys, no network).
dir = "data/demo"
train_eras = 200
validation_eras = 80
rows_per_era = 400
n_features = 120
live_rows = 300
seed = 42
era_step = 1
holdout_eras = 40
embargo_eras = 4
n_estimators = 300
learning_rate = 0.05
colsample_bytree = 0.3
early_stopping_rounds = 100
"""
