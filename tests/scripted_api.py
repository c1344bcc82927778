"""The scripted loopback server lives in ``utils.scripted_api`` now: lessons use it too.

Tests keep importing it from here or from ``utils.scripted_api``; it is the same class.
"""

from utils.scripted_api import ScriptedAPI, completion, scripted_servers

__all__ = ["ScriptedAPI", "completion", "scripted_servers"]
