"""A signal the user's own job writes (``[submission] signal_file``): a Crypto work
directory is refused without one, and each round's file is waited for until half the
round's staking window has passed (the job can only run once the round's universe is out)."""

from __future__ import annotations

import logging
from datetime import datetime

from numerpilot.api.rounds import RoundInfo
from numerpilot.config import Config
from numerpilot.errors import ConfigError
from numerpilot.submission.round_checks import SignalFileNotReadyError
from numerpilot.workdir import Workdir

log = logging.getLogger(__name__)


def check_signal_source(workdir: Workdir, config: Config) -> None:
    """Refuse, before the daemon runs, a Crypto work directory without ``signal_file``: it
    could never submit (numerpilot trains no Crypto model), only fail every round."""
    if config.submission.tournament == "crypto" and not config.submission.signal_file:
        raise ConfigError(
            f'{workdir.config_path}: [submission] tournament = "crypto" needs '
            "[submission] signal_file: numerpilot trains no Crypto model (the data has no "
            "features), so the daemon submits the file your own job writes each round; "
            'add e.g. signal_file = "my_signal.csv" under [submission].'
        )


class SignalWait:
    """Whether a round's signal file, missing or an earlier round's, is still waited for."""

    def __init__(self) -> None:
        self._said: int | None = None  # the round last said waiting for

    def waiting(self, current: RoundInfo, error: SignalFileNotReadyError, now: datetime) -> bool:
        """True (said once per round) until half of ``current``'s staking window has passed
        at ``now`` (server time); after it the round fails, with an alert."""
        deadline = current.open_time + (current.close_staking_time - current.open_time) / 2
        if now >= deadline:
            return False
        if self._said != current.number:
            self._said = current.number
            log.info("round %d: waiting for this round's signal file until %s UTC (then the "
                     "round fails, with an alert): %s", current.number, f"{deadline:%a %H:%M:%S}",
                     error, extra={"round": current.number})  # fmt: skip
        return True
