"""A local stand-in of the Numerai API that the real numerapi client talks to over HTTP.

Use :class:`SandboxServer` in-process (tests, demos) or ``numerpilot sandbox serve``.
"""

from numerpilot.api.sandbox.faults import FaultPlan
from numerpilot.api.sandbox.server import SandboxServer
from numerpilot.api.sandbox.state import DEMO_PUBLIC_ID, DEMO_SECRET_KEY

__all__ = ["DEMO_PUBLIC_ID", "DEMO_SECRET_KEY", "FaultPlan", "SandboxServer"]
