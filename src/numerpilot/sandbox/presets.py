"""Ready-made sandbox settings: clock starts inside a round, and a small fast dataset."""

from __future__ import annotations

from datetime import UTC, datetime

from numerpilot.data.synthetic import SyntheticSpec

#: A Tuesday, five minutes after the round opened (staking closes at 13:00).
OPEN_TUESDAY = datetime(2025, 1, 7, 12, 5, tzinfo=UTC)
#: A Saturday afternoon: the weekend round takes staked submissions until Sunday 14:00.
OPEN_SATURDAY = datetime(2025, 1, 11, 14, 0, tzinfo=UTC)
#: A small dataset: generated in well under a second.
SMALL_SPEC = SyntheticSpec(
    train_eras=40, validation_eras=16, rows_per_era=100, n_features=48, live_rows=60, seed=7
)
