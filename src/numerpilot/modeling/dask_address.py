"""Which Dask cluster ``--cluster`` names: ``local`` (a LocalCluster for the run) or a
scheduler's address, checked before any data is read: a typo is told with what was likely
meant, a host that does not resolve at once, and a port where no Dask scheduler answers
within seconds, by what answers there instead."""

from __future__ import annotations

import asyncio
import concurrent.futures
import difflib
import re
import socket
from typing import Any
from urllib.parse import urlsplit

from numerpilot.errors import ConfigError, LocalError, UsageError

LOCAL = "local"
#: Seconds to wait for a connection to a remote scheduler before giving up.
CONNECT_TIMEOUT = 5.0
#: Seconds to wait for its answer, the connection included: a second more, so that a port
#: that takes no connection is told by the connection's own bound, always.
ANSWER_TIMEOUT = CONNECT_TIMEOUT + 1.0


def check_address(address: str) -> str:
    """``local`` or ``tcp://host:port`` (also tls://, ws://); UsageError otherwise."""
    if address == LOCAL:
        return address
    parts = urlsplit(address)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("tcp", "tls", "ws", "wss") or not parts.hostname or port is None:
        raise UsageError(
            f"--cluster {address!r}: give 'local' (a cluster on this machine) or a Dask "
            f"scheduler address such as tcp://host:8786.{_did_you_mean(address)}"
        )
    return address


def _did_you_mean(address: str) -> str:
    """`` Did you mean 'X'?`` for an address that is nearly ``local``, a host:port without
    its ``tcp://`` (or with ``http://``), or a tcp:// host without its port; else nothing."""
    text = address.strip()
    if difflib.get_close_matches(text.lower(), [LOCAL], n=1, cutoff=0.75):
        return f" Did you mean '{LOCAL}'?"
    bare = re.sub(r"^(https?|tcp)://", "", text).rstrip("/")
    if re.fullmatch(r"[\w.-]+", bare) and text.startswith("tcp://"):
        return f" Did you mean 'tcp://{bare}:8786' (the scheduler's default port)?"
    found = re.fullmatch(r"[\w.-]+:(\d{1,5})", bare)
    if found and 0 < int(found[1]) < 65536:
        return f" Did you mean 'tcp://{bare}'?"
    return ""


def check_scheduler(address: str) -> None:
    """Ask ``address`` (not ``local``) who it is, within :data:`ANSWER_TIMEOUT` seconds: a
    LocalError (exit 1) naming it and the cause unless a Dask scheduler answers.

    Dask's own connect bounds the TCP connection but not the answer: something else that
    accepts and stays silent (the dashboard's HTTP port, too) would be waited on forever,
    and an HTTP reply is read as a frame length (a MemoryError)."""
    distributed = import_dask()

    _check_host(address)

    async def identity() -> Any:
        args = distributed.Security().get_connection_args("client")
        comm = await distributed.comm.connect(address, timeout=CONNECT_TIMEOUT, **args)
        try:
            return await distributed.core.send_recv(comm, op="identity")
        finally:
            comm.abort()

    pool = concurrent.futures.ThreadPoolExecutor(1)  # a loop of its own, whatever runs here
    try:
        reply = pool.submit(asyncio.run, asyncio.wait_for(identity(), ANSWER_TIMEOUT)).result()
    except TimeoutError:  # connected (else Dask's connect had given up), but no answer
        cause = (f"it took the connection but no Dask scheduler answered within "
                 f"{ANSWER_TIMEOUT:g} s; is it the scheduler's port (8786), not the "
                 "dashboard's (8787)?")  # fmt: skip
        raise unreachable(address, cause) from None
    except OSError as error:  # refused, no route, the connection closed unanswered, ...
        raise unreachable(address, cause_of(error)) from None
    except MemoryError:  # a reply whose first bytes make a huge frame length
        cause = "it answered in another protocol: a web server?"
        raise _not_a_scheduler(address, cause) from None
    except Exception as error:  # a reply Dask cannot decode
        raise _not_a_scheduler(address, f"its reply is not Dask's: {cause_of(error)}") from None
    finally:
        pool.shutdown(wait=False)
    kind = reply.get("type") if isinstance(reply, dict) else None
    if kind != "Scheduler":
        raise _not_a_scheduler(address, f"it is a Dask {kind or 'server of another kind'}")


def _check_host(address: str) -> None:
    """A LocalError when the host name of ``address`` does not resolve (within
    :data:`CONNECT_TIMEOUT` seconds; a slower lookup is left to Dask's connect): Dask retries
    such a name until its timeout, then says 'Timed out trying to connect'."""
    parts = urlsplit(address)
    pool = concurrent.futures.ThreadPoolExecutor(1)  # getaddrinfo has no timeout of its own
    try:
        pool.submit(socket.getaddrinfo, parts.hostname, parts.port).result(CONNECT_TIMEOUT)
    except socket.gaierror as error:
        cause = f"the host name {parts.hostname} does not resolve: {error.strerror or error}"
        raise unreachable(address, cause) from None
    except (OSError, TimeoutError):
        pass
    finally:
        pool.shutdown(wait=False)


def cause_of(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def unreachable(address: str, cause: str) -> LocalError:
    return LocalError(
        f"cannot reach the Dask scheduler at {address} ({cause}). Start it there "
        "('dask scheduler', then 'dask worker ADDRESS' on each machine) or use "
        "--cluster local."
    )


def _not_a_scheduler(address: str, cause: str) -> LocalError:
    return LocalError(
        f"{address} is not a Dask scheduler ({cause}). Give the scheduler's address (e.g. "
        "tcp://host:8786, which 'dask scheduler' prints) or use --cluster local."
    )


def import_dask() -> Any:
    """Dask's ``distributed``, or a ConfigError saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise ConfigError(
            "--cluster needs Dask: pip install 'dask[distributed]' (or drop --cluster)."
        ) from None
    return distributed
