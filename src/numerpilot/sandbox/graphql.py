"""Answers the GraphQL operations numerapi sends, dispatching on the root field.

This is not a GraphQL engine: numerapi sends one root field per operation, so the sandbox
reads the root field's name and arguments (variables or literals), resolves it, and returns
the whole object (numerapi reads only the fields it asked for). Errors come back the way
the real API sends them: HTTP 200 with ``{"errors": [{"message": ...}], "data": null}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from numerpilot.sandbox.data import SERVED_FILES
from numerpilot.sandbox.rounds import CLASSIC
from numerpilot.sandbox.schedule import ANCHOR_ROUND, RoundWindow, iso
from numerpilot.sandbox.state import SandboxError, SandboxState

_ROOT = re.compile(r"\{\s*(\w+)\s*(?:\(([^)]*)\))?")
_ARG = re.compile(r'(\w+)\s*:\s*(\$\w+|"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null)')
_COMMENT = re.compile(r"#[^\n]*")

DATA_VERSIONS = {
    "v5.2": "d3f5e2a0-5200-4000-8000-000000000052",
    "v5.3": "d3f5e2a0-5300-4000-8000-000000000053",
}
DOCKER_IMAGES = {
    "Python 3.11": "c0ffee00-3110-4000-8000-000000000311",
    "Python 3.12": "c0ffee00-3120-4000-8000-000000000312",
}


@dataclass(frozen=True)
class Request:
    """One GraphQL call: the root field, its resolved arguments, and request context."""

    field: str
    args: dict[str, Any]
    authorization: str | None
    base_url: str


def parse(query: str, variables: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """The root field name and its arguments, with ``$variables`` substituted."""
    match = _ROOT.search(_COMMENT.sub("", query))
    if not match:
        raise SandboxError("Syntax error: no root field in the query.", "GRAPHQL_PARSE_FAILED")
    args: dict[str, Any] = {}
    for name, raw in _ARG.findall(match.group(2) or ""):
        args[name] = (variables or {}).get(raw[1:]) if raw.startswith("$") else json.loads(raw)
    return match.group(1), args


def execute(state: SandboxState, request: Request) -> dict[str, Any]:
    """The JSON body answering ``request``."""
    state.resolve_due()
    resolver = RESOLVERS.get(request.field)
    try:
        if resolver is None:
            raise SandboxError(f'Cannot query field "{request.field}" on type "RootQueryType".')
        fn, needs_auth = resolver
        if needs_auth:
            state.authenticate(request.authorization)
        return {"data": {request.field: fn(state, request)}}
    except SandboxError as error:
        err = {"message": str(error), "path": [request.field], "extensions": {"code": error.code}}
        return {"errors": [err], "data": None}


def _round_json(state: SandboxState, window: RoundWindow, tournament: int) -> dict[str, Any]:
    resolved = window.number in state.resolved
    config = state.config(window.number, tournament)
    now = state.clock.now()
    status = "RESOLVED" if resolved else "OPEN" if window.is_open(now) else "RESOLVING"
    return {
        "id": f"round-{tournament}-{window.number}",
        "tournament": tournament,
        "number": window.number,
        "target": config.target if tournament == CLASSIC else "target",
        "openTime": iso(window.open_time),
        "closeStakingTime": iso(window.close_staking_time),
        "closeTime": iso(window.close_time),
        "scoreTime": iso(window.resolve_time),
        "resolveTime": iso(window.resolve_time),
        "resolvedGeneral": resolved,
        "resolvedStaking": resolved,
        "status": status,
        "payoutFactor": f"{config.payout_factor:.2f}",
        "stakeThreshold": "0",
        "dataDatestamp": int(window.open_time.strftime("%Y%m%d")),
        "roundScoreConfigs": config.score_configs(),
    }


def _rounds(state: SandboxState, req: Request) -> list[dict[str, Any]]:
    """``number: 0`` (or none with a limit of 1) is the current round; ``number: N`` that
    round; otherwise the most recent rounds, newest first (``limit``, default 10). The
    sandbox's first round is :data:`ANCHOR_ROUND`: none before it is listed or found."""
    tournament = _tournament(req)
    current = state.current()
    number = req.args.get("number")
    if number is not None and int(number) != 0:
        if int(number) < ANCHOR_ROUND:
            raise SandboxError(f"Round {number} is before the sandbox's first, "
                               f"{ANCHOR_ROUND}.", "NOT_FOUND")  # fmt: skip
        window = state.window(int(number))
        if window.open_time > state.clock.now():
            raise SandboxError(f"Round {window.number} has not opened yet.", "NOT_FOUND")
        return [_round_json(state, window, tournament)]
    limit = 1 if number is not None else int(req.args.get("limit") or 10)
    listed = max(min(limit, current.number - ANCHOR_ROUND + 1), 1)
    windows = [state.window(current.number - k) for k in range(listed)]
    rounds = [_round_json(state, w, tournament) for w in windows]
    wanted = req.args.get("status")
    return [r for r in rounds if wanted in (None, r["status"])]


