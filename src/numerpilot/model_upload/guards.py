"""What model upload refuses or warns about before any pickle is checked or sent: a work
folder of another tournament than Classic, a model name the account lacks (or has in
another tournament), a pickle another numerpilot version built."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from numerpilot import __version__
from numerpilot.errors import UsageError

if TYPE_CHECKING:  # the command line imports this module at start: nothing heavy here
    from numerpilot.api.client import NumeraiClient
    from numerpilot.config import Config

log = logging.getLogger(__name__)


def classic_only(config: Config) -> None:
    """Refuse a work folder of Signals or Crypto: Numerai runs uploaded pickles for Classic
    models only (numerai-predict gives them Classic's live features)."""
    tournament = config.submission.tournament
    if tournament != "classic":
        raise UsageError(
            f"model upload is for Classic models: Numerai runs uploaded pickles on Classic's "
            f"live features only, and this work folder is for {tournament.capitalize()} "
            f'([submission] tournament = "{tournament}"). Submit its predictions with '
            "'numerpilot submit' (or the daemon) instead."
        )


def account_model_id(client: NumeraiClient, name: str) -> str:
    """The id of the account's Classic model ``name``; another tournament's is named so."""
    models = client.models()
    if name in models:
        return models[name]
    where = client.other_tournaments([name]).get(name)
    if where:
        raise UsageError(f"{name} is a {where.capitalize()} model: Numerai runs uploaded "
                         "pickles for Classic models only (yours: "
                         f"{', '.join(sorted(models))}).")  # fmt: skip
    raise UsageError(f"no model named {name!r} in your account (yours: "
                     f"{', '.join(sorted(models))}).")  # fmt: skip


def warn_older_build(pickle: Path) -> None:
    """Warn when ``pickle``'s sidecar says another numerpilot built it (or one before the
    sidecar named its version): its checks of the live data are that version's."""
    from numerpilot.model_upload.build import read_sidecar

    info = read_sidecar(pickle)
    if info is None or info.get("numerpilot") == __version__:
        return
    built = f"numerpilot {info['numerpilot']}" if "numerpilot" in info else "an earlier numerpilot"
    log.warning(
        "%s was built by %s (this is %s): it checks the live data as that version did; "
        "rebuild it with 'numerpilot build-upload' for this version's checks",
        pickle.name, built, __version__)  # fmt: skip
