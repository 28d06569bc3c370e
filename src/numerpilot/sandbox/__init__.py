"""A local stand-in of the Numerai API that the real numerapi client talks to over HTTP.

Use :class:`SandboxServer` in-process (tests, demos) or ``numerpilot sandbox serve``.
"""

from numerpilot.sandbox.faults import FaultPlan
from numerpilot.sandbox.server import SandboxServer
from numerpilot.sandbox.state import DEMO_PUBLIC_ID, DEMO_SECRET_KEY

__all__ = ["DEMO_PUBLIC_ID", "DEMO_SECRET_KEY", "FaultPlan", "SandboxServer"]
