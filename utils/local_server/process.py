"""An engine's process, from launch to stop: the one place the course inspects processes.

The learner's server (``utils.local_server``) and the room (``utils.room.server``) both run
``python -m utils.local_server.serve`` in a session of its own. These functions launch it,
recognise it by its pid (a pid can be reused by another program: never signal one unchecked),
signal its process group, stop it, read its log's last lines and serialise starts. Process
details come from psutil and the lock from filelock, so they work on Linux, macOS and Windows.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import filelock
import psutil

SERVE_MODULE = "utils.local_server.serve"
POLL = 0.2  # s between checks while an engine starts

children: dict[int, subprocess.Popen] = {}  # engines this Python process launched, to reap them


def command_line(pid: int) -> list[str] | None:
    """The command line of process ``pid``; None if it is gone or cannot be read."""
    try:
        process = psutil.Process(pid)
        command = process.cmdline()
        for _ in range(50):  # empty for a moment while a just-started process finishes exec
            if command or is_zombie(pid):
                break
            time.sleep(0.01)
            command = process.cmdline()
        return command
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def is_zombie(pid: int) -> bool:
    """True if ``pid`` has exited and waits for its parent to reap it."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def runs(pid: int, text: str) -> bool:
    """True if ``pid`` is alive (not a zombie) and ``text`` is part of its command line."""
    command = command_line(pid)
    return bool(command) and not is_zombie(pid) and text in " ".join(command)


def is_engine(pid: int, port: int) -> bool:
    """True only if ``pid`` runs our engine (``SERVE_MODULE``) on ``port``."""
    child = children.get(pid)
    if child is not None and child.poll() is not None:  # ours, and it has exited (now reaped)
        return False
    command = command_line(pid)
    if command is None and child is not None:  # its command line cannot be read here
        command = list(child.args)
    if not command or is_zombie(pid):
        return False
    ports = [value for flag, value in zip(command, command[1:], strict=False) if flag == "--port"]
    return SERVE_MODULE in command and ports == [str(port)]


def launch(command: list[str], log_path: Path, append: bool = False) -> subprocess.Popen:
    """Start ``command`` in a session of its own, its output (and errors) into ``log_path``."""
    with open(log_path, "a" if append else "w") as log:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,  # never our own pipes: a reader waiting on them would hang
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the kernel that started it; Ctrl-C won't kill it
        )
    children[child.pid] = child
    return child


def wait_until(child: subprocess.Popen, ready: Callable[[], bool], timeout: float,
               stop: Callable[[], None]) -> int | None:  # fmt: skip
    """Wait until ``ready()``; None then, or ``child``'s exit code if it exits first.

    If neither happens within ``timeout`` seconds, or the wait is interrupted (Ctrl-C),
    ``stop()`` is called (no orphan engine is left) and TimeoutError, or the interruption, raised.
    """
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if child.poll() is not None:
                children.pop(child.pid, None)
                return child.returncode
            if ready():
                return None
            time.sleep(POLL)
    except BaseException:
        stop()
        raise
    stop()
    raise TimeoutError(f"no answer within {timeout:.0f} s")


def signal_group(pid: int, number: int) -> None:
    """Send signal ``number`` to the process group ``pid`` leads (to ``pid`` alone on Windows)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if hasattr(os, "killpg"):
            os.killpg(pid, number)
        else:  # Windows
            os.kill(pid, number)


KILL = getattr(signal, "SIGKILL", signal.SIGTERM)


def terminate(pid: int, alive: Callable[[], bool], grace: float = 10.0) -> None:
    """SIGTERM ``pid``'s group, SIGKILL after ``grace`` s; each only while ``alive()``. Reaps ours."""
    if alive():
        signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and alive():
        time.sleep(0.1)
    if alive():
        signal_group(pid, KILL)
    child = children.pop(pid, None)
    if child is not None:
        child.wait(timeout=max(grace, 30.0))


def log_tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of the log at ``path``."""
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return "(no log written)"
    return "\n".join(text[-lines:]) or "(log is empty)"


def start_lock(path: Path) -> filelock.FileLock:
    """An exclusive lock across processes on ``path`` (``with start_lock(path): ...``)."""
    return filelock.FileLock(path)


def live_pids(uid: int) -> list[int]:
    """Pids of the live processes (zombies excluded) whose real user id is ``uid``."""
    pids = []
    for process in psutil.process_iter(["uids", "status"]):
        uids, status = process.info["uids"], process.info["status"]
        if uids is not None and uids.real == uid and status != psutil.STATUS_ZOMBIE:
            pids.append(process.pid)
    return pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid``, in MiB."""
    return psutil.Process(pid).memory_info().rss / 2**20
