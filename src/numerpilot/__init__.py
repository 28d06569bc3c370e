"""numerpilot: an autopilot for the Numerai tournaments."""

__version__ = "0.1.0"
