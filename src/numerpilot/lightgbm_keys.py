"""The LightGBM parameters that ``[lightgbm] extra`` may not set: numerpilot sets them
itself (``numerpilot.modeling.lgbm.lgbm_params``, the members' seeds, ``model.device``), so
one in ``extra`` would override them. Kept apart from the config schema, which checks
``extra`` against it, so that neither has to import LightGBM."""

from __future__ import annotations

import difflib

#: LightGBM parameters numerpilot sets itself (lgbm_params, train_target, model.device),
#: each with its LightGBM aliases (LightGBM 4.x docs) and the setting to use instead. One
#: in ``[lightgbm] extra`` would override it: the same seed in every member, a tree count
#: or rate the manifest does not record, a metric early stopping does not read.
_SET_BY_NUMERPILOT: dict[str, tuple[tuple[str, ...], str]] = {
    "learning_rate": (("eta", "shrinkage_rate"), "set [lightgbm] learning_rate"),
    "num_iterations": (
        (
            "n_estimators",
            "num_iteration",
            "n_iter",
            "num_tree",
            "num_trees",
            "num_round",
            "num_rounds",
            "nrounds",
            "num_boost_round",
            "max_iter",
        ),
        "set [lightgbm] n_estimators",
    ),
    "num_leaves": (
        ("num_leaf", "max_leaves", "max_leaf", "max_leaf_nodes"),
        "set [lightgbm] num_leaves",
    ),
    "max_depth": ((), "set [lightgbm] max_depth"),
    "feature_fraction": (("colsample_bytree", "sub_feature"), "set [lightgbm] colsample_bytree"),
    "min_data_in_leaf": (
        ("min_data", "min_child_samples", "min_data_per_leaf", "min_samples_leaf"),
        "set [lightgbm] min_data_in_leaf",
    ),
    "seed": (("random_seed", "random_state"), "set [lightgbm] seed or [model] seeds"),
    "num_threads": (
        ("n_jobs", "nthread", "nthreads", "num_thread"),
        "set [lightgbm] num_threads",
    ),
    "objective": (
        ("objective_type", "app", "application", "loss"),
        "numerpilot trains regression on the targets; remove it",
    ),
    "metric": (
        ("metrics", "metric_types"),
        "numerpilot scores held-out eras by per-era CORR; remove it",
    ),
    "early_stopping_round": (
        ("early_stopping_rounds", "early_stopping", "n_iter_no_change"),
        "set [train] early_stopping_rounds",
    ),
    "device_type": (("device",), 'set [model] device = "gpu"'),
    "deterministic": ((), "numerpilot always sets it, so that runs repeat; remove it"),
    "verbosity": (
        ("verbose",),
        "numerpilot keeps LightGBM quiet (numerpilot -v logs more); remove it",
    ),
    "force_row_wise": ((), "numerpilot sets it; remove it"),
    "bin_construct_sample_cnt": (
        ("subsample_for_bin",),
        "numerpilot bins on a sample of 20,000 rows; remove it",
    ),
}
#: Seeds LightGBM derives from ``seed`` (one per member): fixed, every member would draw
#: the same bagging, feature sample or data split.
_DERIVED_SEEDS = ("bagging_seed", "bagging_fraction_seed", "feature_fraction_seed",
                  "data_random_seed", "data_seed", "drop_seed", "objective_seed",
                  "extra_seed")  # fmt: skip


#: What to set instead of a seed LightGBM derives.
_SEED_INSTEAD = "set [lightgbm] seed or [model] seeds instead"


def reserved_lightgbm_key(key: str) -> str | None:
    """Why ``key`` may not be in ``[lightgbm] extra`` (and what to set instead), or None."""
    name = key.strip()
    if name in _DERIVED_SEEDS:
        return (f"[lightgbm] extra sets '{key}', which LightGBM derives from seed (one per "
                f"member): {_SEED_INSTEAD}")  # fmt: skip
    reserved = _set_by_numerpilot(name)
    if reserved is None:
        return None
    canonical, instead = reserved
    what = f"'{key}'," if name == canonical else f"'{key}', an alias of {canonical},"
    return f"[lightgbm] extra sets {what} which numerpilot sets: {instead}"


def _set_by_numerpilot(name: str) -> tuple[str, str] | None:
    """LightGBM's own name of ``name`` and what to do instead, if numerpilot sets it."""
    for canonical, (aliases, instead) in _SET_BY_NUMERPILOT.items():
        if name == canonical or name in aliases:
            return canonical, instead + " instead" if instead.startswith("set ") else instead
    return None


def unknown_lightgbm_key(params: dict[str, object]) -> str | None:
    """Why the first key of ``params`` that LightGBM does not know (a typo) cannot stay,
    None when it knows them all: LightGBM only warns about such a key and trains without
    it, so the setting would be silently ignored."""
    import lightgbm

    known = _lightgbm_names()
    unknown = [key for key in params if known and key not in known]
    if not unknown:
        return None
    version = lightgbm.__version__
    return (
        f"LightGBM {version} has no parameter {unknown[0]!r}{_typo_hint(unknown[0], known)}, "
        "so it would be ignored. "
        "Fix or remove it; its parameters and their aliases: "
        f"https://lightgbm.readthedocs.io/en/v{version}/Parameters.html"
    )


def _typo_hint(key: str, known: frozenset[str]) -> str:
    """The parameter ``key`` may be a typo of; one numerpilot sets is never advised (it
    would be refused next): the setting to use is named instead."""
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
    if not close:
        return ""
    reserved = _set_by_numerpilot(close[0])
    instead = reserved[1] if reserved else _SEED_INSTEAD if close[0] in _DERIVED_SEEDS else None
    if instead is None:
        return f" (did you mean {close[0]!r}?)"
    return f" (if you meant {close[0]!r}: numerpilot sets that one; {instead})"


def _lightgbm_names() -> frozenset[str]:
    """Every parameter name and alias of the installed LightGBM (empty if it cannot say)."""
    import lightgbm

    try:
        aliases = lightgbm.basic._ConfigAliases._get_all_param_aliases()
    except Exception:  # a private API of LightGBM's: without it, nothing is refused
        return frozenset()
    return frozenset(aliases) | {alias for names in aliases.values() for alias in names}