def _tournament(req: Request) -> int:
    return int(req.args.get("tournament") or CLASSIC)


def _submissions(state: SandboxState, req: Request) -> list[dict[str, Any]]:
    """Every submission of a model (what clients reconcile an uncertain upload against)."""
    state.model(req.args.get("modelId"))
    return [
        {
            "id": sub.id,
            "filename": sub.filename,
            "insertedAt": iso(sub.received_at),
            "round": {"number": sub.round},
        }
        for sub in state.model_submissions(str(req.args.get("modelId")))
    ]


def _profile(state: SandboxState, req: Request) -> dict[str, Any]:
    name = req.args.get("model_name")
    for model in state.models:
        if model.name == name:
            return {"stakeValue": model.stake}
    raise SandboxError(f"Model {name} not found.", "NOT_FOUND")


def _payouts(state: SandboxState, req: Request) -> dict[str, list[dict[str, Any]]]:
    """Resolved rounds' payouts (actual) and submitted, unresolved rounds (pending, 0)."""
    tournament = _tournament(req)
    out: dict[str, list[dict[str, Any]]] = {"actual": [], "pending": []}
    for model in state.models:
        if model.tournament != tournament or model.stake is None:
            continue
        for sub in state.latest_submissions(model.id):
            resolved = sub.round in state.resolved and not sub.late
            value = 0.0
            if resolved and sub.scores:
                corr, mmc = sub.scores.get("v2_corr20", 0.0), sub.scores.get("mmc", 0.0)
                value = state.config(sub.round, tournament).payout(float(model.stake), corr, mmc)
            out["actual" if resolved else "pending"].append(
                {
                    "roundId": f"round-{tournament}-{sub.round}",
                    "roundNumber": sub.round,
                    "roundResolveTime": iso(state.window(sub.round).resolve_time),
                    "modelId": model.id,
                    "modelName": model.name,
                    "modelDisplayName": model.name,
                    "payoutNmr": f"{value:.6f}",
                    "payoutValue": f"{value:.6f}",
                    "currencySymbol": "NMR",
                }
            )
    return out


def _list_datasets(state: SandboxState, req: Request) -> list[str]:
    """Classic's versions; Signals' and Crypto's files under ``signals/...``/``crypto/...``."""
    tournament = _tournament(req)
    if tournament in state.tickers:
        return state.tickers[tournament].spec.listing()
    return [f"{version}/{name}" for version in state.data.versions for name in SERVED_FILES]


def _dataset(state: SandboxState, req: Request) -> str:
    filename = str(req.args.get("filename"))
    if filename not in _list_datasets(state, req):
        raise SandboxError(f"Dataset file {filename} not found.", "NOT_FOUND")
    current = state.current().number
    number = int(req.args.get("round") or current)
    if number > current:
        raise SandboxError(f"Round {number} has not opened yet.", "NOT_FOUND")
    return f"{req.base_url}files/{filename}?round={number}"


def _account(state: SandboxState, req: Request) -> dict[str, Any]:
    models = [
        {
            "id": m.id,
            "name": m.name,
            "tournament": m.tournament,
            "submissions": [
                {"id": s.id, "filename": s.filename} for s in state.latest_submissions(m.id)
            ],
            "v2Stake": {"status": None, "txHash": None},
        }
        for m in state.models
    ]
    return {
        "username": "sandbox_user",
        "walletAddress": None,
        "availableNmr": "0.00",
        "email": "sandbox@localhost",
        "id": "00000000-0000-4000-8000-000000000001",
        "mfaEnabled": False,
        "status": "VERIFIED",
        "insertedAt": "2024-01-01T00:00:00Z",
        "models": models,
        "apiTokens": [
            {
                "name": "sandbox",
                "public_id": state.public_id,
                "scopes": ["upload_submission", "read_submission_info"],
            }
        ],
    }


def _upload_auth(state: SandboxState, req: Request) -> dict[str, str]:
    state.model(req.args.get("modelId"))
    key = state.new_upload_key(str(req.args.get("filename") or "upload"))
    return {"filename": key, "url": f"{req.base_url}upload/{key}"}


