"""Fake HTTP endpoints on loopback, all on one base (``LoopbackAPI``): real HTTP, no model.

``server`` holds the base; ``scripted``, ``flaky`` and ``batch`` the course's fakes; ``window``
how a fake counts toward a rate limit. Lessons and tests use them; the lessons' helpers in
``utils`` do not (an import-linter contract).
"""

from utils.loopback.server import (
    Exchange,
    HangUp,
    JSONResponse,
    LoopbackAPI,
    Request,
    hung_up,
    sse,
)

__all__ = ["Exchange", "HangUp", "JSONResponse", "LoopbackAPI", "Request", "hung_up", "sse"]
