"""The payout per unit of stake a round's scores would earn, estimated with the round's
own settings (Numerai's ``roundScoreConfigs`` and payout factor), for ``status``."""

from __future__ import annotations

from collections.abc import Mapping

from numerpilot.api.rounds import RoundInfo
from numerpilot.config import ScoringConfig


def payout_estimate(
    info: RoundInfo,
    corr: float | None,
    mmc: float | None,
    scoring: ScoringConfig,
    named: Mapping[str, float] | None = None,
) -> float | None:
    """Payout per unit of stake with the round's own settings. Classic: clip(pf * (cm *
    CORR + mm * MMC), +-clip), the configured multipliers where the API gives none.
    Signals and Crypto (``named``: the model's scores by name): clip(pf * sum(m * score),
    +-clip) over the scores the round pays on (alpha and MPC, MMC), None unless Numerai
    names them all ([scoring]'s multipliers are Classic's)."""
    clips = [c.clip for c in info.scores if c.is_payout and c.clip is not None]
    clip = clips[0] if clips else scoring.payout_clip
    factor = 1.0 if info.payout_factor is None else info.payout_factor  # 0 pays nothing
    if named is not None:
        paid = _paid_by_name(info, named)
        return None if paid is None else max(-clip, min(clip, factor * paid))
    if corr is None or mmc is None:
        return None
    cm = info.multiplier("corr")
    mm = info.multiplier("mmc")
    raw = factor * (
        (cm if cm is not None else scoring.payout_corr_multiplier) * corr
        + (mm if mm is not None else scoring.payout_mmc_multiplier) * mmc
    )
    return max(-clip, min(clip, raw))


def _paid_by_name(info: RoundInfo, named: Mapping[str, float]) -> float | None:
    """sum(multiplier * score) over the scores ``info`` pays on, from the model's scores
    ``named``; None unless the round names its paid scores and ``named`` holds them all."""
    paid = [(c.name.lower(), c.multiplier) for c in info.scores if c.is_payout]
    if not paid or any(m is None or name not in named for name, m in paid):
        return None
    return sum(float(m or 0.0) * named[name] for name, m in paid)


def configured_note(info: RoundInfo) -> str | None:
    """Which of a Classic round's payout settings its estimate takes from numerpilot.toml,
    because Numerai's answer lacks them (a round that pays on another score, say)."""
    missing = [score for score in ("corr", "mmc") if info.multiplier(score) is None]
    if not missing:
        return None
    keys = ", ".join(f"payout_{score}_multiplier" for score in missing)
    return (
        f"Numerai gives no {' or '.join(m.upper() for m in missing)} multiplier for round "
        f"{info.number}: its payout estimate uses [scoring] {keys}"
    )