def _download_auth(state: SandboxState, req: Request) -> dict[str, str]:
    """A link to one of the account's submission files (as they were uploaded)."""
    sub = state.submission(str(req.args.get("id")))
    return {"filename": sub.filename.rsplit("/", 1)[-1],
            "url": f"{req.base_url}submissions/{sub.id}"}  # fmt: skip


def _create_submission(state: SandboxState, req: Request) -> dict[str, str]:
    sub = state.create_submission(
        str(req.args.get("filename")), _tournament(req), req.args.get("modelId")
    )
    return {"id": sub.id}


def _create_signals(state: SandboxState, req: Request) -> dict[str, Any]:
    model = state.model(req.args.get("modelId"))
    if model.tournament == CLASSIC:
        raise SandboxError("This model is not a Signals or Crypto model.")
    sub = state.create_submission(str(req.args.get("filename")), model.tournament, model.id)
    return {"id": sub.id, "firstEffectiveDate": iso(state.window(sub.round).close_staking_time)}


def _create_pickle(state: SandboxState, req: Request) -> dict[str, str]:
    upload = state.create_pickle(
        str(req.args.get("filename")),
        req.args.get("modelId"),
        req.args.get("dataVersionId"),
        req.args.get("dockerImageId"),
    )
    return {"id": upload.id}


def _named(mapping: dict[str, str]) -> Callable[[SandboxState, Request], list[dict[str, str]]]:
    return lambda state, req: [{"name": k, "id": v} for k, v in mapping.items()]


def _submission_scores(state: SandboxState, req: Request) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    subs = state.latest_submissions(str(req.args.get("modelId")))
    if req.args.get("lastNRounds"):
        subs = subs[-int(req.args["lastNRounds"]) :]
    for sub in subs:
        window = state.window(sub.round)
        resolved = sub.round in state.resolved
        if req.args.get("resolved") is not None and req.args["resolved"] != resolved:
            continue
        for name, value in state.config(sub.round, sub.tournament).listed(sub.scores).items():
            if req.args.get("displayName") not in (None, name):
                continue
            out.append(
                {
                    "roundId": f"round-{sub.round}",
                    "submissionId": sub.id,
                    "roundNumber": sub.round,
                    "roundResolveTime": iso(window.resolve_time),
                    "roundScoreTime": iso(window.resolve_time),
                    "roundCloseStakingTime": iso(window.close_staking_time),
                    "value": value,
                    "percentile": None,
                    "displayName": name,
                    "version": "sandbox",
                    "date": iso(window.resolve_time),
                    "day": 20,
                    "resolveDate": iso(window.resolve_time),
                    "resolved": resolved,
                }
            )
    return out


def _performances(state: SandboxState, req: Request) -> list[dict[str, Any]]:
    out = []
    for sub in state.latest_submissions(str(req.args.get("modelId"))):
        window = state.window(sub.round)
        scores = [
            {
                "date": iso(window.resolve_time),
                "day": 20,
                "displayName": name,
                "payoutPending": "0",
                "payoutSettled": "0",
                "percentile": None,
                "value": value,
            }
            for name, value in state.config(sub.round, sub.tournament).listed(sub.scores).items()
        ]
        out.append(
            {
                "atRisk": "0",
                "payoutMultipliers": [],
                "roundPayoutFactor": None,
                "roundNumber": sub.round,
                "roundOpenTime": iso(window.open_time),
                "roundResolveTime": iso(window.resolve_time),
                "roundResolved": sub.round in state.resolved,
                "roundTarget": state.config(sub.round).target,
                "submissionScores": scores,
            }
        )
    return out


Resolver = Callable[[SandboxState, Request], Any]
#: root field -> (resolver, needs authentication)
RESOLVERS: dict[str, tuple[Resolver, bool]] = {
    "rounds": (_rounds, False),
    "listDatasets": (_list_datasets, False),
    "dataset": (_dataset, False),
    "account": (_account, True),
    "submission_upload_auth": (_upload_auth, True),
    "create_submission": (_create_submission, True),
    "submissionUploadSignalsAuth": (_upload_auth, True),
    "createSignalsSubmission": (_create_signals, True),
    "computePickleUploadAuth": (_upload_auth, True),
    "createComputePickleUpload": (_create_pickle, True),
    "computePickleDataVersions": (_named(DATA_VERSIONS), True),
    "computePickleDockerImages": (_named(DOCKER_IMAGES), True),
    "submissionScores": (_submission_scores, False),
    "submissions": (_submissions, True),
    "submissionDownloadAuth": (_download_auth, True),
    "v3UserProfile": (_profile, False),
    "pendingModelPayouts": (_payouts, True),
    "v2RoundModelPerformances": (_performances, False),
}

__all__ = ["RESOLVERS", "Request", "execute", "parse"]
